package validate_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/buergerkoffer/kit/internal/validate"
)

func TestLookup(t *testing.T) {
	for _, name := range []string{"postal_code", "date", "steuer_id", "iban", "microchip", "plate", "email", "phone", "nationalities", "document_number", "range"} {
		v, ok := validate.Lookup(name)
		if !ok || v.Name != name {
			t.Errorf("Lookup(%q) = %v, %v", name, v, ok)
		}
	}
	if _, ok := validate.Lookup("plz"); ok {
		t.Error(`Lookup("plz") found a validator`)
	}
	if got := validate.Names(); !slices.IsSorted(got) || !slices.Contains(got, "steuer_id") {
		t.Errorf("Names() = %v", got)
	}
}

func build(t *testing.T, name string, p validate.Params) (validate.Rule, error) {
	t.Helper()
	v, ok := validate.Lookup(name)
	if !ok {
		t.Fatalf("no validator %q", name)
	}
	return v.Build(p)
}

func TestBuild_DateFromJSONParams(t *testing.T) {
	// encoding/json gives float64 for numbers.
	r, err := build(t, "date", validate.Params{"not_future": true, "min_age": float64(14)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := validate.Context{Now: now}
	if got, want := code(t, r("2024-06-16", ctx)), validate.CodeDateFuture; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := code(t, r("2012-01-01", ctx)), validate.CodeMinAge; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := code(t, r("1990-01-01", ctx)); got != "" {
		t.Errorf("got %q, want accepted", got)
	}
}

func TestBuild_SimpleValidator(t *testing.T) {
	r, err := build(t, "postal_code", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := code(t, r("1067", validate.Context{})), validate.CodePostalCode; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBuild_BadParams(t *testing.T) {
	tests := []struct {
		name      string
		validator string
		params    validate.Params
		want      error
	}{
		{"unknown parameter", "date", validate.Params{"not_in_future": true}, validate.ErrUnknownParam},
		{"parameter on a validator without any", "iban", validate.Params{"country": "DE"}, validate.ErrUnknownParam},
		{"string for bool", "date", validate.Params{"not_future": "yes"}, validate.ErrParamType},
		{"fraction for whole number", "date", validate.Params{"min_age": 14.5}, validate.ErrParamType},
		{"negative whole number", "date", validate.Params{"min_age": float64(-1)}, validate.ErrParamType},
		{"empty field reference", "date", validate.Params{"not_before": ""}, validate.ErrParamType},
		{"only today left", "date", validate.Params{"not_future": true, "not_past": true}, validate.ErrParamValue},
		{"min above max age", "date", validate.Params{"min_age": float64(20), "max_age": float64(10)}, validate.ErrParamValue},
		{"range without bounds", "range", nil, validate.ErrParamValue},
		{"range min above max", "range", validate.Params{"min": float64(5), "max": float64(1)}, validate.ErrParamValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(t, tt.validator, tt.params)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidator_FieldParams(t *testing.T) {
	v, _ := validate.Lookup("date")
	got := v.FieldParams(validate.Params{"not_future": true, "not_before": "id_issue_date", "not_after": "x"})
	// Sorted by parameter name: not_after, then not_before.
	if want := []string{"x", "id_issue_date"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestValidator_Normalize(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"iban":            {"de89 3704 0044 0532 0130 00", "DE89370400440532013000"},
		"steuer_id":       {"36 574 261 809", "36574261809"},
		"plate":           {"m x 1e", "M-X 1E"},
		"microchip":       {"276 098 106 235 196", "276098106235196"},
		"nationalities":   {"d,aut", "D, AUT"},
		"document_number": {" t22000129 ", "T22000129"},
	} {
		v, _ := validate.Lookup(name)
		if v.Normalize == nil {
			t.Errorf("%s: no Normalize", name)
			continue
		}
		if got := v.Normalize(c.in); got != c.want {
			t.Errorf("%s: Normalize(%q) = %q, want %q", name, c.in, got, c.want)
		}
	}
}
