package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func anmeldung() domain.Case {
	return domain.Case{ServiceID: "anmeldung", Form: domain.Fields{"surname": "Mustermann", "given_names": "Erika",
		"birth_date": "1964-08-12", "new_street": "Lindenweg 3", "new_postal_code": "53111"}}
}

func TestSync_RoundTripBetweenTwoLaptops(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	if rep := a.sync(); rep.Pushed != 1 {
		t.Fatalf("a pushed %+v", rep)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 0 {
		t.Fatalf("a still has %d pending", n)
	}
	b.sync()
	got, _, err := b.ss.Case(k.ctx, c.ID)
	if err != nil {
		t.Fatalf("b reads a's case: %v", err)
	}
	if got.Form["surname"] != "Mustermann" || got.Form["birth_date"] != "1964-08-12" || got.ServiceID != "anmeldung" {
		t.Errorf("b sees %+v", got)
	}
	// b edits it, a gets the edit.
	if _, err := b.ss.UpdateCaseForm(k.ctx, c.ID, store.AnyVersion, domain.Fields{"new_street": "Lindenweg 5"}); err != nil {
		t.Fatal(err)
	}
	b.sync()
	a.sync()
	got, _, err = a.ss.Case(k.ctx, c.ID)
	if err != nil || got.Form["new_street"] != "Lindenweg 5" || got.Form["surname"] != "Mustermann" {
		t.Errorf("a sees %+v, %v", got, err)
	}
	b.sync()
	want := k.export("musterstadt")
	if a.export() != want || b.export() != want {
		t.Errorf("exports differ:\nserver %s\na      %s\nb      %s", want, a.export(), b.export())
	}
	if strings.Contains(want, "Mustermann") || strings.Contains(want, "1964") {
		t.Errorf("export shows personal data: %s", want)
	}
}

func TestSync_RetriedPushAppliesNothingTwice(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	for i := 0; i < 3; i++ {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	req, err := a.st.NextPush(k.ctx, 100)
	if err != nil || len(req.Changes) != 3 {
		t.Fatalf("next push: %d changes, %v", len(req.Changes), err)
	}
	e := a.enrolment()
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: e.ServerURL, Token: e.Token})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Push(k.ctx, e.Tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	// The answer is lost; the agent sends the same batch again.
	second, err := c.Push(k.ctx, e.Tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range req.Changes {
		if first.Results[i].Status != syncproto.StatusApplied || second.Results[i].Status != syncproto.StatusDuplicate ||
			first.Results[i].Seq != second.Results[i].Seq {
			t.Errorf("change %d: first %+v, second %+v", i, first.Results[i], second.Results[i])
		}
	}
	if err := a.st.AckPush(k.ctx, req, second); err != nil {
		t.Fatal(err)
	}
	a.sync()
	exp := k.export("musterstadt")
	if n := strings.Count(exp, "\n"); n != 3 {
		t.Errorf("server has %d records, want 3:\n%s", n, exp)
	}
	if a.export() != exp {
		t.Errorf("laptop and server differ")
	}
}

func TestSync_ConcurrentEditsBecomeConflictOnBothEnds(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()
	// Both change the street while offline; a also changes the postal
	// code, b the given names: those merge cleanly.
	if _, err := a.ss.UpdateCaseForm(k.ctx, c.ID, store.AnyVersion, domain.Fields{"new_street": "Am Markt 1", "new_postal_code": "53113"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ss.UpdateCaseForm(k.ctx, c.ID, store.AnyVersion, domain.Fields{"new_street": "Am Markt 2", "given_names": "Erika Maria"}); err != nil {
		t.Fatal(err)
	}
	a.sync()
	rep := b.sync() // b's change arrives second, based on the old version
	if rep.Conflicts != 1 {
		t.Errorf("b's push reported %d conflicts, want 1", rep.Conflicts)
	}
	a.sync()
	for _, l := range []*laptop{a, b} {
		cs, err := l.ss.Conflicts(k.ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 {
			t.Fatalf("%s: %d open conflicts, want 1", l.path, len(cs))
		}
		cf := cs[0]
		if cf.Field != "form.new_street" || cf.A.Value != "Am Markt 1" || cf.B.Value != "Am Markt 2" || cf.Base != "Lindenweg 3" ||
			cf.Rule != "later_hlc" || cf.Winner != store.ResolveB || cf.A.Clerk != a.ss.Clerk().ID || cf.B.Clerk != b.ss.Clerk().ID {
			t.Errorf("%s: conflict %+v", l.path, cf)
		}
		got, _, err := l.ss.Case(k.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The provisional winner stands; the clean merges are in.
		if got.Form["new_street"] != "Am Markt 2" || got.Form["new_postal_code"] != "53113" || got.Form["given_names"] != "Erika Maria" {
			t.Errorf("%s: case after merge %+v", l.path, got.Form)
		}
	}
	if st, _ := a.st.SyncState(k.ctx); st[store.StateConflicts] != "1" {
		t.Errorf("a's sync state: %v", st)
	}

	// A clerk on a takes a's value; the resolution syncs to b.
	cs, _ := a.ss.Conflicts(k.ctx, true)
	if err := a.ss.ResolveConflict(k.ctx, cs[0].ID, store.ResolveA, ""); err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()
	got, _, _ := b.ss.Case(k.ctx, c.ID)
	if got.Form["new_street"] != "Am Markt 1" {
		t.Errorf("b after resolution: %q", got.Form["new_street"])
	}
	if open, _ := b.ss.Conflicts(k.ctx, true); len(open) != 0 {
		t.Errorf("b still has %d open conflicts", len(open))
	}
	a.sync()
	if want := k.export("musterstadt"); a.export() != want || b.export() != want {
		t.Errorf("exports differ after resolution")
	}
}

func TestSync_DeleteAgainstEditKeepsTheEdit(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	v, err := a.ss.CreateVisit(k.ctx, domain.Visit{Place: "Seniorenheim Am Park", Day: "2026-11-24"})
	if err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()
	if err := a.ss.Delete(k.ctx, v.ID, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ss.Update(k.ctx, v.ID, store.AnyVersion, domain.Fields{"venue_address": "Parkstraße 2"}); err != nil {
		t.Fatal(err)
	}
	a.sync()
	b.sync()
	a.sync()
	for _, l := range []*laptop{a, b} {
		r, err := l.ss.Get(k.ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Deleted || r.Fields["venue_address"] != "Parkstraße 2" || r.Fields["place"] != "Seniorenheim Am Park" {
			t.Errorf("%s: visit after delete vs edit: %+v", l.path, r)
		}
		cs, _ := l.ss.Conflicts(k.ctx, true)
		if len(cs) != 1 || cs[0].Kind != "delete" || cs[0].Rule != "edit_beats_delete" {
			t.Errorf("%s: conflicts %+v", l.path, cs)
		}
	}
	if want := k.export("musterstadt"); a.export() != want || b.export() != want {
		t.Errorf("exports differ:\n%s\n%s\n%s", want, a.export(), b.export())
	}
	// The clerk confirms the deletion after all.
	cs, _ := b.ss.Conflicts(k.ctx, true)
	if err := b.ss.ResolveConflict(k.ctx, cs[0].ID, store.ResolveDelete, ""); err != nil {
		t.Fatal(err)
	}
	b.sync()
	a.sync()
	if r, _ := a.ss.Get(k.ctx, v.ID); !r.Deleted {
		t.Errorf("a: visit not deleted after the resolution")
	}
}

func TestSync_SealedCaseIsShreddedAfterAcknowledgement(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte("\x89PNG fake signature bytes for the test")
	_, v, err := a.ss.PutAttachment(k.ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, sig)
	if err != nil {
		t.Fatal(err)
	}
	if v, err = a.ss.SetCaseStatus(k.ctx, c.ID, v, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	if _, err = a.ss.SetCaseStatus(k.ctx, c.ID, v, domain.StatusSealed); err != nil {
		t.Fatal(err)
	}
	// Still readable until the server has it.
	if _, _, err := a.ss.Case(k.ctx, c.ID); err != nil {
		t.Fatalf("before sync: %v", err)
	}
	rep := a.sync()
	if rep.Uploaded != 1 {
		t.Errorf("uploaded %d attachments", rep.Uploaded)
	}
	if _, _, err := a.ss.Case(k.ctx, c.ID); !errors.Is(err, store.ErrShredded) {
		t.Errorf("sealed, acknowledged case: %v, want ErrShredded", err)
	}
	// A fresh session cannot open it either: the key is gone from disk.
	a.ss.Lock()
	ss, err := a.st.Unlock(k.ctx, "clerk-a", []byte("Feldtag-2026!"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Get(k.ctx, c.ID); !errors.Is(err, store.ErrShredded) {
		t.Errorf("after unlock: %v", err)
	}
	// The day's list still shows it, by its plain fields.
	recs, err := ss.List(k.ctx, domain.TypeCase, nil)
	if err != nil {
		t.Fatalf("list with a shredded case: %v", err)
	}
	if len(recs) != 1 || !recs[0].Sealed || recs[0].Fields["service_id"] != "anmeldung" || recs[0].Fields["form.surname"] != "" {
		t.Errorf("listed shredded case: %+v", recs)
	}
	// What the clerk needs to follow it stays.
	st := a.export()
	if !strings.Contains(st, `"status":"sealed"`) || !strings.Contains(st, `"service_id":"anmeldung"`) {
		t.Errorf("laptop lost the case's status: %s", st)
	}
	// And the town hall has it all, content included.
	srvExp := k.export("musterstadt")
	if st != srvExp {
		t.Errorf("exports differ:\n%s\n%s", srvExp, st)
	}
	srv := k.openServer()
	rec, err := srv.Record(k.ctx, "musterstadt", c.ID)
	if err != nil || rec.Fields["form.surname"] != "Mustermann" || rec.Fields["status"] != "sealed" {
		t.Errorf("server's copy of the sealed case: status %q, surname kept %v, %v",
			rec.Fields["status"], rec.Fields["form.surname"] == "Mustermann", err)
	}
}

func TestSync_AccessIsPerDeviceAndTenant(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	other := k.laptop("other", "beispielheim")
	ea, eo := a.enrolment(), other.enrolment()
	push := `{"changes":[]}`
	if code := k.raw("POST", "/v1/tenants/musterstadt/push", "", strings.NewReader(push)); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code := k.raw("POST", "/v1/tenants/musterstadt/push", "not-a-token", strings.NewReader(push)); code != 401 {
		t.Errorf("bad token: %d, want 401", code)
	}
	if code := k.raw("GET", "/v1/tenants/musterstadt/pull?after=0", eo.Token, nil); code != 403 {
		t.Errorf("tenant B's device pulling tenant A: %d, want 403", code)
	}
	if code := k.raw("POST", "/v1/tenants/musterstadt/push", eo.Token, strings.NewReader(push)); code != 403 {
		t.Errorf("tenant B's device pushing to tenant A: %d, want 403", code)
	}
	if code := k.raw("POST", "/v1/tenants/musterstadt/push", ea.Token, strings.NewReader(`{"changes":[{`)); code != 400 {
		t.Errorf("malformed body: %d, want 400", code)
	}
	huge := `{"changes":[],"seals":[{"id":"x","jwe":"` + strings.Repeat("A", syncproto.MaxBodyBytes) + `"}]}`
	if code := k.raw("POST", "/v1/tenants/musterstadt/push", ea.Token, strings.NewReader(huge)); code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if code := k.raw("GET", "/v1/tenants/musterstadt/pull?after=0", ea.Token, nil); code != 200 {
		t.Errorf("own tenant: %d, want 200", code)
	}

	// A lost laptop: revoked, its token stops working at once.
	var ids []string
	for _, line := range strings.Split(k.admin("devices", "--tenant", "musterstadt"), "\n")[1:] {
		ids = append(ids, strings.Fields(line)[0])
	}
	if len(ids) != 1 || ids[0] != ea.DeviceID {
		t.Fatalf("devices: %v, want [%s]", ids, ea.DeviceID)
	}
	k.admin("revoke", ea.DeviceID)
	if code := k.raw("GET", "/v1/tenants/musterstadt/pull?after=0", ea.Token, nil); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}
	ag, _ := agent.New(agent.Config{}, a.st)
	if _, err := ag.SyncOnce(context.Background()); err == nil {
		t.Error("a revoked laptop synced")
	}
	// The enrolment code was one-time.
	if code := k.raw("POST", "/v1/enrol", "", strings.NewReader(`{"code":"nope"}`)); code != 401 {
		t.Errorf("unknown enrolment code: %d, want 401", code)
	}
}

// `syncd admin demo` books a field day that reaches a laptop by sync: the
// visit, and its appointments as the central office left them.
func TestAdminDemo_VisitReachesTheLaptop(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	visitID := k.admin("demo", "--tenant", "musterstadt", "--day", "2026-11-23")
	a.sync()
	r, err := a.ss.Get(k.ctx, visitID)
	if err != nil {
		t.Fatal(err)
	}
	if v := domain.VisitFromFields(r.ID, r.Fields); v.Day != "2026-11-23" || v.Place == "" || len(v.ClerkIDs) != 2 {
		t.Errorf("visit %+v", v)
	}
	recs, err := a.ss.List(k.ctx, domain.TypeAppointment, domain.Fields{"visit_id": visitID})
	if err != nil {
		t.Fatal(err)
	}
	status := map[domain.AppointmentStatus]int{}
	for _, r := range recs {
		ap, err := domain.AppointmentFromFields(r.ID, r.Fields)
		if err != nil {
			t.Fatal(err)
		}
		if ap.CitizenName == "" {
			t.Errorf("appointment %s: the citizen's name did not open on the laptop", ap.ID)
		}
		if ap.Status == domain.AppointmentMoved && !ap.MovedTo.After(ap.StartsAt) {
			t.Errorf("moved appointment without its new time: %+v", ap)
		}
		status[ap.Status]++
	}
	if len(recs) != 5 || status[domain.AppointmentCancelled] != 1 || status[domain.AppointmentMoved] != 1 {
		t.Errorf("%d appointments, by status %v", len(recs), status)
	}
}

// A clerk's open form is based on the record's local version. Our own
// change coming back from the town hall as we made it leaves that version
// alone (the form stays current); a change made elsewhere moves it, so an
// edit based on the old version is refused as stale.
func TestSync_OwnChangeComingBackKeepsTheLocalVersion(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := a.ss.Case(k.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err = a.ss.UpdateCaseForm(k.ctx, c.ID, v, domain.Fields{"new_street": "Lindenweg 5"})
	if err != nil {
		t.Fatal(err)
	}
	if rep := a.sync(); rep.Pushed != 2 || rep.Pulled < 2 {
		t.Fatalf("a synced %+v", rep)
	}
	if _, got, err := a.ss.Case(k.ctx, c.ID); err != nil || got != v {
		t.Fatalf("after its own changes came back the case is at version %d (%v), the clerk's form at %d", got, err, v)
	}
	v, err = a.ss.UpdateCaseForm(k.ctx, c.ID, v, domain.Fields{"new_street": "Lindenweg 7"})
	if err != nil {
		t.Fatalf("edit based on the version on screen: %v", err)
	}
	a.sync()

	// b changes the case; a's form on screen is now stale.
	b.sync()
	if _, err := b.ss.UpdateCaseForm(k.ctx, c.ID, store.AnyVersion, domain.Fields{"new_postal_code": "51149"}); err != nil {
		t.Fatal(err)
	}
	b.sync()
	a.sync()
	if _, got, err := a.ss.Case(k.ctx, c.ID); err != nil || got == v {
		t.Fatalf("after b's change the case is still at version %d (%v)", got, err)
	}
	if _, err := a.ss.UpdateCaseForm(k.ctx, c.ID, v, domain.Fields{"new_street": "Lindenweg 9"}); !errors.Is(err, store.ErrStale) {
		t.Errorf("edit based on the version before b's change: %v, want ErrStale", err)
	}
	want := k.export("musterstadt")
	if a.export() != want {
		t.Errorf("a's export differs from the server's")
	}
}
