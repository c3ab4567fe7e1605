package merge

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

const (
	central = syncproto.CentralDevice
	devA    = "laptop-a"
	devB    = "laptop-b"
)

// at is a hybrid logical clock reading min minutes into a field day.
func at(min int) string {
	return hlc.Timestamp{Wall: 1795433200000 + int64(min)*60_000}.String()
}

func side(change, device string, min int) Side {
	return Side{Change: change, Device: device, Clerk: "clerk@" + device, HLC: at(min)}
}

func plainField(s Side, v int64, val string) Field { return Field{Side: s, Version: v, Value: val} }
func sealedField(s Side, v int64) Field            { return Field{Side: s, Version: v, Personal: true} }

// change builds an arriving change; personal names fields without values.
func change(s Side, op, typ, id string, base int64, plain map[string]PlainChange, personal ...string) Change {
	names := append([]string(nil), personal...)
	for n := range plain {
		names = append(names, n)
	}
	sort.Strings(names)
	return Change{Side: s, RecordID: id, RecordType: typ, Op: op, Fields: names, Plain: plain, BaseVersion: base}
}

func copyRecord(r Record) Record {
	c := r
	c.Fields = map[string]Field{}
	for k, v := range r.Fields {
		c.Fields[k] = v
	}
	if r.Delete != nil {
		d := *r.Delete
		c.Delete = &d
	}
	return c
}

func mustApply(t *testing.T, cur *Record, ch Change, r Rules) Outcome {
	t.Helper()
	out, err := Apply(cur, ch, r)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := int64(1)
	if cur != nil {
		want = cur.Version + 1
	}
	if out.Record.Version != want {
		t.Fatalf("version after = %d, want %d", out.Record.Version, want)
	}
	return out
}

// The pieces of an appointment the central office booked at version 1.
var (
	booked   = side("c-book", central, 0)
	bookedAt = func() Record {
		return Record{ID: "apt-1", Type: "appointment", Version: 1, Fields: map[string]Field{
			"visit_id":  plainField(booked, 1, "visit-1"),
			"starts_at": plainField(booked, 1, "09:00"),
			"minutes":   plainField(booked, 1, "15"),
			"status":    plainField(booked, 1, "booked"),
		}}
	}
)

// set returns r with the fields changed by s at the next version.
func set(r Record, s Side, fields map[string]string) Record {
	r = copyRecord(r)
	r.Version++
	for k, v := range fields {
		if domain.IsPersonal(domain.RecordType(r.Type), k) {
			r.Fields[k] = sealedField(s, r.Version)
		} else {
			r.Fields[k] = plainField(s, r.Version, v)
		}
	}
	return r
}

func TestApply_Create(t *testing.T) {
	s := side("c-1", devA, 3)
	ch := change(s, "create", "case", "case-1", 0,
		map[string]PlainChange{"service_id": {New: "svc-pass"}, "status": {New: "draft"}}, "form.surname")
	out := mustApply(t, nil, ch, Rules{})
	rec := out.Record
	if rec.ID != "case-1" || rec.Type != "case" || rec.Deleted || rec.Delete != nil || len(out.Conflicts) != 0 {
		t.Fatalf("created %+v, conflicts %v", rec, out.Conflicts)
	}
	want := map[string]Field{
		"service_id":   plainField(s, 1, "svc-pass"),
		"status":       plainField(s, 1, "draft"),
		"form.surname": sealedField(s, 1),
	}
	if !reflect.DeepEqual(rec.Fields, want) {
		t.Errorf("fields\n got %+v\nwant %+v", rec.Fields, want)
	}
	wantState := map[string]FieldState{"service_id": {"c-1", 1}, "status": {"c-1", 1}, "form.surname": {"c-1", 1}}
	if !reflect.DeepEqual(out.State, wantState) {
		t.Errorf("state %v, want %v", out.State, wantState)
	}
}

