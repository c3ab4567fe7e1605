// Tests for dates of birth with unknown parts (issue 17): the form a
// registration office writes them in ("1985-00-00" for 00.00.1985), what they
// mean to the date rules, and the step from an MRZ's reduced precision.
package validate_test

import (
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/validate"
)

func TestParsePartialDate(t *testing.T) {
	tests := []struct {
		in          string
		first, last string // "" for an error
	}{
		{"1985-00-00", "1985-01-01", "1985-12-31"},
		{"1985-03-00", "1985-03-01", "1985-03-31"},
		{"2024-02-00", "2024-02-01", "2024-02-29"},
		{"1985-03-15", "1985-03-15", "1985-03-15"},
		{"1985-00-15", "", ""}, // a known day of an unknown month
		{"1985-13-00", "", ""},
		{"0000-00-00", "", ""},
		{"1985", "", ""}, // the MRZ's form is not a value
		{"1985-03", "", ""},
		{"198X-00-00", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		first, last, err := validate.ParsePartialDate(tt.in)
		if tt.first == "" {
			if err == nil {
				t.Errorf("%q: no error", tt.in)
			}
			continue
		}
		if err != nil || first.Format(time.DateOnly) != tt.first || last.Format(time.DateOnly) != tt.last {
			t.Errorf("%q: %s..%s %v, want %s..%s", tt.in, first.Format(time.DateOnly), last.Format(time.DateOnly), err, tt.first, tt.last)
		}
	}
}

func TestPartialDateFromISO(t *testing.T) {
	for in, want := range map[string]string{
		"1985": "1985-00-00", "1985-03": "1985-03-00", "1985-03-15": "1985-03-15",
		"1985-13": "", "85": "", "": "", "1985-00": "", "0000": "",
	} {
		got, ok := validate.PartialDateFromISO(in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	if !validate.IsPartialDate("1985-00-00") || !validate.IsPartialDate("1985-03-00") || validate.IsPartialDate("1985-03-15") || validate.IsPartialDate("1985") {
		t.Error("IsPartialDate")
	}
}

// A partial date is accepted only by a rule that says so; then it is refused
// where every day it may mean breaks the rule, and for a minimum age unless
// every day meets it. Today is 2024-06-15.
func TestDateRule_Partial(t *testing.T) {
	ctx := validate.Context{Now: now}
	birth := validate.DateRule{Partial: true, NotFuture: true, MaxAge: 130}
	tests := []struct {
		name string
		rule validate.DateRule
		in   string
		want string
	}{
		{"year only", birth, "1985-00-00", ""},
		{"year and month", birth, "1985-03-00", ""},
		{"complete date still checked", birth, "1985-02-30", validate.CodeDate},
		{"not without Partial", validate.DateRule{NotFuture: true}, "1985-00-00", validate.CodeDate},
		{"zero rule refuses it too", validate.DateRule{}, "1985-03-00", validate.CodeDate},
		{"this year is not in the future", birth, "2024-00-00", ""},
		{"this month is not in the future", birth, "2024-06-00", ""},
		{"next month is", birth, "2024-07-00", validate.CodeDateFuture},
		{"next year is", birth, "2025-00-00", validate.CodeDateFuture},
		{"130 years ago may still be plausible", birth, "1894-00-00", ""},
		{"131 years ago is not", birth, "1893-00-00", validate.CodeMaxAge},
		{"14 for sure", validate.DateRule{Partial: true, MinAge: 14}, "2009-00-00", ""},
		{"maybe 14, maybe 13", validate.DateRule{Partial: true, MinAge: 14}, "2010-00-00", validate.CodeMinAge},
		{"14 this month for sure", validate.DateRule{Partial: true, MinAge: 14}, "2010-05-00", ""},
		{"a known day", validate.DateRule{Partial: true, MinAge: 14}, "2010-06-15", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(t, tt.rule.Check(tt.in, ctx)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The catalog turns {"name": "date", "partial": true} into such a rule.
func TestRegistry_DatePartial(t *testing.T) {
	v, _ := validate.Lookup("date")
	r, err := v.Build(validate.Params{"partial": true, "not_future": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r("1985-00-00", validate.Context{Now: now}); err != nil {
		t.Errorf("partial rule: %v", err)
	}
	r, err = v.Build(validate.Params{"not_future": true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r("1985-00-00", validate.Context{Now: now}); err == nil {
		t.Error("rule without partial accepts 1985-00-00")
	}
	if _, err := v.Build(validate.Params{"partial": "yes"}); err == nil {
		t.Error("partial must be true or false")
	}
}

func FuzzPartialDate(f *testing.F) {
	for _, s := range []string{"1985-00-00", "1985-03-00", "1985-03-15", "1985-00-15", "0000-00-00", "1985", "1985-03", "2024-02-00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, last, err := validate.ParsePartialDate(s)
		noEcho(t, s, err)
		if err != nil {
			return
		}
		if last.Before(first) || first.Year() != last.Year() {
			t.Fatalf("%q: %v..%v", s, first, last)
		}
		if (first.Equal(last)) != (validate.Date(s) == nil) {
			t.Fatalf("%q: a single day must be a complete date", s)
		}
		if got, ok := validate.PartialDateFromISO(s); !ok || got != s {
			t.Fatalf("%q: PartialDateFromISO gives %q %v", s, got, ok)
		}
	})
}
