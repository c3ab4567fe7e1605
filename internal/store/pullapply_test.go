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

// pulledVisit is a visit made elsewhere and edited once, as the feed
// serves it at seqs 1 and 2.
func pulledVisit() []syncproto.Entry {
	id, c1, c2 := domain.NewID(), domain.NewID(), domain.NewID()
	at := time.Now().UTC().Format(time.RFC3339Nano)
	create := syncproto.Entry{Seq: 1, Version: 1, Change: syncproto.Change{ID: c1, RecordID: id,
		RecordType: string(domain.TypeVisit), Op: "create", Fields: []string{"place", "venue_address"},
		Plain: map[string]syncproto.FieldChange{"place": {New: "Ort 1"}, "venue_address": {New: "Marktplatz 1"}},
		HLC:   "001795966945934-0000000001", Device: "elsewhere", Clerk: "clerk", CreatedAt: at},
		State: map[string]syncproto.FieldState{"place": {Src: c1, Version: 1}, "venue_address": {Src: c1, Version: 1}}}
	edit := syncproto.Entry{Seq: 2, Version: 2, Change: syncproto.Change{ID: c2, RecordID: id,
		RecordType: string(domain.TypeVisit), Op: "update", Fields: []string{"venue_address"}, BaseVersion: 1,
		Plain: map[string]syncproto.FieldChange{"venue_address": {Old: "Marktplatz 1", New: "Saal B"}},
		HLC:   "001795966945935-0000000000", Device: "elsewhere", Clerk: "clerk", CreatedAt: at},
		State: map[string]syncproto.FieldState{"venue_address": {Src: c2, Version: 2}}}
	return []syncproto.Entry{create, edit}
}

// A chunk applied twice (as after a crash between applying it and
// keeping the checkpoint, were the two not one transaction) leaves every
// record as the first application did, and writes none of them: the
// record's local version and updated_at stay.
func TestApplyPull_ChunkTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	ss, path := newSession(t, store.WithClock(func() time.Time { return now }))
	st := ss.Store()
	entries := pulledVisit()
	id := entries[0].RecordID
	if err := st.ApplyPull(ctx, syncproto.Page{}, entries, 2); err != nil {
		t.Fatal(err)
	}
	row := func() string {
		db := rawDB(t, path)
		defer db.Close()
		var v, sv int64
		var plain, updated string
		if err := db.QueryRow(`SELECT version, server_version, plain, updated_at FROM record WHERE id = ?`, id).
			Scan(&v, &sv, &plain, &updated); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("v%d sv%d %s %s", v, sv, plain, updated)
	}
	first := row()
	if want := `v2 sv2 {"place":"Ort 1","venue_address":"Saal B"} 2026-11-29T09:00:00Z`; first != want {
		t.Fatalf("after the first application: %s, want %s", first, want)
	}
	now = now.Add(time.Hour)
	if err := st.ApplyPull(ctx, syncproto.Page{}, pulledVisit()[:0], 2); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyPull(ctx, syncproto.Page{}, entries, 2); err != nil {
		t.Fatal(err)
	}
	if got := row(); got != first {
		t.Errorf("after applying the chunk again: %s, want %s", got, first)
	}
	db := rawDB(t, path)
	defer db.Close()
	if n := count(t, db, `SELECT count(*) FROM remote_change WHERE record_id = ?`, id); n != 2 {
		t.Errorf("%d pulled changes kept, want 2", n)
	}
	// Only the second entry again: the record is past it already.
	if err := st.ApplyPull(ctx, syncproto.Page{}, entries[1:], 2); err != nil {
		t.Fatal(err)
	}
	if got := row(); got != first {
		t.Errorf("after applying the edit again: %s, want %s", got, first)
	}
}