// Two laptops change different fields of the same version: both stand.
func TestApply_CleanMerge(t *testing.T) {
	a := side("c-a", devA, 10)
	cur := set(bookedAt(), a, map[string]string{"starts_at": "10:00"}) // v2
	b := side("c-b", devB, 5)
	ch := change(b, "update", "appointment", "apt-1", 1, map[string]PlainChange{"minutes": {"15", "30"}})
	out := mustApply(t, &cur, ch, Rules{})
	if len(out.Conflicts) != 0 {
		t.Fatalf("conflicts %+v, want none", out.Conflicts)
	}
	f := out.Record.Fields
	if f["starts_at"] != plainField(a, 2, "10:00") {
		t.Errorf("laptop a's field: %+v", f["starts_at"])
	}
	if f["minutes"] != plainField(b, 3, "30") {
		t.Errorf("laptop b's field: %+v", f["minutes"])
	}
	if f["status"] != plainField(booked, 1, "booked") || f["visit_id"] != plainField(booked, 1, "visit-1") {
		t.Errorf("untouched fields changed: %+v", f)
	}
	if want := map[string]FieldState{"minutes": {"c-b", 3}}; !reflect.DeepEqual(out.State, want) {
		t.Errorf("state %v, want %v", out.State, want)
	}
}

// A device that changes the same field twice while offline bases both
// changes on the same server version: the second is no conflict.
func TestApply_SameDeviceSequential(t *testing.T) {
	for _, dev := range []string{devA, central} {
		t.Run(dev, func(t *testing.T) {
			first := side("c-1", dev, 10)
			cur := set(bookedAt(), first, map[string]string{"starts_at": "10:00"})
			second := side("c-2", dev, 5) // even with a clock that went back
			ch := change(second, "update", "appointment", "apt-1", 1, map[string]PlainChange{"starts_at": {"10:00", "11:00"}})
			out := mustApply(t, &cur, ch, Rules{})
			if len(out.Conflicts) != 0 {
				t.Fatalf("conflicts %+v, want none", out.Conflicts)
			}
			if got := out.Record.Fields["starts_at"]; got != plainField(second, 3, "11:00") {
				t.Errorf("starts_at = %+v", got)
			}
			if out.State["starts_at"] != (FieldState{"c-2", 3}) {
				t.Errorf("state %v", out.State)
			}
		})
	}
}

// conflictCase is a field changed at version 2 by side a while side b,
// based on version 1, changed it too.
type conflictCase struct {
	name            string
	cur             Record
	ch              Change
	rules           Rules
	field           string
	winner, rule    string
	aVal, bVal, old string // expected conflict values ("" for personal)
}

func inPresence(svc, field string) bool { return svc == "svc-pass" && field == "height" }

// caseWith is a draft passport case created by laptop a at version 1, then
// changed by a at version 2 (and signed at version 3 if signed).
func caseWith(a Side, field, aVal string, signed bool) Record {
	create := side("c-create", devA, 0)
	r := Record{ID: "case-1", Type: "case", Version: 1, Fields: map[string]Field{
		"service_id":   plainField(create, 1, "svc-pass"),
		"status":       plainField(create, 1, "draft"),
		"form.surname": sealedField(create, 1),
		"form.height":  sealedField(create, 1),
	}}
	r = set(r, a, map[string]string{field: aVal})
	if signed {
		r = set(r, side("c-sign", devA, 30), map[string]string{"status": "signed", "signed_at": "t", "signed_by": "k"})
	}
	return r
}

func caseChange(b Side, field, old, val string) Change {
	if domain.IsPersonal(domain.TypeCase, field) {
		return change(b, "update", "case", "case-1", 1, nil, field)
	}
	return change(b, "update", "case", "case-1", 1, map[string]PlainChange{field: {old, val}})
}

