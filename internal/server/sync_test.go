package server

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func TestPushPull_RoundTrip(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	person, pkey := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann", "given_names": "Erika",
		"birth_date": "1964-08-12"})
	visit, vkey := a.create(domain.TypeVisit, domain.Fields{"place": "Oberweiler", "venue_address": "Dorfstr. 1"})
	rs := a.push([]syncproto.RecordKey{pkey, vkey}, person, visit)
	wantStatus(t, rs, syncproto.StatusApplied, syncproto.StatusApplied)
	if rs[0].Seq <= 0 || rs[1].Seq <= rs[0].Seq || rs[0].Version != 1 {
		t.Fatalf("results %+v", rs)
	}

	// b gets a's records, opens the page key with its private key, unwraps
	// the record key and decrypts the sealed values.
	es := b.pullAll()
	if len(es) != 2 || es[0].ID != person.ID || es[1].ID != visit.ID {
		t.Fatalf("b pulled %+v", es)
	}
	e := es[0]
	if e.Device != a.id || e.Version != 1 || e.Deleted || len(e.Key) == 0 || e.Seq != rs[0].Seq {
		t.Fatalf("entry %+v", e)
	}
	for _, f := range person.Fields {
		if st := e.State[f]; st.Src != person.ID || st.Version != 1 {
			t.Errorf("state of %s: %+v", f, st)
		}
	}
	vals := b.open(e)
	if vals["surname"].New != "Mustermann" || vals["birth_date"].New != "1964-08-12" || vals["given_names"].Old != "" {
		t.Fatalf("b decrypted %+v", vals)
	}
	if got := plainNew(es[1]); got["place"] != "Oberweiler" {
		t.Errorf("visit plain %v", got)
	}

	// a does not get the keys of its own records back.
	for _, e := range a.pullAll() {
		if len(e.Key) != 0 {
			t.Errorf("a got the key of its own record %s", e.RecordID)
		}
	}

	// b edits the person; a decrypts b's change with the key it has.
	upd := b.change("update", domain.TypePerson, person.RecordID, 1, domain.Fields{"surname": "Mustermann"},
		domain.Fields{"surname": "Musterfrau"})
	wantStatus(t, b.push(nil, upd), syncproto.StatusApplied)
	p := a.pull(rs[1].Seq, 0)
	if len(p.entries) != 1 || p.entries[0].ID != upd.ID || p.entries[0].Version != 2 {
		t.Fatalf("a pulled %+v", p.entries)
	}
	if v := a.open(p.entries[0]); v["surname"].New != "Musterfrau" || v["surname"].Old != "Mustermann" {
		t.Errorf("a decrypted %+v", v)
	}
	// The back office sees the current values.
	r := k.record(tenantA, person.RecordID)
	if r.Version != 2 || r.Fields["surname"] != "Musterfrau" || r.Fields["given_names"] != "Erika" || r.Type != domain.TypePerson {
		t.Errorf("record view %+v", r)
	}
	// Another tenant sees none of it.
	c := k.enrol("c", tenantB, 4)
	if es := c.pullAll(); len(es) != 0 {
		t.Errorf("tenant %s sees %d entries of %s", tenantB, len(es), tenantA)
	}
	if _, err := k.srv.Record(k.ctx, tenantB, person.RecordID); err == nil {
		t.Error("record of another tenant")
	}
}

func TestPush_RetriedIsDuplicate(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c1, k1 := a.create(domain.TypeVisit, domain.Fields{"place": "A"})
	c2, k2 := a.create(domain.TypeVisit, domain.Fields{"place": "B"})
	c3 := a.change("update", domain.TypeVisit, c1.RecordID, 1, domain.Fields{"place": "A"}, domain.Fields{"place": "A2"})
	req := a.request([]syncproto.RecordKey{k1, k2}, c1, c2, c3)
	first := a.pushReq(req)
	wantStatus(t, first, syncproto.StatusApplied, syncproto.StatusApplied, syncproto.StatusApplied)
	head := k.head(tenantA)
	again := a.pushReq(req) // the same bytes again, seals and keys included
	wantStatus(t, again, syncproto.StatusDuplicate, syncproto.StatusDuplicate, syncproto.StatusDuplicate)
	for i := range first {
		if again[i].Seq != first[i].Seq || again[i].Version != first[i].Version || again[i].ID != first[i].ID {
			t.Errorf("duplicate %+v, first %+v", again[i], first[i])
		}
	}
	if h := k.head(tenantA); h != head {
		t.Fatalf("retried push moved head from %d to %d", head, h)
	}
	if r := k.record(tenantA, c1.RecordID); r.Version != 2 || r.Fields["place"] != "A2" {
		t.Fatalf("record %+v", r)
	}
	// A change twice in one request.
	c4 := a.change("update", domain.TypeVisit, c2.RecordID, 1, domain.Fields{"place": "B"}, domain.Fields{"place": "B2"})
	rs := a.push(nil, c4, c4)
	wantStatus(t, rs, syncproto.StatusApplied, syncproto.StatusDuplicate)
	if rs[1].Seq != rs[0].Seq {
		t.Errorf("in-request duplicate %+v", rs)
	}
	if r := k.record(tenantA, c2.RecordID); r.Version != 2 {
		t.Errorf("version %d after a doubled change", r.Version)
	}
}

