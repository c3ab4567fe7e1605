package ui

import (
	"errors"
	"testing"
	"time"

	"fyne.io/fyne/v2/container"

	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/mrz"
)

// Documents of issue 17 read at the counter: a travel document that gives
// only the year of birth (ICAO 9303-3 §4.8), as refugees' travel documents
// do, and a French ID card of before 2021.

// yearOfBirthOnly is a fictitious passport of the ICAO specimen state UTO
// whose holder's day and month of birth are unknown ("85<<<<"), valid until
// 2031. Its check digits are computed, not typed.
func yearOfBirthOnly() []string {
	cd := func(s string) string { return string(mrz.CheckDigit(s)) }
	l2 := "X12345678" + cd("X12345678") + "UTO" + "85<<<<" + cd("85<<<<") + "F" + "310101" + cd("310101") + "<<<<<<<<<<<<<<" + "<"
	l2 += cd(l2[0:10] + l2[13:20] + l2[21:43])
	return []string{"P<UTOHASSAN<<AMIRA<<<<<<<<<<<<<<<<<<<<<<<<<<", l2}
}

// frenchCNI is a French ID card of before 2021 built from the published
// layout with a fictitious holder (see internal/mrz rules_test.go).
var frenchCNI = []string{"IDFRAMARTIN<<<<<<<<<<<<<<<<<<<093045", "1205930123451ANNE<<MARIE<<<6906207F1"}

// withReader starts a simulated ID reader that offers doc and makes it the
// reader of h's kit.
func withReader(h *harness, doc []string) {
	h.t.Helper()
	r, err := mrzsim.Start(h.ctx, mrzsim.Config{Documents: [][]string{doc}, Interval: 300 * time.Millisecond})
	if errors.Is(err, sim.ErrUnsupported) {
		h.t.Skip("no pseudo-terminals here:", err)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { r.Close() })
	h.k.mu.Lock()
	h.k.settings.IDReader = r.Path()
	h.k.mu.Unlock()
}

// A passport that gives only the year of birth reads as valid; the form
// shows 00.00.1985 as registration offices write it, with no error and no
// check-digit warning; the summary shows it; the sealed case and the person
// reach the town hall with "1985-00-00".
func TestReadID_YearOfBirthOnly(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	withReader(h, yearOfBirthOnly())
	ss := h.walkIn("Meldebescheinigung")

	h.tap("Ausweis lesen")
	h.waitFor("the document", func() bool { return h.value("surname") != "" })
	if got := h.value("birth_date"); got != "00.00.1985" {
		t.Errorf("birth date on the form = %q, want 00.00.1985", got)
	}
	h.waitText("Geburtsdatum laut Dokument nur teilweise bekannt: 00.00.1985")
	if msg := h.fieldError("birth_date"); msg != "" {
		t.Errorf("the form calls 00.00.1985 wrong: %q", msg)
	}
	if h.hasText("Prüfziffern stimmen nicht") || h.hasText("richtige Person") || h.hasText("abgelaufen") {
		t.Errorf("warnings for a valid document: %q", h.texts())
	}
	h.scrollToField("birth_date")
	h.shot("20-antrag-geburtsjahr")

	h.fill("kind", "einfache Meldebescheinigung")
	h.fill("street", "Hauptstraße")
	h.fill("house_number", "7")
	h.fill("postal_code", "54321")
	h.fill("city", "Oberweiler")
	h.fill("identity_checked", "true")
	h.tap("Weiter zur Übersicht")
	h.waitScreen("summary")
	h.waitText("00.00.1985")
	h.shot("21-uebersicht-geburtsjahr")

	h.tap("Angaben bestätigt")
	h.waitScreen("signoff")
	h.tap("Versiegeln und abschließen")
	h.waitScreen("day")
	h.waitText("Antrag versiegelt.")
	h.sync()
	recs, err := ss.List(h.ctx, domain.TypeCase, nil)
	if err != nil || len(recs) != 1 {
		t.Fatalf("cases %v, %v", recs, err)
	}
	rv, err := h.srv.Record(h.ctx, tenant, recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Fields["status"] != "sealed" || rv.Fields["form.birth_date"] != "1985-00-00" {
		t.Errorf("sealed case at the town hall: status %q, birth date %q", rv.Fields["status"], rv.Fields["form.birth_date"])
	}
	person, err := h.srv.Record(h.ctx, tenant, rv.Fields["person_id"])
	if err != nil {
		t.Fatal(err)
	}
	if got := person.Fields["birth_date"]; got != "1985-00-00" {
		t.Errorf("person at the town hall: birth date %q, want 1985-00-00", got)
	}
}

// A clerk types a partial date of birth as registration offices write it;
// a field that takes none (the dog's) still refuses it.
func TestForm_TypedPartialBirthDate(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.walkIn("Anmeldung eines Hundes")
	h.fill("owner_birth_date", "00.03.1985")
	if msg := h.fieldError("owner_birth_date"); msg != "" {
		t.Errorf("00.03.1985 refused: %q", msg)
	}
	h.fill("dog_birth_date", "00.00.2022")
	if msg := h.fieldError("dog_birth_date"); msg == "" {
		t.Error("the dog's birth date takes 00.00.2022")
	}
}

// A French ID card of before 2021 comes off the reader and fills the form;
// its MRZ states no expiry date, and the line about it says none.
func TestReadID_FrenchCardBefore2021(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	withReader(h, frenchCNI)
	h.walkIn("Meldebescheinigung")
	h.tap("Ausweis lesen")
	h.waitFor("the document", func() bool { return h.value("surname") != "" })
	if got := h.value("surname"); got != "MARTIN" {
		t.Errorf("surname %q", got)
	}
	if got := h.value("birth_date"); got != "20.06.1969" {
		t.Errorf("birth date %q", got)
	}
	h.waitText("Ausweis gelesen: Ausweis, Nr. 120593012345")
	if h.hasText("gültig bis") || h.hasText("Prüfziffern stimmen nicht") {
		t.Errorf("texts %q", h.texts())
	}
}

// scrollToField scrolls the form so that the field's row is in view, for a
// screenshot that shows it.
func (h *harness) scrollToField(id string) {
	h.t.Helper()
	h.do(func() {
		r := h.k.formRows[id]
		var form *container.Scroll // the tallest: the form's
		for _, o := range h.walk() {
			if s, ok := o.(*container.Scroll); ok && s.Content != nil &&
				(form == nil || s.Content.MinSize().Height > form.Content.MinSize().Height) {
				form = s
			}
		}
		if form != nil && r != nil {
			h.k.scrollTo(form, r.label)
		}
	})
}

func TestDates_PartialRoundTrip(t *testing.T) {
	for typed, iso := range map[string]string{
		"00.00.1985": "1985-00-00", "00.03.1985": "1985-03-00", "0.3.1985": "1985-03-00", "12.03.1985": "1985-03-12",
		"00.13.1985": "00.13.1985", "15.00.1985": "15.00.1985", "00.00.85": "00.00.85",
	} {
		if got := isoDate(typed); got != iso {
			t.Errorf("isoDate(%q) = %q, want %q", typed, got, iso)
		}
	}
	for iso, shown := range map[string]string{"1985-00-00": "00.00.1985", "1985-03-00": "00.03.1985", "1985-03-12": "12.03.1985", "1985": "1985"} {
		if got := germanDate(iso); got != shown {
			t.Errorf("germanDate(%q) = %q, want %q", iso, got, shown)
		}
	}
}
