package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// pulledEdits makes the feed entries of edits rounds of the venue of each
// visit in ids, from seq on (the creates first if seq is 1).
func pulledEdits(ids []string, seq int64, rounds int) []syncproto.Entry {
	var out []syncproto.Entry
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for r := range rounds {
		for _, id := range ids {
			e := syncproto.Entry{Seq: seq, Version: seq, Change: syncproto.Change{ID: domain.NewID(), RecordID: id,
				RecordType: string(domain.TypeVisit), Op: "update", Fields: []string{"venue_address"},
				Plain:       map[string]syncproto.FieldChange{"venue_address": {New: fmt.Sprintf("Saal %d-%d", seq, r)}},
				BaseVersion: seq - 1, HLC: fmt.Sprintf("%013d-0000", 1_700_000_000_000+seq), Device: "other", Clerk: "c",
				CreatedAt: now}}
			if seq <= int64(len(ids)) {
				e.Op, e.Fields = "create", []string{"day", "place", "venue_address"}
				e.Plain["day"], e.Plain["place"] = syncproto.FieldChange{New: "2026-11-24"}, syncproto.FieldChange{New: "Ort"}
			}
			e.State = map[string]syncproto.FieldState{}
			for _, f := range e.Fields {
				e.State[f] = syncproto.FieldState{Src: e.ID, Version: seq}
			}
			out = append(out, e)
			seq++
		}
	}
	return out
}

// Compact looks at a bounded number of pulled entries per call, resumes
// after them on the next, and leaves a fixed number of entries per record
// however many edits came.
func TestCompact_BoundedPerCallAndResumes(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	s := ss.Store()
	defer store.SetCompactEntries(25)()
	ids := []string{domain.NewID(), domain.NewID(), domain.NewID()}
	entries := pulledEdits(ids, 1, 21) // a create and 20 edits each
	if err := s.ApplyPull(ctx, syncproto.Page{}, entries, int64(len(entries))); err != nil {
		t.Fatal(err)
	}
	kept := func() int64 {
		t.Helper()
		n, err := s.RemoteChanges(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The first call looks at entries 1..25, which name every record: each
	// keeps its create (the source of day and place) and its newest entry.
	rep, err := s.Compact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.More || rep.Records != 3 || kept() != 6 {
		t.Fatalf("first call: %+v, %d kept; want more to do, 3 records, 6 kept", rep, kept())
	}
	if rep, err = s.Compact(ctx); err != nil || rep.More || rep.Removed != 0 {
		t.Fatalf("second call: %+v, %v; want the rest looked at, nothing more to remove", rep, err)
	}
	if rep, err = s.Compact(ctx); err != nil || rep != (store.CompactReport{}) {
		t.Fatalf("third call: %+v, %v; want nothing to look at", rep, err)
	}

	// Ten more edits each: still 6.
	more := pulledEdits(ids, int64(len(entries))+1, 10)
	last := more[len(more)-1]
	if err := s.ApplyPull(ctx, syncproto.Page{}, more, last.Seq); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // 30 entries: 25, then 5
		if rep, err = s.Compact(ctx); err != nil || rep.More != (i == 0) {
			t.Fatalf("call %d after 10 more edits: %+v, %v", i+1, rep, err)
		}
	}
	if kept() != 6 {
		t.Errorf("after 10 more edits each: %d kept, want 6", kept())
	}
	r, err := ss.Get(ctx, last.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fields["venue_address"] != last.Plain["venue_address"].New || r.Fields["place"] != "Ort" {
		t.Errorf("record after compaction: %v", r.Fields)
	}
}