// Two laptops change the same field of a visit concurrently: the later
// clock wins, and a conflict record follows in the feed at once.
func TestConflict_ConcurrentEditLaterHLCWins(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	v, vk := a.create(domain.TypeVisit, domain.Fields{"place": "Saal 1", "day": "2025-03-02"})
	wantStatus(t, a.push([]syncproto.RecordKey{vk}, v), syncproto.StatusApplied)
	b.pullAll()

	// b's edit is made first (earlier clock) but arrives second.
	eb := b.change("update", domain.TypeVisit, v.RecordID, 1, domain.Fields{"place": "Saal 1"}, domain.Fields{"place": "Saal B"})
	ea := a.change("update", domain.TypeVisit, v.RecordID, 1, domain.Fields{"place": "Saal 1"}, domain.Fields{"place": "Saal A"})
	wantStatus(t, a.push(nil, ea), syncproto.StatusApplied)
	rs := b.push(nil, eb)
	wantStatus(t, rs, syncproto.StatusApplied)
	if rs[0].Conflicts != 1 || rs[0].Version != 3 {
		t.Fatalf("result %+v", rs[0])
	}
	if r := k.record(tenantA, v.RecordID); r.Fields["place"] != "Saal A" {
		t.Errorf("place %q, want a's (later clock)", r.Fields["place"])
	}
	es := a.pullAll()
	last := es[len(es)-1]
	if last.RecordType != string(domain.TypeConflict) || es[len(es)-2].ID != eb.ID || last.Seq != rs[0].Seq+1 {
		t.Fatalf("feed does not end with b's change and its conflict: %+v", es)
	}
	if st := es[len(es)-2].State["place"]; st.Src != ea.ID {
		t.Errorf("b's entry: place from %s, want a's change", st.Src)
	}
	got := plainNew(last)
	want := map[string]string{"record_id": v.RecordID, "record_type": "visit", "field": "place", "kind": "field",
		"base_version": "1", "a_change": ea.ID, "a_device": a.id, "a_value": "Saal A", "b_change": eb.ID,
		"b_device": b.id, "b_value": "Saal B", "base_value": "Saal 1", "winner": ea.ID, "rule": "later_hlc", "status": "open",
		"a_clerk": ea.Clerk, "b_clerk": eb.Clerk, "a_hlc": ea.HLC, "b_hlc": eb.HLC}
	for f, w := range want {
		if got[f] != w {
			t.Errorf("conflict %s = %q, want %q", f, got[f], w)
		}
	}
	if last.Device != syncproto.CentralDevice || last.Clerk != SystemClerk || len(last.Key) != 0 || len(last.Secret) != 0 {
		t.Errorf("conflict entry %+v", last)
	}

	// Now the later edit arrives last: it wins.
	ea2 := a.change("update", domain.TypeVisit, v.RecordID, 3, domain.Fields{"day": "2025-03-02"}, domain.Fields{"day": "2025-03-03"})
	eb2 := b.change("update", domain.TypeVisit, v.RecordID, 3, domain.Fields{"day": "2025-03-02"}, domain.Fields{"day": "2025-03-04"})
	wantStatus(t, a.push(nil, ea2), syncproto.StatusApplied)
	rs = b.push(nil, eb2)
	if rs[0].Conflicts != 1 {
		t.Fatalf("result %+v", rs[0])
	}
	if r := k.record(tenantA, v.RecordID); r.Fields["day"] != "2025-03-04" {
		t.Errorf("day %q, want b's (later clock)", r.Fields["day"])
	}
	// A resolution of the conflict is an ordinary change of the conflict
	// record, which has no key.
	res := a.change("update", domain.TypeConflict, last.RecordID, 1, domain.Fields{"status": "open"},
		domain.Fields{"status": "resolved", "resolution": "a"})
	wantStatus(t, a.push(nil, res), syncproto.StatusApplied)
}

