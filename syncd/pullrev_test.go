package main

// The pull of protocol revision 2 against a real server: a laptop gets
// its own changes back as stubs, not in full, and ends where a laptop of
// revision 1 ends; an agent of revision 1 still gets every entry whole as
// JSON lines; a laptop that lost the push's answer recovers.

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

var (
	pullRev1 = syncproto.Range{Min: 1, Max: 1}
	pullRev2 = syncproto.Range{Min: 1, Max: 2}
)

// syncAs runs one sync of the laptop's agent speaking proto.
func (l *laptop) syncAs(proto syncproto.Range) agent.Report {
	l.k.t.Helper()
	a, err := agent.New(agent.Config{Client: agent.ClientConfig{Protocol: proto, RetryCount: -1}}, l.st)
	if err != nil {
		l.k.t.Fatal(err)
	}
	defer a.Close()
	rep, err := a.SyncOnce(l.k.ctx)
	if err != nil {
		l.k.t.Fatalf("sync %v: %v", proto, err)
	}
	return rep
}

// pullAll pulls the tenant's whole feed as the laptop's device, speaking
// proto, and returns the entries.
func (l *laptop) pullAll(proto syncproto.Range) []syncproto.Entry {
	l.k.t.Helper()
	e := l.enrolment()
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: e.ServerURL, Token: e.Token, Protocol: proto, RetryCount: -1})
	if err != nil {
		l.k.t.Fatal(err)
	}
	defer c.Close()
	var out []syncproto.Entry
	for after, more := int64(0), true; more; {
		err := c.Pull(l.k.ctx, e.Tenant, after, 0, func(line syncproto.PullLine) error {
			switch {
			case line.Entry != nil:
				out = append(out, *line.Entry)
			case line.End != nil:
				after, more = line.End.LastSeq, line.End.More
			}
			return nil
		})
		if err != nil {
			l.k.t.Fatal(err)
		}
	}
	return out
}

