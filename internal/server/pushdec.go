package server

// This file decodes a push body without reflection, for the common shape
// of a push: exact member names, strings without escapes, integers in
// plain notation, valid UTF-8. Anything else (or anything it is unsure
// of) is left to encoding/json, on the same bytes, so that every body
// decodes to what encoding/json makes of it and fails as it did.
// pushdec_test.go compares the two.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// decodePush reads a push body into req; false if it answered an error.
func decodePush(w http.ResponseWriter, r *http.Request, req *syncproto.PushRequest) bool {
	body := http.MaxBytesReader(w, r.Body, syncproto.MaxBodyBytes)
	buf, err := readBody(body, r.ContentLength)
	if err != nil {
		// Too big or cut off: the decoder sees the same bytes and then
		// the same error, as when it read the body itself.
		return decodeJSON(w, io.MultiReader(bytes.NewReader(buf), errReader{err}), req)
	}
	if fastDecodePush(buf, req) {
		return true
	}
	*req = syncproto.PushRequest{}
	return decodeJSON(w, bytes.NewReader(buf), req)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// readBody reads r to its end, sized by the request's Content-Length.
func readBody(r io.Reader, n int64) ([]byte, error) {
	size := 4096
	if n > 0 && n < syncproto.MaxBodyBytes {
		size = int(n) + 1
	}
	b := make([]byte, 0, size)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// pdec is the fast decoder's position in the body; a false ok means
// "not the common shape", never "invalid".
type pdec struct {
	b  []byte
	i  int
	ok bool
}

// fastDecodePush decodes b into req if it has the common shape.
func fastDecodePush(b []byte, req *syncproto.PushRequest) bool {
	if !utf8.Valid(b) {
		return false
	}
	d := &pdec{b: b, ok: true}
	var seen [3]bool
	d.object(func(key []byte) {
		switch string(key) {
		case "seals":
			d.once(&seen[0])
			req.Seals = []syncproto.Seal{}
			d.array(func() {
				req.Seals = append(req.Seals, syncproto.Seal{})
				d.seal(&req.Seals[len(req.Seals)-1])
			})
		case "keys":
			d.once(&seen[1])
			req.Keys = []syncproto.RecordKey{}
			d.array(func() {
				req.Keys = append(req.Keys, syncproto.RecordKey{})
				d.recordKey(&req.Keys[len(req.Keys)-1])
			})
		case "changes":
			d.once(&seen[2])
			req.Changes = []syncproto.Change{}
			d.array(func() {
				req.Changes = append(req.Changes, syncproto.Change{})
				d.change(&req.Changes[len(req.Changes)-1])
			})
		default:
			d.ok = false
		}
	})
	d.space()
	return d.ok && d.i == len(d.b)
}

func (d *pdec) once(seen *bool) {
	if *seen {
		d.ok = false
	}
	*seen = true
}

func (d *pdec) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// expect consumes c after optional space.
func (d *pdec) expect(c byte) bool {
	d.space()
	if d.ok && d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	d.ok = false
	return false
}

// peek reports whether c comes next (after space), consuming it if so.
func (d *pdec) peek(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads {"k": v, ...}, calling member for each key with d
// positioned at its value.
func (d *pdec) object(member func(key []byte)) {
	if !d.expect('{') {
		return
	}
	if d.peek('}') {
		return
	}
	for d.ok {
		key := d.str()
		if !d.expect(':') {
			return
		}
		member(key)
		if !d.ok || d.peek('}') {
			return
		}
		if !d.expect(',') {
			return
		}
	}
}

// array reads [v, ...], calling elem with d positioned at each value.
func (d *pdec) array(elem func()) {
	if !d.expect('[') {
		return
	}
	if d.peek(']') {
		return
	}
	for d.ok {
		elem()
		if !d.ok || d.peek(']') {
			return
		}
		if !d.expect(',') {
			return
		}
	}
}

// str reads a string without escapes or control characters (the body is
// valid UTF-8); it aliases the body.
func (d *pdec) str() []byte {
	if !d.expect('"') {
		return nil
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1]
		case c == '\\' || c < 0x20:
			d.ok = false
			return nil
		}
		d.i++
	}
	d.ok = false
	return nil
}

func (d *pdec) string() string { return string(d.str()) }

// bytes reads a base64 string as encoding/json decodes a []byte.
func (d *pdec) bytes() []byte {
	s := d.str()
	if !d.ok {
		return nil
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(b, s)
	if err != nil {
		d.ok = false
		return nil
	}
	return b[:n]
}

// int reads an integer in plain notation.
func (d *pdec) int() int64 {
	d.space()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) {
		d.ok = false
		return 0
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			d.ok = false
			return 0
		}
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	if err != nil {
		d.ok = false
	}
	return n
}

func (d *pdec) seal(s *syncproto.Seal) {
	var seen [2]bool
	d.object(func(key []byte) {
		switch string(key) {
		case "id":
			d.once(&seen[0])
			s.ID = d.string()
		case "jwe":
			d.once(&seen[1])
			s.JWE = d.string()
		default:
			d.ok = false
		}
	})
}

func (d *pdec) recordKey(k *syncproto.RecordKey) {
	var seen [3]bool
	d.object(func(key []byte) {
		switch string(key) {
		case "record_id":
			d.once(&seen[0])
			k.RecordID = d.string()
		case "seal_id":
			d.once(&seen[1])
			k.SealID = d.string()
		case "wrapped":
			d.once(&seen[2])
			k.Wrapped = d.bytes()
		default:
			d.ok = false
		}
	})
}

func (d *pdec) change(c *syncproto.Change) {
	var seen [12]bool
	d.object(func(key []byte) {
		switch string(key) {
		case "id":
			d.once(&seen[0])
			c.ID = d.string()
		case "record_id":
			d.once(&seen[1])
			c.RecordID = d.string()
		case "record_type":
			d.once(&seen[2])
			c.RecordType = d.string()
		case "op":
			d.once(&seen[3])
			c.Op = d.string()
		case "fields":
			d.once(&seen[4])
			c.Fields = []string{}
			d.array(func() { c.Fields = append(c.Fields, d.string()) })
		case "plain":
			d.once(&seen[5])
			c.Plain = map[string]syncproto.FieldChange{}
			d.object(func(name []byte) {
				var fc syncproto.FieldChange
				var seen [2]bool
				d.object(func(key []byte) {
					switch string(key) {
					case "old":
						d.once(&seen[0])
						fc.Old = d.string()
					case "new":
						d.once(&seen[1])
						fc.New = d.string()
					default:
						d.ok = false
					}
				})
				c.Plain[string(name)] = fc
			})
		case "secret":
			d.once(&seen[6])
			c.Secret = d.bytes()
		case "base_version":
			d.once(&seen[7])
			c.BaseVersion = d.int()
		case "hlc":
			d.once(&seen[8])
			c.HLC = d.string()
		case "device":
			d.once(&seen[9])
			c.Device = d.string()
		case "clerk":
			d.once(&seen[10])
			c.Clerk = d.string()
		case "created_at":
			d.once(&seen[11])
			c.CreatedAt = d.string()
		default:
			d.ok = false
		}
	})
}
