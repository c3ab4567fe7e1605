package server

import (
	"encoding/json"
	"math/rand"
	"testing"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// jsonAtoms are the pieces random strings are made of: every kind of byte
// encoding/json treats specially.
var jsonAtoms = []string{"", "a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\x00", "\x01", "\x1f", "\x7f",
	"\b", "\f", "\n", "\r", "\t", "é", "ß", "€", "😀", "\u2028", "\u2029", "\u2027", "\ufffd", "\xff", "\xe2\x80",
	"\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "form.surname", "\u00a0"}

func randString(r *rand.Rand) string {
	var b []byte
	for n := r.Intn(6); n > 0; n-- {
		b = append(b, jsonAtoms[r.Intn(len(jsonAtoms))]...)
	}
	return string(b)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func randField(r *rand.Rand) merge.Field {
	return merge.Field{Side: merge.Side{Change: randString(r), Device: randString(r), Clerk: randString(r),
		HLC: randString(r)}, Version: r.Int63n(1000) - 10, Value: randString(r), Personal: r.Intn(2) == 0}
}

// TestJSONEncodersMatch checks the go-json encoders against encoding/json
// on random values full of what JSON escapes, byte for byte: what the
// server stores and serves reads back as encoding/json would have it.
func TestJSONEncodersMatch(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 5000; i++ {

		rec := merge.Record{ID: randString(r), Type: randString(r), Version: r.Int63() - r.Int63(), Deleted: r.Intn(2) == 0}
		if r.Intn(3) == 0 {
			d := randField(r)
			rec.Delete = &d
		}
		if r.Intn(5) > 0 {
			rec.Fields = map[string]merge.Field{}
			for n := r.Intn(8); n > 0; n-- {
				rec.Fields[randString(r)] = randField(r)
			}
		}
		if got, want := string(appendRecord(nil, &rec)), mustMarshal(t, &rec); got != want {
			t.Fatalf("record: got\n%s\nwant\n%s", got, want)
		}
		var back merge.Record
		if err := json.Unmarshal(appendRecord(nil, &rec), &back); err != nil {
			t.Fatal(err)
		}

		var st map[string]merge.FieldState
		if r.Intn(5) > 0 {
			st = map[string]merge.FieldState{}
			for n := r.Intn(8); n > 0; n-- {
				st[randString(r)] = merge.FieldState{Src: randString(r), Version: r.Int63n(100)}
			}
		}
		sst := make(map[string]syncproto.FieldState, len(st))
		for k, v := range st {
			sst[k] = syncproto.FieldState{Src: v.Src, Version: v.Version}
		}
		if got, want := encodeState(st), mustMarshal(t, sst); got != want {
			t.Fatalf("state: got %s, want %s", got, want)
		}

		var fields []string
		if r.Intn(5) > 0 {
			fields = []string{}
			for n := r.Intn(6); n > 0; n-- {
				fields = append(fields, randString(r))
			}
		}
		want := mustMarshal(t, fields)
		if want == "null" {
			want = "[]"
		}
		if got := encodeFields(fields); got != want {
			t.Fatalf("fields: got %s, want %s", got, want)
		}

		plain := map[string]syncproto.FieldChange{}
		for n := 1 + r.Intn(6); n > 0; n-- {
			plain[randString(r)] = syncproto.FieldChange{Old: randString(r), New: randString(r)}
		}
		if got, want := encodePlain(plain), mustMarshal(t, plain); got != want {
			t.Fatalf("plain: got %s, want %s", got, want)
		}

		e := feedEntry{Seq: r.Int63(), Version: r.Int63n(50), ID: randString(r), RecordID: randString(r),
			RecordType: randString(r), Op: randString(r), Fields: json.RawMessage(encodeFields(fields)),
			BaseVersion: r.Int63n(9), HLC: randString(r), Device: randString(r), Clerk: randString(r),
			CreatedAt: randString(r), State: json.RawMessage(encodeState(st)), Deleted: r.Intn(2) == 0}
		if r.Intn(2) == 0 {
			e.Plain = json.RawMessage(encodePlain(plain))
		}
		if r.Intn(2) == 0 {
			e.Secret = []byte(randString(r))
		}
		if r.Intn(2) == 0 {
			e.Key = []byte(randString(r))
		}
		wantLine := mustMarshal(t, feedLine{Entry: &e}) + "\n"
		line, ok := appendEntryLine(nil, &e)
		if !ok || string(line) != wantLine {
			t.Fatalf("entry line (ok %v): got\n%s\nwant\n%s", ok, line, wantLine)
		}
	}
}