// The town hall changes a case's status while a laptop does too: the town
// hall wins, whichever arrives first.
func TestConflict_CentralWinsCaseStatus(t *testing.T) {
	for _, centralFirst := range []bool{true, false} {
		k := startKit(t)
		a := k.enrol("a", tenantA, 2)
		c, ck := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft",
			"form.surname": "Mustermann"})
		wantStatus(t, a.push([]syncproto.RecordKey{ck}, c), syncproto.StatusApplied)
		field := a.change("update", domain.TypeCase, c.RecordID, 1, domain.Fields{"status": "draft"}, domain.Fields{"status": "signed"})
		central := func() syncproto.PushResult {
			res, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: c.RecordID, RecordType: domain.TypeCase,
				Op: "update", BaseVersion: 1, Set: domain.Fields{"status": "needs_info"}, Clerk: "backoffice"})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		var conflictsSeen int
		if centralFirst {
			if res := central(); res.Status != syncproto.StatusApplied || res.Conflicts != 0 {
				t.Fatalf("central %+v", res)
			}
			rs := a.push(nil, field)
			wantStatus(t, rs, syncproto.StatusApplied)
			conflictsSeen = rs[0].Conflicts
		} else {
			wantStatus(t, a.push(nil, field), syncproto.StatusApplied)
			conflictsSeen = central().Conflicts
		}
		if conflictsSeen != 1 {
			t.Fatalf("central first %v: %d conflicts", centralFirst, conflictsSeen)
		}
		if r := k.record(tenantA, c.RecordID); r.Fields["status"] != "needs_info" || r.Fields["form.surname"] != "Mustermann" {
			t.Errorf("central first %v: record %+v", centralFirst, r.Fields)
		}
		cs := conflicts(a.pullAll())
		if len(cs) != 1 || plainNew(cs[0])["rule"] != "central_status" {
			t.Fatalf("central first %v: conflicts %+v", centralFirst, cs)
		}
	}
}

// Delete against edit, in both orders: the edit wins and the record stays.
func TestConflict_DeleteVersusEdit(t *testing.T) {
	for _, deleteFirst := range []bool{true, false} {
		k := startKit(t)
		a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
		p, pk := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
		wantStatus(t, a.push([]syncproto.RecordKey{pk}, p), syncproto.StatusApplied)
		b.pullAll()
		del := a.change("delete", domain.TypePerson, p.RecordID, 1, nil, nil)
		edit := b.change("update", domain.TypePerson, p.RecordID, 1, domain.Fields{"surname": "Mustermann"},
			domain.Fields{"surname": "Musterfrau"})
		var rs []syncproto.PushResult
		if deleteFirst {
			wantStatus(t, a.push(nil, del), syncproto.StatusApplied)
			rs = b.push(nil, edit)
		} else {
			wantStatus(t, b.push(nil, edit), syncproto.StatusApplied)
			rs = a.push(nil, del)
		}
		wantStatus(t, rs, syncproto.StatusApplied)
		if rs[0].Conflicts != 1 {
			t.Fatalf("delete first %v: %+v", deleteFirst, rs[0])
		}
		r := k.record(tenantA, p.RecordID)
		if r.Deleted || r.Fields["surname"] != "Musterfrau" {
			t.Errorf("delete first %v: record %+v", deleteFirst, r)
		}
		es := b.pullAll()
		cs := conflicts(es)
		if len(cs) != 1 {
			t.Fatalf("delete first %v: %d conflicts", deleteFirst, len(cs))
		}
		got := plainNew(cs[0])
		if got["kind"] != "delete" || got["rule"] != "edit_beats_delete" || got["winner"] != edit.ID {
			t.Errorf("delete first %v: conflict %v", deleteFirst, got)
		}
		if last := es[len(es)-2]; last.Deleted {
			t.Errorf("delete first %v: entry says deleted", deleteFirst)
		}
	}
}

// A case past its draft is a signed application: other laptops get its
// status, not its key.
func TestPull_NoKeyForSignedCase(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	c, ck := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft", "form.surname": "Mustermann"})
	d, dk := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft", "form.surname": "Muster"})
	sign := a.change("update", domain.TypeCase, c.RecordID, 1, domain.Fields{"status": "draft"}, domain.Fields{"status": "signed"})
	wantStatus(t, a.push([]syncproto.RecordKey{ck, dk}, c, d, sign), syncproto.StatusApplied, syncproto.StatusApplied,
		syncproto.StatusApplied)
	for _, e := range b.pullAll() {
		if signed := e.RecordID == c.RecordID; signed == (len(e.Key) != 0) {
			t.Errorf("entry of record %s (signed %v): key %v", e.RecordID, signed, len(e.Key) != 0)
		}
	}
}

