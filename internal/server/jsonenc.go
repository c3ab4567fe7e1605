package server

// JSON on the server's hot paths (pull lines) goes through goccy/go-json,
// which writes what encoding/json writes at a fraction of the cost; what a
// push stores is written by hand (applyjson.go).

import (
	"encoding/json"

	gojson "github.com/goccy/go-json"
)

// mustJSON marshals types which always marshal (strings,
// ints, bools, maps and slices of them); were go-json ever to refuse one,
// encoding/json writes it.
func mustJSON(v any) []byte {
	b, err := gojson.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(v)
	}
	return b
}

// appendEntryLine appends one pull line.
func appendEntryLine(dst []byte, e *feedEntry) ([]byte, bool) {
	b, err := gojson.Marshal(feedLine{Entry: e})
	if err != nil {
		return dst, false
	}
	dst = append(dst, b...)
	return append(dst, '\n'), true
}