func conflictCases() []conflictCase {
	apt := func(a Side, b Side) (Record, Change) {
		cur := set(bookedAt(), a, map[string]string{"starts_at": "10:00"})
		return cur, change(b, "update", "appointment", "apt-1", 1, map[string]PlainChange{"starts_at": {"09:00", "11:00"}})
	}
	var cs []conflictCase
	add := func(c conflictCase) { cs = append(cs, c) }

	cur, ch := apt(side("c-a", devA, 10), side("c-b", devB, 20))
	add(conflictCase{name: "plain/later arriving wins", cur: cur, ch: ch, field: "starts_at",
		winner: "c-b", rule: RuleLaterHLC, aVal: "10:00", bVal: "11:00", old: "09:00"})
	cur, ch = apt(side("c-a", devA, 20), side("c-b", devB, 10))
	add(conflictCase{name: "plain/later server side wins", cur: cur, ch: ch, field: "starts_at",
		winner: "c-a", rule: RuleLaterHLC, aVal: "10:00", bVal: "11:00", old: "09:00"})
	cur, ch = apt(side("c-5", devA, 10), side("c-7", devB, 10))
	add(conflictCase{name: "plain/equal clocks, greater id arriving", cur: cur, ch: ch, field: "starts_at",
		winner: "c-7", rule: RuleLaterHLC, aVal: "10:00", bVal: "11:00", old: "09:00"})
	cur, ch = apt(side("c-7", devA, 10), side("c-5", devB, 10))
	add(conflictCase{name: "plain/equal clocks, greater id on server", cur: cur, ch: ch, field: "starts_at",
		winner: "c-7", rule: RuleLaterHLC, aVal: "10:00", bVal: "11:00", old: "09:00"})
	cur, ch = apt(side("c-a", central, 10), side("c-b", devB, 20))
	add(conflictCase{name: "plain/central is no trump outside case status", cur: cur, ch: ch, field: "starts_at",
		winner: "c-b", rule: RuleLaterHLC, aVal: "10:00", bVal: "11:00", old: "09:00"})

	// Personal values never leave their sealed changes, not even when a
	// change carries them in clear by mistake.
	person := Record{ID: "p-1", Type: "person", Version: 1, Fields: map[string]Field{
		"surname": sealedField(side("c-p", devA, 0), 1), "given_names": sealedField(side("c-p", devA, 0), 1)}}
	person = set(person, side("c-a", devA, 10), map[string]string{"surname": ""})
	pch := change(side("c-b", devB, 20), "update", "person", "p-1", 1, map[string]PlainChange{"surname": {"Meier", "Maier"}})
	add(conflictCase{name: "personal/values stay sealed", cur: person, ch: pch, field: "surname",
		winner: "c-b", rule: RuleLaterHLC})
	person2 := set(copyRecord(person), side("c-a2", devA, 30), map[string]string{"surname": ""})
	add(conflictCase{name: "personal/server side wins", cur: person2,
		ch: change(side("c-b", devB, 20), "update", "person", "p-1", 1, nil, "surname"), field: "surname",
		winner: "c-a2", rule: RuleLaterHLC})

	// Case status: the town hall decides, whatever the clocks say.
	add(conflictCase{name: "status/central on server, laptop later", cur: caseWith(side("c-a", central, 10), "status", "submitted", false),
		ch: caseChange(side("c-b", devB, 50), "status", "draft", "signed"), field: "status",
		winner: "c-a", rule: RuleCentralStatus, aVal: "submitted", bVal: "signed", old: "draft"})
	add(conflictCase{name: "status/laptop on server later, central arrives", cur: caseWith(side("c-a", devA, 50), "status", "signed", false),
		ch: caseChange(side("c-b", central, 10), "status", "draft", "submitted"), field: "status",
		winner: "c-b", rule: RuleCentralStatus, aVal: "signed", bVal: "submitted", old: "draft"})
	add(conflictCase{name: "status/two laptops: later clock", cur: caseWith(side("c-a", devA, 10), "status", "signed", false),
		ch: caseChange(side("c-b", devB, 50), "status", "draft", "signed"), field: "status",
		winner: "c-b", rule: RuleLaterHLC, aVal: "signed", bVal: "signed", old: "draft"})

	// A form field captured with the citizen present: the laptop saw them.
	pr := Rules{InPresence: inPresence}
	add(conflictCase{name: "presence/central on server later, laptop arrives", cur: caseWith(side("c-a", central, 50), "form.height", "", false),
		ch: caseChange(side("c-b", devB, 10), "form.height", "", ""), rules: pr, field: "form.height",
		winner: "c-b", rule: RulePresence})
	add(conflictCase{name: "presence/laptop on server, central arrives later", cur: caseWith(side("c-a", devA, 10), "form.height", "", false),
		ch: caseChange(side("c-b", central, 50), "form.height", "", ""), rules: pr, field: "form.height",
		winner: "c-a", rule: RulePresence})
	add(conflictCase{name: "presence/two laptops: later clock", cur: caseWith(side("c-a", devA, 50), "form.height", "", false),
		ch: caseChange(side("c-b", devB, 10), "form.height", "", ""), rules: pr, field: "form.height",
		winner: "c-a", rule: RuleLaterHLC})
	add(conflictCase{name: "presence/two laptops: later clock arriving", cur: caseWith(side("c-a", devA, 10), "form.height", "", false),
		ch: caseChange(side("c-b", devB, 50), "form.height", "", ""), rules: pr, field: "form.height",
		winner: "c-b", rule: RuleLaterHLC})
	add(conflictCase{name: "presence/field not captured in presence", cur: caseWith(side("c-a", central, 50), "form.surname", "", false),
		ch: caseChange(side("c-b", devB, 10), "form.surname", "", ""), rules: pr, field: "form.surname",
		winner: "c-a", rule: RuleLaterHLC})
	add(conflictCase{name: "presence/no catalog rules", cur: caseWith(side("c-a", central, 50), "form.height", "", false),
		ch: caseChange(side("c-b", devB, 10), "form.height", "", ""), field: "form.height",
		winner: "c-a", rule: RuleLaterHLC})

	// Signed in the meantime: the signed version stands.
	add(conflictCase{name: "signed/form field changed on both sides", cur: caseWith(side("c-a", devA, 10), "form.surname", "", true),
		ch: caseChange(side("c-b", devB, 50), "form.surname", "", ""), field: "form.surname",
		winner: "c-a", rule: RuleSignedImmutable})
	add(conflictCase{name: "signed/presence does not reopen it", cur: caseWith(side("c-a", devA, 10), "form.height", "", true),
		ch: caseChange(side("c-b", central, 50), "form.height", "", ""), rules: pr, field: "form.height",
		winner: "c-a", rule: RuleSignedImmutable})
	// The field itself is unchanged since the base, but the case was
	// signed since: the signed value (from the create) stands.
	add(conflictCase{name: "signed/form field changed on the late side only", cur: caseWith(side("c-a", devA, 10), "form.height", "", true),
		ch: caseChange(side("c-b", devB, 50), "form.surname", "", ""), field: "form.surname",
		winner: "c-create", rule: RuleSignedImmutable})
	return cs
}