func TestPush_RetryUntilKeyAndAttachment(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c, ck := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft"})
	wantStatus(t, a.push([]syncproto.RecordKey{ck}, c), syncproto.StatusApplied)
	data := bytes.Repeat([]byte("sealed signature "), 1000)
	sha, sealed := sha256hex([]byte("picture")), sha256hex(data)
	att := a.change("update", domain.TypeCase, c.RecordID, 1, nil, domain.Fields{"attachment.signature_png": sha})
	after := a.change("update", domain.TypeCase, c.RecordID, 1, nil, domain.Fields{"signed_by": "clerk-a"})
	other, ok := a.create(domain.TypeVisit, domain.Fields{"place": "X"})
	rs := a.push(nil, att, after, other) // other's key not sent
	wantStatus(t, rs, syncproto.StatusRetry, syncproto.StatusRetry, syncproto.StatusRetry)
	if rs[0].Reason != "attachment missing" || rs[2].Reason != "record key missing" {
		t.Errorf("reasons %+v", rs)
	}
	if h := k.head(tenantA); h != 1 {
		t.Fatalf("head %d after retries", h)
	}
	upload(t, a, sha, c.RecordID, data, sealed)
	wantStatus(t, a.push([]syncproto.RecordKey{ok}, att, after, other), syncproto.StatusApplied, syncproto.StatusApplied,
		syncproto.StatusApplied)
	if r := k.record(tenantA, c.RecordID); r.Fields["attachment.signature_png"] != sha || r.Fields["signed_by"] != "clerk-a" {
		t.Errorf("record %+v", r.Fields)
	}
}

func TestCentral_CreateReachesLaptops(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	res, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordType: domain.TypeAppointment, Op: "create", BaseVersion: -1,
		Set: domain.Fields{"service_id": "anmeldung", "status": "booked", "citizen_name": "Erika Mustermann"}, Clerk: "admin"})
	if err != nil || res.Status != syncproto.StatusApplied || res.Seq != 1 || res.Version != 1 {
		t.Fatalf("central %+v, %v", res, err)
	}
	es := a.pullAll()
	if len(es) != 1 || len(es[0].Key) == 0 || es[0].Device != syncproto.CentralDevice || es[0].Clerk != "admin" {
		t.Fatalf("pulled %+v", es)
	}
	if v := a.open(es[0]); v["citizen_name"].New != "Erika Mustermann" {
		t.Errorf("decrypted %+v", v)
	}
	id := es[0].RecordID
	// A central update seals the old value beside the new, as a laptop does.
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: id, RecordType: domain.TypeAppointment, Op: "update",
		BaseVersion: -1, Set: domain.Fields{"citizen_name": "Erika Musterfrau", "status": "booked"}, Clerk: "admin"}); err != nil {
		t.Fatal(err)
	}
	p := a.pull(1, 0)
	if len(p.entries) != 1 || len(p.entries[0].Fields) != 1 {
		t.Fatalf("pulled %+v", p.entries)
	}
	if v := a.open(p.entries[0]); v["citizen_name"].Old != "Erika Mustermann" || v["citizen_name"].New != "Erika Musterfrau" {
		t.Errorf("decrypted %+v", v)
	}
	// The laptop edits it; the server reads the laptop's value.
	up := a.change("update", domain.TypeAppointment, id, 2, nil, domain.Fields{"citizen_name": "E. Musterfrau"})
	wantStatus(t, a.push(nil, up), syncproto.StatusApplied)
	if r := k.record(tenantA, id); r.Fields["citizen_name"] != "E. Musterfrau" || r.Fields["status"] != "booked" {
		t.Errorf("record %+v", r.Fields)
	}
	// Nothing to change: nothing written.
	res, err = k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: id, RecordType: domain.TypeAppointment, Op: "update",
		BaseVersion: -1, Set: domain.Fields{"citizen_name": "E. Musterfrau"}, Clerk: "admin"})
	if err != nil || res.Seq != 0 || k.head(tenantA) != 3 {
		t.Errorf("no-op central: %+v, %v", res, err)
	}
	// Refusals.
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: domain.NewID(), RecordType: domain.TypeAppointment,
		Op: "update", BaseVersion: -1, Set: domain.Fields{"status": "x"}, Clerk: "admin"}); err == nil {
		t.Error("update of an unknown record")
	}
	if _, err := k.srv.Central(k.ctx, "nowhere", CentralChange{RecordType: domain.TypeVisit, Op: "create", Clerk: "admin"}); err == nil {
		t.Error("central change in an unknown tenant")
	}
}

