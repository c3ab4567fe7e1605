package server

// This file writes the JSON a push stores (a record's state, a change's
// field names, plain values and field states) by hand, byte for byte as
// encoding/json writes it (TestJSONEncodersMatch): go-json's reflection
// and map sorting were a tenth of a push's apply.

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// appendRecord appends the stored JSON of a record's state.
func appendRecord(dst []byte, r *merge.Record) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, r.Type)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, r.Version, 10)
	if r.Deleted {
		dst = append(dst, `,"deleted":true`...)
	}
	if r.Delete != nil {
		dst = append(dst, `,"delete":`...)
		dst = appendField(dst, r.Delete)
	}
	dst = append(dst, `,"fields":`...)
	if r.Fields == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '{')
		for i, name := range sortedKeys(r.Fields) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, name)
			dst = append(dst, ':')
			f := r.Fields[name]
			dst = appendField(dst, &f)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func appendField(dst []byte, f *merge.Field) []byte {
	dst = append(dst, `{"change":`...)
	dst = appendJSONString(dst, f.Change)
	dst = append(dst, `,"device":`...)
	dst = appendJSONString(dst, f.Device)
	dst = append(dst, `,"clerk":`...)
	dst = appendJSONString(dst, f.Clerk)
	dst = append(dst, `,"hlc":`...)
	dst = appendJSONString(dst, f.HLC)
	dst = append(dst, `,"v":`...)
	dst = strconv.AppendInt(dst, f.Version, 10)
	if f.Value != "" {
		dst = append(dst, `,"val":`...)
		dst = appendJSONString(dst, f.Value)
	}
	if f.Personal {
		dst = append(dst, `,"p":true`...)
	}
	return append(dst, '}')
}

// encodeState is the stored JSON of a change's field states.
func encodeState(st map[string]merge.FieldState) string {
	dst := make([]byte, 0, 64*len(st)+2)
	dst = append(dst, '{')
	for i, name := range sortedKeys(st) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, `:{"src":`...)
		dst = appendJSONString(dst, st[name].Src)
		dst = append(dst, `,"v":`...)
		dst = strconv.AppendInt(dst, st[name].Version, 10)
		dst = append(dst, '}')
	}
	return string(append(dst, '}'))
}

// encodeFields is the stored JSON of a change's field names.
func encodeFields(fields []string) string {
	dst := make([]byte, 0, 24*len(fields)+2)
	dst = append(dst, '[')
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f)
	}
	return string(append(dst, ']'))
}

// encodePlain is the stored JSON of a change's plain values.
func encodePlain(plain map[string]syncproto.FieldChange) string {
	if plain == nil {
		return "null"
	}
	dst := make([]byte, 0, 48*len(plain)+2)
	dst = append(dst, '{')
	for i, name := range sortedKeys(plain) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		dst = appendFieldChange(dst, plain[name])
	}
	return string(append(dst, '}'))
}

// appendFieldChange writes syncproto.FieldChange as its JSON tags say.
func appendFieldChange(dst []byte, fc syncproto.FieldChange) []byte {
	dst = append(dst, `{"old":`...)
	dst = appendJSONString(dst, fc.Old)
	dst = append(dst, `,"new":`...)
	dst = appendJSONString(dst, fc.New)
	return append(dst, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonPlain says which ASCII bytes encoding/json writes as they are.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendJSONString appends s quoted as encoding/json quotes it: <, > and
// & escaped for HTML, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonPlain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
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
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