func TestApply_FieldConflicts(t *testing.T) {
	for _, tc := range conflictCases() {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.cur.Fields[tc.field]
			out := mustApply(t, &tc.cur, tc.ch, tc.rules)
			if len(out.Conflicts) != 1 {
				t.Fatalf("conflicts %+v, want one", out.Conflicts)
			}
			c := out.Conflicts[0]
			want := Conflict{Field: tc.field, Kind: KindField, BaseVersion: 1, A: before.Side, B: tc.ch.Side,
				AValue: tc.aVal, BValue: tc.bVal, BaseValue: tc.old, Winner: tc.winner, Rule: tc.rule}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("conflict\n got %+v\nwant %+v", c, want)
			}
			got := out.Record.Fields[tc.field]
			v := out.Record.Version
			switch tc.winner {
			case tc.ch.Change:
				if got.Side != tc.ch.Side || got.Version != v {
					t.Errorf("winning change not applied: %+v", got)
				}
				if !got.Personal && got.Value != tc.bVal {
					t.Errorf("value %q, want %q", got.Value, tc.bVal)
				}
				if out.State[tc.field] != (FieldState{tc.ch.Change, v}) {
					t.Errorf("state %v", out.State)
				}
			default:
				// The loser's value is in the conflict, not in the record.
				if got != before {
					t.Errorf("losing change applied: %+v, want %+v", got, before)
				}
				if out.State[tc.field] != (FieldState{before.Change, before.Version}) {
					t.Errorf("state %v, want %s at %d", out.State, before.Change, before.Version)
				}
			}
			if got.Personal != domain.IsPersonal(domain.RecordType(tc.cur.Type), tc.field) || (got.Personal && got.Value != "") {
				t.Errorf("sealing of %s: %+v", tc.field, got)
			}
			for _, name := range tc.ch.Fields {
				if _, ok := out.State[name]; !ok {
					t.Errorf("state lacks %s: %v", name, out.State)
				}
			}
		})
	}
}

// A signed case's status still moves on (here: sealed by the laptop that
// signed, while the town hall had nothing to say).
func TestApply_SignedCaseStatusMovesOn(t *testing.T) {
	cur := caseWith(side("c-a", devA, 10), "form.surname", "", true)
	ch := change(side("c-seal", devA, 40), "update", "case", "case-1", 3,
		map[string]PlainChange{"status": {"signed", "sealed"}, "sealed_at": {"", "t2"}, "sealed_by": {"", "k"}})
	out := mustApply(t, &cur, ch, Rules{})
	if len(out.Conflicts) != 0 || out.Record.Fields["status"].Value != "sealed" {
		t.Fatalf("status %+v, conflicts %+v", out.Record.Fields["status"], out.Conflicts)
	}
}