// versions lists the laptop's records as "type local-version
// server-version deleted", sorted: what a laptop ends at, without ids.
func (l *laptop) versions() []string {
	l.k.t.Helper()
	db, err := sql.Open("sqlite", "file:"+l.path)
	if err != nil {
		l.k.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(l.k.ctx, `SELECT type, version, server_version, deleted FROM record`)
	if err != nil {
		l.k.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ string
		var v, sv int64
		var del bool
		if err := rows.Scan(&typ, &v, &sv, &del); err != nil {
			l.k.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d %d %v", typ, v, sv, del))
	}
	if err := rows.Err(); err != nil {
		l.k.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// workday makes the same changes on a laptop whatever its revision: two
// cases, one edited and, after a sync, deleted, and the deletion of a
// visit that another laptop edited meanwhile (the edit wins: a conflict,
// and the visit comes back).
func workday(t *testing.T, l *laptop, proto syncproto.Range, visit string) {
	t.Helper()
	ctx := l.k.ctx
	c1, err := l.ss.CreateCase(ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ss.CreateCase(ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ss.Update(ctx, c1.ID, store.AnyVersion, domain.Fields{"form.given_names": "Erika Maria"}); err != nil {
		t.Fatal(err)
	}
	if err := l.ss.Delete(ctx, visit, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	l.syncAs(proto)
	if err := l.ss.Delete(ctx, c1.ID, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	l.syncAs(proto)
}

// The laptop that pushed gets its own changes back as stubs where the
// server merged them as pushed, and ends at the same versions as one that
// gets them whole; its deletion that lost to an edit comes whole (the
// laptop gets the record back), and so does the conflict record.
func TestPull_OwnChangesAsStubsEndWhereFullOnesDo(t *testing.T) {
	k := startKit(t)
	old, cur, other := k.laptop("old", "musterstadt"), k.laptop("cur", "musterstadt"), k.laptop("other", "musterstadt")
	recs, err := other.ss.CreateBatch(k.ctx, domain.TypeVisit, []domain.Fields{
		{"place": "Ort 1", "day": "2026-11-23", "venue_address": "Marktplatz 1"},
		{"place": "Ort 2", "day": "2026-11-24", "venue_address": "Marktplatz 2"}})
	if err != nil {
		t.Fatal(err)
	}
	other.sync()
	old.syncAs(pullRev1)
	cur.syncAs(pullRev2)
	for _, r := range recs {
		if _, err := other.ss.Update(k.ctx, r.ID, store.AnyVersion, domain.Fields{"venue_address": "Saal B"}); err != nil {
			t.Fatal(err)
		}
	}
	other.sync()
	workday(t, old, pullRev1, recs[0].ID)
	workday(t, cur, pullRev2, recs[1].ID)
	other.sync()
	old.syncAs(pullRev1)
	cur.syncAs(pullRev2)

	want := k.export("musterstadt")
	for _, l := range []*laptop{old, cur, other} {
		if got := l.export(); got != want {
			t.Fatalf("%s differs from the server:\n%s", l.path, firstDiff(got, want))
		}
	}
	gotOld, gotCur := old.versions(), cur.versions()
	if fmt.Sprint(gotOld) != fmt.Sprint(gotCur) {
		t.Errorf("laptop of revision 2 ends at\n%v\nrevision 1 at\n%v", gotCur, gotOld)
	}

	dev := cur.enrolment().DeviceID
	stubs, whole, conflicts := 0, 0, 0
	for _, e := range cur.pullAll(pullRev2) {
		switch {
		case e.Own:
			stubs++
		case e.Device == dev:
			whole++
			if e.Op != "delete" || e.Deleted || e.RecordID != recs[1].ID {
				t.Errorf("own change %d came whole: %s of %s, deleted %v", e.Seq, e.Op, e.RecordID, e.Deleted)
			}
		case e.RecordType == string(domain.TypeConflict):
			conflicts++
		}
	}
	// 2 creates, an edit and a delete as pushed; the visit's deletion
	// lost to the edit.
	if stubs != 4 || whole != 1 || conflicts < 2 {
		t.Errorf("own changes: %d stubs, %d whole, %d conflict entries; want 4, 1, at least 2", stubs, whole, conflicts)
	}
	// Revision 1 gets all of the laptop's changes whole.
	full := 0
	for _, e := range cur.pullAll(pullRev1) {
		if e.Own {
			t.Fatalf("revision 1 got a stub at %d", e.Seq)
		}
		if e.Device == dev {
			full++
		}
	}
	if full != 5 {
		t.Errorf("revision 1: %d own changes whole, want 5", full)
	}
}

// A laptop whose push was applied but whose answer never arrived cannot
// place the stubs of those changes: it pulls them whole instead and ends
// where the server is.
func TestPull_LostPushAnswerPullsOwnChangesWhole(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	for range 3 {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	ag, err := agent.New(agent.Config{NoPull: true}, a.st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ag.SyncOnce(k.ctx); err != nil {
		t.Fatal(err)
	}
	ag.Close()
	// As if the answer had been lost: the laptop does not know where the
	// server put its changes.
	db, err := sql.Open("sqlite", "file:"+a.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(k.ctx, `UPDATE change_log SET server_seq = NULL`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := b.ss.CreateCase(k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	b.sync()

	// The push step finds nothing pending (pushed_at stands); the pull
	// meets stubs it cannot place and takes the changes whole.
	a.syncAs(pullRev2)
	if got, want := a.export(), k.export("musterstadt"); got != want {
		t.Fatalf("laptop differs from the server:\n%s", firstDiff(got, want))
	}
	if got := a.versions(); fmt.Sprint(got) != "[case 1 1 false case 1 1 false case 1 1 false case 1 1 false]" {
		t.Errorf("versions %v", got)
	}
	// Its next pull places them again.
	cp, err := a.st.Checkpoint(k.ctx)
	if err != nil || cp != 4 {
		t.Fatalf("checkpoint %d, %v; want 4", cp, err)
	}
	if err := a.st.ApplyPull(k.ctx, syncproto.Page{}, []syncproto.Entry{{Seq: 1, Version: 1, Own: true}}, 4); err != nil {
		t.Errorf("stub of a change placed by the full pull: %v", err)
	}
	if err := a.st.ApplyPull(k.ctx, syncproto.Page{}, []syncproto.Entry{{Seq: 99, Version: 1, Own: true}}, 99); !errors.Is(err, store.ErrUnknownOwnChange) {
		t.Errorf("stub of no change here: %v, want ErrUnknownOwnChange", err)
	}
}
