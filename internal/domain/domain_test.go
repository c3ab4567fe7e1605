package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
)

func TestStatus_Transitions(t *testing.T) {
	allowed := [][2]domain.Status{
		{domain.StatusDraft, domain.StatusSigned},
		{domain.StatusSigned, domain.StatusSealed},
		{domain.StatusSigned, domain.StatusDraft},
		{domain.StatusSealed, domain.StatusSubmitted},
		{domain.StatusSubmitted, domain.StatusAccepted},
		{domain.StatusSubmitted, domain.StatusRejected},
		{domain.StatusSubmitted, domain.StatusNeedsInfo},
		{domain.StatusNeedsInfo, domain.StatusSubmitted},
	}
	for _, tr := range allowed {
		if err := tr[0].Transition(tr[1]); err != nil {
			t.Errorf("%s → %s: %v", tr[0], tr[1], err)
		}
	}
	forbidden := [][2]domain.Status{
		{domain.StatusDraft, domain.StatusSealed},      // never sealed unsigned
		{domain.StatusDraft, domain.StatusSubmitted},   // never submitted unsealed
		{domain.StatusSealed, domain.StatusDraft},      // sealed is final on the laptop
		{domain.StatusAccepted, domain.StatusRejected}, // decisions are final
		{domain.StatusDraft, "bogus"},
	}
	for _, tr := range forbidden {
		if err := tr[0].Transition(tr[1]); !errors.Is(err, domain.ErrTransition) {
			t.Errorf("%s → %s: got %v, want ErrTransition", tr[0], tr[1], err)
		}
	}
	if domain.StatusDraft.Immutable() || !domain.StatusSigned.Immutable() {
		t.Error("only drafts are mutable")
	}
}

func TestNewID_IsTimeOrderedUUIDv7(t *testing.T) {
	a, b := domain.NewID(), domain.NewID()
	if !domain.ValidID(a) || a[14] != '7' {
		t.Fatalf("%q is not a UUIDv7", a)
	}
	if !(a < b) {
		t.Fatalf("ids not ordered: %s then %s", a, b)
	}
}

func TestCase_FieldsRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 15, 0, 123000000, time.UTC)
	c := domain.Case{ID: domain.NewID(), ServiceID: "anmeldung", PersonID: "p", VisitID: "v",
		Status: domain.StatusSigned, Form: domain.Fields{"surname": "Mustermann", "postal_code": "12345"},
		CreatedBy: "clerk", CreatedAt: now, SignedAt: now.Add(time.Minute)}
	f := c.Fields()
	if f["form.surname"] != "Mustermann" {
		t.Fatalf("form field not prefixed: %v", f)
	}
	plain, personal := domain.Split(domain.TypeCase, f)
	if _, ok := plain["form.surname"]; ok {
		t.Error("form data classified as plain")
	}
	if plain["status"] != "signed" || personal["form.postal_code"] != "12345" {
		t.Errorf("split wrong: plain=%v personal=%v", plain, personal)
	}
	got, err := domain.CaseFromFields(c.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Form["surname"] != "Mustermann" || !got.SignedAt.Equal(c.SignedAt) || got.Status != c.Status {
		t.Errorf("round trip: got %+v", got)
	}
}

func TestPerson_AllFieldsPersonal(t *testing.T) {
	for name := range (domain.Person{}).Fields() {
		if !domain.IsPersonal(domain.TypePerson, name) {
			t.Errorf("person field %q stored in clear", name)
		}
	}
	for _, name := range []string{"citizen_name", "citizen_phone", "note"} {
		if !domain.IsPersonal(domain.TypeAppointment, name) {
			t.Errorf("appointment field %q stored in clear", name)
		}
	}
}
