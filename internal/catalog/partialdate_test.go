// A date of birth the ID document gives only in part (ICAO 9303-3 §4.8,
// issue 17): the person's birth-date fields take it as registration offices
// write it (00.00.1985 is "1985-00-00"), prefill turns the MRZ's "1985" into
// that, and validation and pruning keep it as it is.
package catalog_test

import (
	"testing"
	"testing/fstest"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/mrz"
	"github.com/buergerkoffer/kit/internal/validate"
)

// Every field the document's birth date fills accepts a partial date; the
// dog's birth date, which no document states, does not.
func TestPartialBirthDate_Fields(t *testing.T) {
	n := 0
	for _, s := range embedded(t).Services() {
		for _, f := range s.Fields() {
			if f.Source == "mrz.birth_date" {
				n++
				if !f.AcceptsPartialDate() {
					t.Errorf("%s.%s: no partial date of birth", s.ID, f.ID)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("%d birth-date fields with the document as source, want one per service", n)
	}
	if f, _ := service(t, "hundeanmeldung").Field("dog_birth_date"); f.AcceptsPartialDate() {
		t.Error("dog_birth_date accepts a partial date")
	}
}

func TestPartialBirthDate_Prefill(t *testing.T) {
	s := service(t, "anmeldung")
	for mrzDate, want := range map[string]string{"1985": "1985-00-00", "1985-03": "1985-03-00", "1985-03-15": "1985-03-15", "": ""} {
		got := s.Prefill(map[string]string{"birth_date": mrzDate, "surname": "ERIKSSON"})
		if got["birth_date"] != want {
			t.Errorf("MRZ %q: birth_date %q, want %q", mrzDate, got["birth_date"], want)
		}
	}
	// A field without "partial" takes no partial date.
	def := []byte(`{"id": "x", "version": 1, "law": "-", "label": {"de": "X"}, "must_sign": false, "sections": [{"id": "s", "label": {"de": "S"},
		"fields": [{"id": "b", "type": "date", "label": {"de": "B"}, "source": "mrz.birth_date", "captured_in_presence": true, "validators": [{"name": "date", "not_future": true}]}]}]}`)
	c, err := catalog.Load(fstest.MapFS{"x.json": {Data: def}})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := c.Service("x")
	if got := x.Prefill(map[string]string{"birth_date": "1985"}); len(got) != 0 {
		t.Errorf("field without partial prefilled: %v", got)
	}
	if e := x.Validate(map[string]string{"b": "1985-00-00"}, now).For("b"); e == nil || e.Code != validate.CodeDate {
		t.Errorf("field without partial: %v, want %s", e, validate.CodeDate)
	}
}

// From the document to what is stored: a passport whose holder's day and
// month of birth are unknown prefills, validates and is pruned to
// "1985-00-00", in every service.
func TestPartialBirthDate_FromDocumentToStoredValues(t *testing.T) {
	l2 := "L898902C36UTO85<<<<" + string(mrz.CheckDigit("85<<<<")) + "F1204159ZE184226B<<<<<1"
	l2 += string(mrz.CheckDigit(l2[0:10] + l2[13:20] + l2[21:43]))
	r, err := mrz.ParseAt([]string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", l2}, now)
	if err != nil || !r.Valid || r.BirthDate != "1985" {
		t.Fatalf("document: %+v %v", r, err)
	}
	for _, s := range embedded(t).Services() {
		values := s.Prefill(r.Fields())
		for _, f := range s.Fields() {
			if f.Source != "mrz.birth_date" {
				continue
			}
			if values[f.ID] != "1985-00-00" {
				t.Errorf("%s.%s prefilled %q, want 1985-00-00", s.ID, f.ID, values[f.ID])
			}
			if e := s.Validate(values, now).For(f.ID); e != nil {
				t.Errorf("%s.%s: %v", s.ID, f.ID, e)
			}
			if got := s.Prune(values)[f.ID]; got != "1985-00-00" {
				t.Errorf("%s.%s pruned to %q", s.ID, f.ID, got)
			}
		}
	}
}

// The checks of a birth date apply to every day a partial one may mean.
// Today is 2024-06-15.
func TestPartialBirthDate_Validate(t *testing.T) {
	tests := []struct {
		service, field, value, want string
	}{
		{"anmeldung", "birth_date", "1985-00-00", ""},
		{"anmeldung", "birth_date", "1985-03-00", ""},
		{"anmeldung", "birth_date", "2025-00-00", validate.CodeDateFuture},
		{"anmeldung", "birth_date", "1985-00-15", validate.CodeDate},
		{"fuehrungszeugnis", "birth_date", "2009-00-00", ""},
		{"fuehrungszeugnis", "birth_date", "2010-00-00", validate.CodeMinAge}, // 13 or 14
		{"hundeanmeldung", "owner_birth_date", "1985-00-00", ""},
		{"hundeanmeldung", "dog_birth_date", "2022-00-00", validate.CodeDate},
	}
	for _, tt := range tests {
		e := service(t, tt.service).Validate(map[string]string{tt.field: tt.value}, now).For(tt.field)
		got := ""
		if e != nil {
			got = e.Code
		}
		if got != tt.want {
			t.Errorf("%s.%s = %s: %q, want %q", tt.service, tt.field, tt.value, got, tt.want)
		}
	}
}
