package syncproto_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

func sampleLines() []syncproto.PullLine {
	id := "01a227f8-ca8e-751e-88b5-32d78f7977fe"
	return []syncproto.PullLine{
		{Page: &syncproto.Page{ID: "p1", JWE: "a.b.c", ServerKeyID: "k2", ServerPublicKey: "PEM"}},
		{Entry: &syncproto.Entry{Seq: 3, Version: 1, Change: syncproto.Change{ID: id,
			RecordID: "01a227f8-ca8e-751f-835a-bd7f19e61964", RecordType: "case", Op: "create",
			Fields: []string{"form.note", "status"}, Plain: map[string]syncproto.FieldChange{"status": {New: "draft"}},
			Secret: []byte{1, 2, 3, 0, 255}, HLC: "001795966945934-0000000004", Device: "dev-a",
			Clerk: "01a227f8-c9de-7363-96fe-a27dcb8a8c24", CreatedAt: "2026-11-29T15:42:25.934335103Z"},
			State: map[string]syncproto.FieldState{"form.note": {Src: id, Version: 1}, "status": {Src: id, Version: 1}},
			Key:   bytes.Repeat([]byte{7}, 61)}},
		{Entry: &syncproto.Entry{Seq: 4, Version: 7, Own: true}},
		// Not canonical: a field another change won, an id that is no
		// UUID, an upper-case UUID (kept as text), a deletion.
		{Entry: &syncproto.Entry{Seq: 9, Version: 3, Change: syncproto.Change{ID: "C-1",
			RecordID: "01A227F8-CA8E-751F-835A-BD7F19E61964", RecordType: "case", Op: "update",
			Fields: []string{"status"}, Plain: map[string]syncproto.FieldChange{"status": {Old: "draft", New: "sealed"}},
			BaseVersion: 2, HLC: "h", Device: "central", Clerk: "dev-a", CreatedAt: "t"},
			State:   map[string]syncproto.FieldState{"status": {Src: id, Version: 2}, "x": {Src: "C-1", Version: 3}},
			Deleted: true}},
		{Entry: &syncproto.Entry{Seq: 10, Version: 1, Change: syncproto.Change{ID: "e", RecordID: "r", RecordType: "visit",
			Op: "delete", Fields: []string{}}, State: map[string]syncproto.FieldState{}}},
		{End: &syncproto.End{LastSeq: 10, More: true, HeadSeq: 12, Policy: &syncproto.Policy{FourEyes: true}}},
	}
}

func writeFrames(t testing.TB, lines []syncproto.PullLine) []byte {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := syncproto.NewPullWriter(bw)
	for _, l := range lines {
		var err error
		switch {
		case l.Page != nil:
			err = w.Page(*l.Page)
		case l.Entry != nil:
			err = w.Entry(l.Entry)
		case l.End != nil:
			err = w.End(*l.End)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPullFramesRoundTrip(t *testing.T) {
	lines := sampleLines()
	r := syncproto.NewPullReader(bytes.NewReader(writeFrames(t, lines)))
	for i, want := range lines {
		var got syncproto.PullLine
		if err := r.Next(&got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, got.Entry, want.Entry)
		}
	}
	var l syncproto.PullLine
	if err := r.Next(&l); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

// A stream cut anywhere is either a clean end between frames or an
// unexpected EOF, never a frame read wrong.
func TestPullFramesCut(t *testing.T) {
	b := writeFrames(t, sampleLines())
	for n := range len(b) {
		r := syncproto.NewPullReader(bytes.NewReader(b[:n]))
		for {
			var l syncproto.PullLine
			err := r.Next(&l)
			if err == nil {
				continue
			}
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("cut at %d: %v", n, err)
			}
			break
		}
	}
}

func TestPullFramesMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"unknown kind":  {'X', 0},
		"huge frame":    {'E', 0xff, 0xff, 0xff, 0xff, 0x7f},
		"leftover":      {'O', 3, 1, 1, 9},
		"dict too far":  append([]byte{'E', 8, 1, 1, 1, 1, 'a', 1, 1, 'b'}, 5),
		"bad page json": {'P', 1, '{'},
	} {
		var l syncproto.PullLine
		if err := syncproto.NewPullReader(bytes.NewReader(b)).Next(&l); !errors.Is(err, syncproto.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzPullReader(f *testing.F) {
	f.Add(writeFrames(f, sampleLines()))
	f.Add([]byte{'O', 2, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := syncproto.NewPullReader(bytes.NewReader(b))
		for range 1000 {
			var l syncproto.PullLine
			if err := r.Next(&l); err != nil {
				return
			}
			if l.Entry == nil && l.Page == nil && l.End == nil {
				t.Fatal("a frame read without error but empty")
			}
		}
	})
}

// Every id, clock and time string comes back as it went, whether it has
// the compact form or not.
func FuzzPullFramesStrings(f *testing.F) {
	f.Add("001795966945934-0000000004", "2026-11-29T15:42:25.934335103Z", "01a227f8-ca8e-751e-88b5-32d78f7977fe")
	f.Add("000000000000000-0000000000", "2026-11-29T15:42:25.900Z", "01A227F8-CA8E-751E-88B5-32D78F7977FE")
	f.Add("999999999999999-9999999999", "2026-11-29T16:42:25+01:00", "x")
	f.Add("-00000000000001-0000000000", "0001-01-01T00:00:00Z", "")
	f.Fuzz(func(t *testing.T, clock, at, id string) {
		lines := []syncproto.PullLine{
			{Entry: &syncproto.Entry{Seq: 1, Change: syncproto.Change{ID: id, RecordID: id, HLC: clock, CreatedAt: at,
				Fields: []string{}}, State: map[string]syncproto.FieldState{}}},
			{Entry: &syncproto.Entry{Seq: 2, Change: syncproto.Change{ID: at, RecordID: clock,
				HLC: "001795966945934-0000000004", CreatedAt: "2026-11-29T15:42:25.934335103Z", Fields: []string{}},
				State: map[string]syncproto.FieldState{}}},
		}
		r := syncproto.NewPullReader(bytes.NewReader(writeFrames(t, lines)))
		for i, want := range lines {
			var got syncproto.PullLine
			if err := r.Next(&got); err != nil {
				t.Fatalf("line %d: %v", i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("line %d:\n got %+v\nwant %+v", i, got.Entry, want.Entry)
			}
		}
	})
}