func TestApply_DeleteAgainstEdit(t *testing.T) {
	edit := side("c-edit", devA, 10)
	del := side("c-del", devB, 20)

	t.Run("edit on server, delete arrives", func(t *testing.T) {
		cur := set(bookedAt(), edit, map[string]string{"starts_at": "10:00"})
		out := mustApply(t, &cur, change(del, "delete", "appointment", "apt-1", 1, nil), Rules{})
		want := []Conflict{{Field: DeletedField, Kind: KindDelete, BaseVersion: 1, A: edit, B: del,
			Winner: "c-edit", Rule: RuleEditBeatsDelete}}
		if !reflect.DeepEqual(out.Conflicts, want) {
			t.Fatalf("conflicts\n got %+v\nwant %+v", out.Conflicts, want)
		}
		if out.Record.Deleted || out.Record.Delete != nil {
			t.Errorf("record deleted although edited concurrently: %+v", out.Record)
		}
		if !reflect.DeepEqual(out.Record.Fields, cur.Fields) {
			t.Errorf("fields changed by a losing delete: %+v", out.Record.Fields)
		}
		// The deleting laptop cleared its copy: it gets every field back.
		if len(out.State) != len(cur.Fields) {
			t.Errorf("state of a losing delete names %d fields, the record has %d", len(out.State), len(cur.Fields))
		}
		for name, f := range cur.Fields {
			if out.State[name] != (FieldState{Src: f.Change, Version: f.Version}) {
				t.Errorf("state of %s after a losing delete: %+v", name, out.State[name])
			}
		}
	})

	t.Run("delete on server, edit arrives", func(t *testing.T) {
		cur := bookedAt()
		cur.Fields["minutes"] = plainField(side("c-min", devA, 2), 2, "20")
		cur.Version = 3
		d := Field{Side: del, Version: 3}
		cur.Deleted, cur.Delete = true, &d
		out := mustApply(t, &cur, change(edit, "update", "appointment", "apt-1", 2,
			map[string]PlainChange{"starts_at": {"09:00", "10:00"}}), Rules{})
		want := []Conflict{{Field: DeletedField, Kind: KindDelete, BaseVersion: 2, A: del, B: edit,
			Winner: "c-edit", Rule: RuleEditBeatsDelete}}
		if !reflect.DeepEqual(out.Conflicts, want) {
			t.Fatalf("conflicts\n got %+v\nwant %+v", out.Conflicts, want)
		}
		if out.Record.Deleted || out.Record.Delete != nil {
			t.Fatalf("record not brought back: %+v", out.Record)
		}
		if got := out.Record.Fields["starts_at"]; got != plainField(edit, 4, "10:00") {
			t.Errorf("edit not applied: %+v", got)
		}
		// Every field is listed, so a laptop that dropped the values on
		// the deletion gets them all back.
		wantState := map[string]FieldState{"starts_at": {"c-edit", 4}, "minutes": {"c-min", 2},
			"status": {"c-book", 1}, "visit_id": {"c-book", 1}}
		if !reflect.DeepEqual(out.State, wantState) {
			t.Errorf("state\n got %v\nwant %v", out.State, wantState)
		}
	})
}

