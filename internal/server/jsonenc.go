package server

// This file holds hand-written JSON encoders for the hot paths: the
// record state and the change's fields, plain values and state written by
// a push, and the entry lines of a pull. Each writes exactly the bytes
// encoding/json would (json.Marshal with its HTML escaping for what is
// stored; an Encoder with SetEscapeHTML(false) for the pull), without
// reflection; jsonenc_test.go checks this against encoding/json.

import (
	"encoding/base64"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

const jsonHex = "0123456789abcdef"

// appendJSONString appends s as encoding/json encodes a string; with
// escapeHTML, also <, > and & are escaped (as json.Marshal does).
func appendJSONString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && (!escapeHTML || (b != '<' && b != '>' && b != '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', jsonHex[b>>4], jsonHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', jsonHex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// sortedKeys returns the keys of m in the order encoding/json writes them.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendSide appends the members of an embedded merge.Side.
func appendSide(dst []byte, s *merge.Side) []byte {
	dst = append(dst, `"change":`...)
	dst = appendJSONString(dst, s.Change, true)
	dst = append(dst, `,"device":`...)
	dst = appendJSONString(dst, s.Device, true)
	dst = append(dst, `,"clerk":`...)
	dst = appendJSONString(dst, s.Clerk, true)
	dst = append(dst, `,"hlc":`...)
	return appendJSONString(dst, s.HLC, true)
}

func appendMergeField(dst []byte, f *merge.Field) []byte {
	dst = append(dst, '{')
	dst = appendSide(dst, &f.Side)
	dst = append(dst, `,"v":`...)
	dst = strconv.AppendInt(dst, f.Version, 10)
	if f.Value != "" {
		dst = append(dst, `,"val":`...)
		dst = appendJSONString(dst, f.Value, true)
	}
	if f.Personal {
		dst = append(dst, `,"p":true`...)
	}
	return append(dst, '}')
}

// appendRecord appends json.Marshal(r).
func appendRecord(dst []byte, r *merge.Record) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, r.ID, true)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, r.Type, true)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, r.Version, 10)
	if r.Deleted {
		dst = append(dst, `,"deleted":true`...)
	}
	if r.Delete != nil {
		dst = append(dst, `,"delete":`...)
		dst = appendMergeField(dst, r.Delete)
	}
	dst = append(dst, `,"fields":`...)
	if r.Fields == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '{')
		for i, k := range sortedKeys(r.Fields) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k, true)
			dst = append(dst, ':')
			f := r.Fields[k]
			dst = appendMergeField(dst, &f)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// encodeState is json.Marshal of the state merge returned, as a map of
// syncproto.FieldState ("{}" if nil).
func encodeState(st map[string]merge.FieldState) string {
	if st == nil {
		return "{}"
	}
	dst := make([]byte, 0, 16+len(st)*80)
	dst = append(dst, '{')
	for i, k := range sortedKeys(st) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k, true)
		v := st[k]
		dst = append(dst, `:{"src":`...)
		dst = appendJSONString(dst, v.Src, true)
		dst = append(dst, `,"v":`...)
		dst = strconv.AppendInt(dst, v.Version, 10)
		dst = append(dst, '}')
	}
	return string(append(dst, '}'))
}

// encodeFields is json.Marshal(fields), "[]" if nil.
func encodeFields(fields []string) string {
	if fields == nil {
		return "[]"
	}
	n := 2
	for _, f := range fields {
		n += len(f) + 3
	}
	dst := make([]byte, 0, n)
	dst = append(dst, '[')
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f, true)
	}
	return string(append(dst, ']'))
}

// encodePlain is json.Marshal(plain) for a non-empty map.
func encodePlain(plain map[string]syncproto.FieldChange) string {
	dst := make([]byte, 0, 16+len(plain)*48)
	dst = append(dst, '{')
	for i, k := range sortedKeys(plain) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k, true)
		v := plain[k]
		dst = append(dst, `:{"old":`...)
		dst = appendJSONString(dst, v.Old, true)
		dst = append(dst, `,"new":`...)
		dst = appendJSONString(dst, v.New, true)
		dst = append(dst, '}')
	}
	return string(append(dst, '}'))
}

func appendBase64(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// compactRaw reports whether a stored JSON value can be copied as it is
// into a line: the server wrote it with json.Marshal (compact, and
// escaped beyond what the pull's encoder would escape). Anything else
// goes through encoding/json.
func compactRaw(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch b[0] {
	case '{':
		return b[len(b)-1] == '}'
	case '[':
		return b[len(b)-1] == ']'
	}
	return false
}

// appendEntryLine appends the line an Encoder with SetEscapeHTML(false)
// writes for feedLine{Entry: e}; ok is false if e holds raw JSON that is
// not as the server stores it (the caller then uses the Encoder).
func appendEntryLine(dst []byte, e *feedEntry) ([]byte, bool) {
	if !compactRaw(e.Fields) || !compactRaw(e.State) || (len(e.Plain) > 0 && !compactRaw(e.Plain)) {
		return dst, false
	}
	dst = append(dst, `{"entry":{"seq":`...)
	dst = strconv.AppendInt(dst, e.Seq, 10)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, e.Version, 10)
	dst = append(dst, `,"id":`...)
	dst = appendJSONString(dst, e.ID, false)
	dst = append(dst, `,"record_id":`...)
	dst = appendJSONString(dst, e.RecordID, false)
	dst = append(dst, `,"record_type":`...)
	dst = appendJSONString(dst, e.RecordType, false)
	dst = append(dst, `,"op":`...)
	dst = appendJSONString(dst, e.Op, false)
	dst = append(dst, `,"fields":`...)
	dst = append(dst, e.Fields...)
	if len(e.Plain) > 0 {
		dst = append(dst, `,"plain":`...)
		dst = append(dst, e.Plain...)
	}
	if len(e.Secret) > 0 {
		dst = append(dst, `,"secret":`...)
		dst = appendBase64(dst, e.Secret)
	}
	dst = append(dst, `,"base_version":`...)
	dst = strconv.AppendInt(dst, e.BaseVersion, 10)
	dst = append(dst, `,"hlc":`...)
	dst = appendJSONString(dst, e.HLC, false)
	dst = append(dst, `,"device":`...)
	dst = appendJSONString(dst, e.Device, false)
	dst = append(dst, `,"clerk":`...)
	dst = appendJSONString(dst, e.Clerk, false)
	dst = append(dst, `,"created_at":`...)
	dst = appendJSONString(dst, e.CreatedAt, false)
	dst = append(dst, `,"state":`...)
	dst = append(dst, e.State...)
	if e.Deleted {
		dst = append(dst, `,"deleted":true`...)
	} else {
		dst = append(dst, `,"deleted":false`...)
	}
	if len(e.Key) > 0 {
		dst = append(dst, `,"key":`...)
		dst = appendBase64(dst, e.Key)
	}
	return append(dst, "}}\n"...), true
}
