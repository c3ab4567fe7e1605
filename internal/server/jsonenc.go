package server

// JSON on the server's hot paths (the stored state of records and
// changes, and pull lines) goes through goccy/go-json, which writes what
// encoding/json writes at a fraction of the cost.

import (
	"encoding/json"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
	gojson "github.com/goccy/go-json"
)

// mustJSON marshals the types below, which always marshal (strings,
// ints, bools, maps and slices of them); were go-json ever to refuse one,
// encoding/json writes it.
func mustJSON(v any) []byte {
	b, err := gojson.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(v)
	}
	return b
}

// appendRecord appends the stored JSON of a record's state.
func appendRecord(dst []byte, r *merge.Record) []byte { return append(dst, mustJSON(r)...) }

// encodeState is the stored JSON of a change's field states.
func encodeState(st map[string]merge.FieldState) string {
	out := make(map[string]syncproto.FieldState, len(st))
	for k, v := range st {
		out[k] = syncproto.FieldState{Src: v.Src, Version: v.Version}
	}
	return string(mustJSON(out))
}

// encodeFields is the stored JSON of a change's field names.
func encodeFields(fields []string) string {
	if fields == nil {
		return "[]"
	}
	return string(mustJSON(fields))
}

// encodePlain is the stored JSON of a change's plain values.
func encodePlain(plain map[string]syncproto.FieldChange) string { return string(mustJSON(plain)) }

// appendEntryLine appends one pull line.
func appendEntryLine(dst []byte, e *feedEntry) ([]byte, bool) {
	b, err := gojson.Marshal(feedLine{Entry: e})
	if err != nil {
		return dst, false
	}
	dst = append(dst, b...)
	return append(dst, '\n'), true
}