func TestApply_Delete(t *testing.T) {
	for _, tc := range []struct {
		name string
		cur  Record
	}{
		{"untouched since base", set(bookedAt(), side("c-x", devA, 5), map[string]string{"minutes": "20"})},
		{"changed since base by the deleting device", set(bookedAt(), side("c-x", devB, 5), map[string]string{"minutes": "20"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			del := side("c-del", devB, 20)
			base := tc.cur.Version
			if tc.cur.Fields["minutes"].Device == devB {
				base = 1
			}
			out := mustApply(t, &tc.cur, change(del, "delete", "appointment", "apt-1", base, nil), Rules{})
			if len(out.Conflicts) != 0 {
				t.Fatalf("conflicts %+v", out.Conflicts)
			}
			if !out.Record.Deleted || out.Record.Delete == nil || *out.Record.Delete != (Field{Side: del, Version: 3}) {
				t.Fatalf("not deleted: %+v", out.Record)
			}
			// The sources stay, so that a late edit can bring it back as it was.
			if !reflect.DeepEqual(out.Record.Fields, tc.cur.Fields) {
				t.Errorf("fields %+v", out.Record.Fields)
			}
		})
	}
}

// Two devices delete the same record: nothing to disagree about.
func TestApply_DeletedTwice(t *testing.T) {
	first := Field{Side: side("c-del1", devA, 10), Version: 2}
	cur := set(bookedAt(), first.Side, nil)
	cur.Deleted, cur.Delete = true, &first
	out := mustApply(t, &cur, change(side("c-del2", devB, 20), "delete", "appointment", "apt-1", 1, nil), Rules{})
	if len(out.Conflicts) != 0 || !out.Record.Deleted || out.Record.Delete == nil || *out.Record.Delete != first {
		t.Fatalf("record %+v, conflicts %+v", out.Record, out.Conflicts)
	}
}

func TestApply_Errors(t *testing.T) {
	apt := bookedAt()
	deleted := set(bookedAt(), side("c-x", devA, 5), nil)
	d := Field{Side: side("c-del", devA, 5), Version: 2}
	deleted.Deleted, deleted.Delete = true, &d
	sameDevDeleted := copyRecord(deleted)
	sameDevDeleted.Delete.Device = devB
	upd := func(base int64) Change {
		return change(side("c-u", devB, 9), "update", "appointment", "apt-1", base, map[string]PlainChange{"minutes": {"15", "30"}})
	}
	bad := func(mod func(*Change)) Change { c := upd(1); mod(&c); return c }

	for _, tc := range []struct {
		name string
		cur  *Record
		ch   Change
		want error
	}{
		{"update of unknown record", nil, upd(1), ErrUnknownRecord},
		{"delete of unknown record", nil, change(side("c-d", devB, 9), "delete", "appointment", "apt-1", 1, nil), ErrUnknownRecord},
		{"create of existing record", &apt, change(side("c-c", devB, 9), "create", "appointment", "apt-1", 0,
			map[string]PlainChange{"minutes": {"", "30"}}), ErrExists},
		{"edit of record deleted at its base", &deleted, upd(2), ErrDeleted},
		{"edit of record deleted after its base by the same device", &sameDevDeleted, upd(1), ErrDeleted},
		{"bad op", &apt, bad(func(c *Change) { c.Op = "upsert" }), ErrBadChange},
		{"empty op", &apt, bad(func(c *Change) { c.Op = "" }), ErrBadChange},
		{"unknown type", &apt, bad(func(c *Change) { c.RecordType = "invoice" }), ErrBadChange},
		{"unknown type on create", nil, func() Change {
			c := upd(0)
			c.Op, c.RecordType = "create", "invoice"
			return c
		}(), ErrBadChange},
		{"type differs from record", &apt, bad(func(c *Change) { c.RecordType = "visit"; c.Fields = nil }), ErrBadChange},
		{"plain field without values", &apt, bad(func(c *Change) { c.Fields = append(c.Fields, "starts_at") }), ErrBadChange},
		{"plain field without values on create", nil, func() Change {
			c := upd(0)
			c.Op, c.Plain = "create", nil
			return c
		}(), ErrBadChange},
		{"no change id", &apt, bad(func(c *Change) { c.Change = "" }), ErrBadChange},
		{"no device", &apt, bad(func(c *Change) { c.Device = "" }), ErrBadChange},
		{"no clock", &apt, bad(func(c *Change) { c.HLC = "" }), ErrBadChange},
		{"no record id", &apt, bad(func(c *Change) { c.RecordID = "" }), ErrBadChange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Apply(tc.cur, tc.ch, Rules{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !reflect.DeepEqual(out, Outcome{}) {
				t.Errorf("outcome with an error: %+v", out)
			}
		})
	}
}

// scenarios are all inputs of the tests above that succeed.
func scenarios() []struct {
	name  string
	cur   *Record
	ch    Change
	rules Rules
} {
	type sc = struct {
		name  string
		cur   *Record
		ch    Change
		rules Rules
	}
	var out []sc
	for _, c := range conflictCases() {
		cur := c.cur
		out = append(out, sc{c.name, &cur, c.ch, c.rules})
	}
	edit, del := side("c-edit", devA, 10), side("c-del", devB, 20)
	edited := set(bookedAt(), edit, map[string]string{"starts_at": "10:00"})
	out = append(out, sc{"edit beats delete", &edited, change(del, "delete", "appointment", "apt-1", 1, nil), Rules{}})
	gone := set(bookedAt(), del, nil)
	d := Field{Side: del, Version: 2}
	gone.Deleted, gone.Delete = true, &d
	out = append(out, sc{"revive", &gone, change(edit, "update", "appointment", "apt-1", 1,
		map[string]PlainChange{"starts_at": {"09:00", "10:00"}}), Rules{}})
	twice := copyRecord(gone)
	out = append(out, sc{"deleted twice", &twice, change(side("c-del2", devA, 30), "delete", "appointment", "apt-1", 1, nil), Rules{}})
	out = append(out, sc{"create", nil, change(edit, "create", "appointment", "apt-2", 0,
		map[string]PlainChange{"starts_at": {"", "10:00"}}), Rules{}})
	return out
}

func TestApply_DoesNotModifyItsInput(t *testing.T) {
	for _, s := range scenarios() {
		if s.cur == nil {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			before := copyRecord(*s.cur)
			out := mustApply(t, s.cur, s.ch, s.rules)
			if !reflect.DeepEqual(*s.cur, before) {
				t.Fatalf("input record modified:\n got %+v\nwant %+v", *s.cur, before)
			}
			// Nor does the outcome share memory with it.
			for k := range out.Record.Fields {
				out.Record.Fields[k] = Field{}
			}
			out.Record.Fields["new"] = Field{}
			if out.Record.Delete != nil {
				out.Record.Delete.Change = "scribbled"
			}
			if !reflect.DeepEqual(*s.cur, before) {
				t.Fatalf("outcome aliases the input record")
			}
		})
	}
}

func TestApply_Deterministic(t *testing.T) {
	for _, s := range scenarios() {
		t.Run(s.name, func(t *testing.T) {
			var cur1, cur2 *Record
			if s.cur != nil {
				c1, c2 := copyRecord(*s.cur), copyRecord(*s.cur)
				cur1, cur2 = &c1, &c2
			}
			out1, err1 := Apply(cur1, s.ch, s.rules)
			out2, err2 := Apply(cur2, s.ch, s.rules)
			if err1 != nil || err2 != nil {
				t.Fatalf("errors %v, %v", err1, err2)
			}
			if !reflect.DeepEqual(out1, out2) {
				t.Fatalf("two answers:\n%+v\n%+v", out1, out2)
			}
		})
	}
}

// gen draws choices from fuzz bytes; past their end it answers 0.
type gen struct {
	b []byte
	i int
}

func (g *gen) n(k int) int {
	if g.i >= len(g.b) {
		return 0
	}
	v := int(g.b[g.i]) % k
	g.i++
	return v
}

var fuzzFields = map[string][]string{
	"case":        {"status", "service_id", "form.surname", "form.height", "signed_at", "attachment.signature_png"},
	"appointment": {"starts_at", "minutes", "status"},
	"person":      {"surname", "given_names"},
	"visit":       {"place", "day"},
	"conflict":    {"winner", "status"},
	"invoice":     {"amount"},
}

var (
	fuzzTypes   = []string{"case", "appointment", "person", "visit", "conflict", "invoice"}
	fuzzDevices = []string{central, devA, devB}
	fuzzValues  = []string{"", "draft", "signed", "sealed", "submitted", "svc-pass", "x"}
	fuzzOps     = []string{"update", "update", "create", "delete", "merge"}
)

func (g *gen) side() Side {
	return Side{Change: fmt.Sprintf("c-%d", g.n(12)), Device: fuzzDevices[g.n(len(fuzzDevices))], Clerk: "k", HLC: at(g.n(8))}
}

func (g *gen) record() *Record {
	if g.n(5) == 0 {
		return nil
	}
	typ := fuzzTypes[g.n(len(fuzzTypes)-1)] // records are of known types
	r := &Record{ID: "r-1", Type: typ, Version: int64(1 + g.n(8)), Fields: map[string]Field{}}
	for _, name := range fuzzFields[typ] {
		if g.n(4) == 0 {
			continue
		}
		f := Field{Side: g.side(), Version: int64(1 + g.n(int(r.Version))),
			Personal: domain.IsPersonal(domain.RecordType(typ), name)}
		if !f.Personal {
			f.Value = fuzzValues[g.n(len(fuzzValues))]
		}
		r.Fields[name] = f
	}
	if g.n(4) == 0 {
		r.Deleted = true
		if g.n(6) > 0 {
			r.Delete = &Field{Side: g.side(), Version: int64(1 + g.n(int(r.Version)))}
		}
	}
	return r
}

func (g *gen) change(cur *Record) Change {
	ch := Change{Side: g.side(), RecordID: "r-1", Op: fuzzOps[g.n(len(fuzzOps))]}
	if g.n(4) > 0 {
		ch.Change = fmt.Sprintf("n-%d", g.n(12)) // mostly not a change the record names
	}
	if cur != nil && g.n(8) > 0 {
		ch.RecordType = cur.Type
		ch.BaseVersion = int64(g.n(int(cur.Version) + 1))
	} else {
		ch.RecordType = fuzzTypes[g.n(len(fuzzTypes))]
	}
	if ch.Op == "delete" && g.n(4) > 0 {
		return ch // as laptops send them: naming no fields
	}
	ch.Plain = map[string]PlainChange{}
	for _, name := range fuzzFields[ch.RecordType] {
		if g.n(2) == 0 {
			continue
		}
		ch.Fields = append(ch.Fields, name)
		if !domain.IsPersonal(domain.RecordType(ch.RecordType), name) && g.n(10) > 0 {
			ch.Plain[name] = PlainChange{fuzzValues[g.n(len(fuzzValues))], fuzzValues[g.n(len(fuzzValues))]}
		}
	}
	return ch
}

func FuzzApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 0, 5, 1, 3, 1, 2, 1, 1, 1, 7, 2, 0, 1, 3, 0, 4, 1, 1, 0, 0, 0, 2, 1})
	f.Add([]byte{4, 1, 3, 2, 5, 1, 0, 2, 3, 3, 1, 2, 1, 6, 0, 1, 2, 1, 1, 1, 0, 1, 3, 1, 1, 1, 0, 2, 1})
	f.Add([]byte{2, 0, 7, 3, 4, 2, 1, 6, 1, 1, 9, 0, 3, 2, 5, 2, 0, 3, 3, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1})
	f.Add([]byte{3, 2, 4, 1, 2, 0, 3, 1, 1, 2, 2, 1, 0, 0, 3, 1, 1, 0, 5, 1, 2, 1})
	f.Add([]byte("the town hall and two laptops, all offline at once"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{b: data}
		cur := g.record()
		ch := g.change(cur)
		var rules Rules
		if g.n(2) == 0 {
			rules.InPresence = func(svc, field string) bool { return field == "height" || svc == "x" }
		}
		var before Record
		if cur != nil {
			before = copyRecord(*cur)
		}

		out, err := Apply(cur, ch, rules)
		if cur != nil && !reflect.DeepEqual(*cur, before) {
			t.Fatalf("input record modified")
		}
		if err != nil {
			if !errors.Is(err, ErrUnknownRecord) && !errors.Is(err, ErrExists) && !errors.Is(err, ErrDeleted) &&
				!errors.Is(err, ErrBadChange) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		want := int64(1)
		if cur != nil {
			want = cur.Version + 1
		}
		if out.Record.Version != want {
			t.Fatalf("version %d after %+v, want %d", out.Record.Version, cur, want)
		}
		// A delete names no fields as laptops send it. If one does, a
		// delete that lost to an edit has no state for a field the
		// record never had (nothing set it); every other outcome has.
		lostDelete := ch.Op == "delete" && len(out.Conflicts) > 0
		for _, name := range ch.Fields {
			if _, had := out.Record.Fields[name]; lostDelete && !had {
				continue
			}
			if _, ok := out.State[name]; !ok {
				t.Fatalf("state lacks %q: %v\ncur %+v\nch %+v", name, out.State, cur, ch)
			}
		}
		for _, c := range out.Conflicts {
			if c.Winner != c.A.Change && c.Winner != c.B.Change {
				t.Fatalf("winner %q is neither side: %+v", c.Winner, c)
			}
		}
		if cur != nil {
			again, err := Apply(cur, ch, rules)
			if err != nil || !reflect.DeepEqual(out, again) {
				t.Fatalf("second answer differs: %+v, %v", again, err)
			}
		}
	})
}