func TestExport_SortedCanonical(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	var keys []syncproto.RecordKey
	var changes []syncproto.Change
	for i := 0; i < 5; i++ {
		c, key := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann", "given_names": "Erika"})
		keys, changes = append(keys, key), append(changes, c)
		v, vkey := a.create(domain.TypeVisit, domain.Fields{"place": "Saal <1> & \"2\"", "day": ""})
		keys, changes = append(keys, vkey), append(changes, v)
	}
	changes = append(changes, a.change("delete", domain.TypePerson, changes[0].RecordID, 1, nil, nil))
	a.push(keys, changes...)
	var buf bytes.Buffer
	if err := k.srv.Export(k.ctx, tenantA, &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "Mustermann") || strings.Contains(out, "Erika") {
		t.Fatalf("export shows personal data:\n%s", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines", len(lines))
	}
	var ids []string
	for _, line := range lines {
		var r syncproto.ExportRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		syncproto.WriteExport(&again, r)
		if again.String() != line+"\n" {
			t.Errorf("not canonical:\n%s\n%s", line, again.String())
		}
		ids = append(ids, r.ID)
		switch {
		case r.ID == changes[0].RecordID:
			if !r.Deleted || r.Fields != nil || r.Sealed != nil || r.Version != 2 {
				t.Errorf("deleted record %s", line)
			}
		case r.Type == "person":
			if len(r.Sealed) != 2 || r.Fields != nil {
				t.Errorf("person %s", line)
			}
		case r.Type == "visit":
			if r.Fields["place"] != "Saal <1> & \"2\"" || len(r.Fields) != 1 || r.Sealed != nil {
				t.Errorf("visit %s", line)
			}
		}
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("export not sorted by id: %v", ids)
	}
}

func TestPull_PagesWithLimitAndMore(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	var keys []syncproto.RecordKey
	var changes []syncproto.Change
	for i := 0; i < 600; i++ { // more than two read chunks
		c, key := a.create(domain.TypeVisit, domain.Fields{"place": "Saal"})
		keys, changes = append(keys, key), append(changes, c)
	}
	a.push(keys, changes...)
	head := k.head(tenantA)
	after, pages, n := int64(0), 0, 0
	for {
		p := b.pull(after, 250)
		pages++
		for _, e := range p.entries {
			if e.Seq <= after {
				t.Fatalf("seq %d after %d", e.Seq, after)
			}
			after = e.Seq
			n++
			if len(e.Key) == 0 {
				t.Errorf("entry %d without key", e.Seq)
			}
		}
		if p.end.LastSeq != after || p.end.HeadSeq != head {
			t.Fatalf("end %+v, last %d, head %d", p.end, after, head)
		}
		if !p.end.More {
			break
		}
		if len(p.entries) != 250 {
			t.Fatalf("page of %d with more", len(p.entries))
		}
	}
	if n != 600 || pages != 3 {
		t.Fatalf("%d entries in %d pages", n, pages)
	}
	// Nothing new: an empty page that keeps the checkpoint.
	p := b.pull(after, 0)
	if len(p.entries) != 0 || p.end.LastSeq != after || p.end.More {
		t.Fatalf("empty pull %+v", p.end)
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=y"} {
		if st, _, _ := k.do("GET", "/v1/tenants/"+tenantA+"/pull?"+q, b.token, nil, nil); st != 400 {
			t.Errorf("%s: %d", q, st)
		}
	}
}

func TestOpen_MasterKey(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c, ck := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	a.push([]syncproto.RecordKey{ck}, c)
	k.ts.Close()
	k.srv.Close()
	// Reopened with its key: everything still opens.
	k.open()
	if r := k.record(tenantA, c.RecordID); r.Fields["surname"] != "Mustermann" {
		t.Fatalf("after reopening: %+v", r)
	}
	// Another key, or none: refused.
	db := k.db
	if _, err := Open(k.ctx, Config{DBPath: db, MasterKeyFile: k.dir + "/other.key"}); err == nil {
		t.Error("opened with a key file that was missing while the database has one")
	}
	other := k.dir + "/wrong.key"
	if err := writeFile(other, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(k.ctx, Config{DBPath: db, MasterKeyFile: other}); err == nil {
		t.Error("opened with the wrong master key")
	}
	if fi, err := statFile(k.dir + "/central.db.key"); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Errorf("master key file %v, %v", fi, err)
	}
}
