package main

// Compaction of pulled entries (store.Compact, run by the agent after a
// pull): the pulling laptop's entries stop growing with the number of
// edits per record, and what still reads them (the records' personal
// values, conflicts, later merges, the audit chain) keeps working.

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// editAll edits every visit's venue and every case's street once.
func (l *laptop) editAll(visits, cases []string, round int) {
	l.k.t.Helper()
	for _, id := range visits {
		if _, err := l.ss.Update(l.k.ctx, id, store.AnyVersion, domain.Fields{"venue_address": fmt.Sprintf("Saal %d", round)}); err != nil {
			l.k.t.Fatal(err)
		}
	}
	for _, id := range cases {
		l.setStreet(id, fmt.Sprintf("Weg %d", round))
	}
}

func (l *laptop) setStreet(caseID, street string) {
	l.k.t.Helper()
	_, v, err := l.ss.Case(l.k.ctx, caseID)
	if err != nil {
		l.k.t.Fatal(err)
	}
	if _, err := l.ss.UpdateCaseForm(l.k.ctx, caseID, v, domain.Fields{"new_street": street}); err != nil {
		l.k.t.Fatal(err)
	}
}

func (l *laptop) pulledKept() int64 {
	l.k.t.Helper()
	n, err := l.st.RemoteChanges(l.k.ctx)
	if err != nil {
		l.k.t.Fatal(err)
	}
	return n
}

func TestCompact_PulledEntriesStopGrowingWithEdits(t *testing.T) {
	k := startKit(t)
	a, b, c := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt"), k.laptop("c", "musterstadt")
	const nVisits, nCases = 30, 10
	vs := make([]domain.Fields, nVisits)
	for i := range vs {
		vs[i] = domain.Fields{"place": fmt.Sprintf("Ort %d", i), "day": "2026-11-24", "venue_address": "Marktplatz 1"}
	}
	recs, err := a.ss.CreateBatch(k.ctx, domain.TypeVisit, vs)
	if err != nil {
		t.Fatal(err)
	}
	var visits, cases []string
	for _, r := range recs {
		visits = append(visits, r.ID)
	}
	for range nCases {
		c, err := a.ss.CreateCase(k.ctx, anmeldung())
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c.ID)
	}
	a.sync()
	b.sync()
	c.sync()

	// 3 edits of every record, then 12 more: b keeps the same number of
	// pulled entries after both.
	round := 0
	edit := func(times int) int64 {
		for range times {
			round++
			a.editAll(visits, cases, round)
			a.sync()
			b.sync()
		}
		return b.pulledKept()
	}
	after3 := edit(3)
	after15 := edit(12)
	t.Logf("pulled entries kept: %d after 3 edits per record, %d after 15", after3, after15)
	if after15 != after3 {
		t.Errorf("pulled entries kept: %d after 3 edits per record, %d after 15", after3, after15)
	}
	if records := int64(nVisits + nCases); after15 > 3*records {
		t.Errorf("pulled entries kept: %d for %d records", after15, records)
	}
	if got := b.surnameStreet(cases[0]); got != fmt.Sprintf("Weg %d", round) {
		t.Errorf("b reads the case's street as %q after compaction, want the last edit", got)
	}

	// A conflict on a personal field and one on a plain field, both sides
	// then buried under more edits of a (which compaction could drop).
	a.setStreet(cases[1], "Amsel-Ecke 1")
	b.setStreet(cases[1], "Drossel-Ecke 2")
	if _, err := a.ss.Update(k.ctx, visits[0], store.AnyVersion, domain.Fields{"venue_address": "Rathaus"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ss.Update(k.ctx, visits[0], store.AnyVersion, domain.Fields{"venue_address": "Schule"}); err != nil {
		t.Fatal(err)
	}
	a.sync()
	if rep := b.sync(); rep.Conflicts != 2 {
		t.Fatalf("b's sync found %d conflicts, want 2", rep.Conflicts)
	}
	a.sync()
	edit(4)
	b.checkConflicts(map[string][2]string{"new_street": {"Amsel-Ecke 1", "Drossel-Ecke 2"}, "venue_address": {"Rathaus", "Schule"}})

	// An entry that loses a field names the change whose value stands,
	// which b must still have although a newer entry of the record (of
	// another field) came after it: c edits the venue first, a edits it
	// later and then the place; c's edit, based on older data, loses.
	if _, err := c.ss.Update(k.ctx, visits[2], store.AnyVersion, domain.Fields{"venue_address": "Scheune"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ss.Update(k.ctx, visits[2], store.AnyVersion, domain.Fields{"venue_address": "Turnhalle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ss.Update(k.ctx, visits[2], store.AnyVersion, domain.Fields{"place": "Oberdorf"}); err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()
	c.sync()
	b.sync()
	if r, err := b.ss.Get(k.ctx, visits[2]); err != nil || r.Fields["venue_address"] != "Turnhalle" || r.Fields["place"] != "Oberdorf" {
		t.Errorf("b's visit after c's losing edit: %v, %v", r.Fields, err)
	}

	// Merges after compaction: b resolves the conflicts and edits on; all
	// agree with the server.
	cs, err := b.ss.Conflicts(k.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := b.ss.ResolveConflict(k.ctx, c.ID, store.ResolveB, ""); err != nil {
			t.Fatal(err)
		}
	}
	b.editAll(visits[:5], cases[:2], 99)
	b.sync()
	a.sync()
	b.sync()
	c.sync()
	want := k.export("musterstadt")
	if a.export() != want || b.export() != want || c.export() != want {
		t.Error("after compaction and more merges, the laptops and the server differ")
	}

	// The audit chain of b is whole.
	t.Setenv("BK_PASSWORD", "Feldtag-2026!")
	var out, errOut bytes.Buffer
	if code := run(k.ctx, []string{"audit", "verify", "--db", b.path, "--clerk", "clerk-b"}, &out, &errOut); code != 0 {
		t.Errorf("audit verify on b: exit %d: %s %s", code, out.String(), errOut.String())
	}
}

func (l *laptop) surnameStreet(caseID string) string {
	l.k.t.Helper()
	c, _, err := l.ss.Case(l.k.ctx, caseID)
	if err != nil {
		l.k.t.Fatal(err)
	}
	return c.Form["new_street"]
}

// checkConflicts checks that every conflict of a field in want opens with
// the two values, either way round.
func (l *laptop) checkConflicts(want map[string][2]string) {
	l.k.t.Helper()
	cs, err := l.ss.Conflicts(l.k.ctx, false)
	if err != nil {
		l.k.t.Fatalf("conflicts after compaction: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		field := strings.TrimPrefix(c.Field, domain.FormPrefix)
		w, ok := want[field]
		if !ok {
			continue
		}
		seen[field] = true
		if !(c.A.Value == w[0] && c.B.Value == w[1]) && !(c.A.Value == w[1] && c.B.Value == w[0]) {
			l.k.t.Errorf("conflict on %s opens as %q / %q, want %q / %q", field, c.A.Value, c.B.Value, w[0], w[1])
		}
	}
	if len(seen) != len(want) {
		l.k.t.Errorf("conflicts found for %v, want %d fields", seen, len(want))
	}
}
