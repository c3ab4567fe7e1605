package validate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/validate"
)

var berlin = mustLocation("Europe/Berlin")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CEST", 2*3600)
	}
	return loc
}

// now is the moment of the clerk's appointment in these tests.
var now = time.Date(2024, 6, 15, 12, 0, 0, 0, berlin)

func TestDate_Format(t *testing.T) {
	check(t, validate.Date, []testCase{
		{"2024-02-29", ""}, // leap day
		{"1964-08-12", ""},
		{"2023-02-29", validate.CodeDate},
		{"2024-04-31", validate.CodeDate},
		{"2024-13-01", validate.CodeDate},
		{"24-01-01", validate.CodeDate},
		{"2024-1-01", validate.CodeDate},
		{"01.02.2024", validate.CodeDate},
		{"2024-01-01T00:00", validate.CodeDate},
		{" 2024-01-01", validate.CodeDate},
		{"", validate.CodeDate},
	})
}

func TestDateRule(t *testing.T) {
	ctx := validate.Context{Now: now}
	tests := []struct {
		name string
		rule validate.DateRule
		in   string
		want string
	}{
		{"today is not in the future", validate.DateRule{NotFuture: true}, "2024-06-15", ""},
		{"tomorrow is in the future", validate.DateRule{NotFuture: true}, "2024-06-16", validate.CodeDateFuture},
		{"future allowed without the option", validate.DateRule{}, "2030-01-01", ""},
		{"today is not in the past", validate.DateRule{NotPast: true}, "2024-06-15", ""},
		{"yesterday is in the past", validate.DateRule{NotPast: true}, "2024-06-14", validate.CodeDatePast},
		{"14th birthday today", validate.DateRule{MinAge: 14}, "2010-06-15", ""},
		{"14th birthday tomorrow", validate.DateRule{MinAge: 14}, "2010-06-16", validate.CodeMinAge},
		{"plausible birth date", validate.DateRule{MaxAge: 130}, "1900-01-01", ""},
		{"implausible birth date", validate.DateRule{MaxAge: 130}, "1890-01-01", validate.CodeMaxAge},
		{"format first", validate.DateRule{NotFuture: true}, "2024-02-30", validate.CodeDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(t, tt.rule.Check(tt.in, ctx)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// "Today" is the clerk's calendar day, not UTC's: at 01:30 in Berlin on the
// 16th, the 16th is not in the future even though it is still the 15th in UTC.
func TestDateRule_TodayIsInNowsLocation(t *testing.T) {
	lateNight := time.Date(2024, 6, 15, 23, 30, 0, 0, time.UTC).In(berlin)
	ctx := validate.Context{Now: lateNight}
	if err := (validate.DateRule{NotFuture: true}).Check("2024-06-16", ctx); err != nil {
		t.Errorf("got %v, want the clerk's today accepted", err)
	}
}

// Someone born on 29 February turns 14 on 1 March in a year without that day.
func TestDateRule_MinAgeLeapDay(t *testing.T) {
	r := validate.DateRule{MinAge: 14}
	feb28 := validate.Context{Now: time.Date(2022, 2, 28, 10, 0, 0, 0, berlin)}
	mar1 := validate.Context{Now: time.Date(2022, 3, 1, 10, 0, 0, 0, berlin)}
	if got, want := code(t, r.Check("2008-02-29", feb28)), validate.CodeMinAge; got != want {
		t.Errorf("on 28 Feb: got %q, want %q", got, want)
	}
	if got := code(t, r.Check("2008-02-29", mar1)); got != "" {
		t.Errorf("on 1 Mar: got %q, want accepted", got)
	}
}

func TestDateRule_MinAgeMessage(t *testing.T) {
	err := validate.DateRule{MinAge: 14}.Check("2015-01-01", validate.Context{Now: now})
	e, _ := err.(*validate.Error)
	if e == nil || e.DE != "Die Person muss mindestens 14 Jahre alt sein." {
		t.Errorf("got %v, want the German minimum-age message", err)
	}
}

func TestDateRule_NotBeforeOtherField(t *testing.T) {
	r := validate.DateRule{NotBefore: "id_issue_date"}
	label := func(field string) (string, string) {
		if field == "id_issue_date" {
			return "Ausstellungsdatum", "Date of issue"
		}
		return "", ""
	}
	ctx := func(issue string) validate.Context {
		return validate.Context{Now: now, Values: map[string]string{"id_issue_date": issue}, Label: label}
	}
	err := r.Check("2020-04-30", ctx("2020-05-01"))
	if got, want := code(t, err), validate.CodeDateOrder; got != want {
		t.Fatalf("expiry before issue: got %q, want %q", got, want)
	}
	e := err.(*validate.Error)
	if !strings.Contains(e.DE, "vor dem Datum im Feld „Ausstellungsdatum“") {
		t.Errorf("German message %q does not name the other field", e.DE)
	}
	if !strings.Contains(e.EN, "before the date in the field “Date of issue”") {
		t.Errorf("English message %q does not name the other field", e.EN)
	}
	if got := code(t, r.Check("2020-05-01", ctx("2020-05-01"))); got != "" {
		t.Errorf("same day: got %q, want accepted", got)
	}
	if got := code(t, r.Check("2020-04-30", ctx(""))); got != "" {
		t.Errorf("issue date missing: got %q, want no comparison", got)
	}
	if got := code(t, r.Check("2020-04-30", ctx("kaputt"))); got != "" {
		t.Errorf("issue date malformed: got %q, want no comparison", got)
	}
}

func TestDateRule_NotAfterOtherField(t *testing.T) {
	r := validate.DateRule{NotAfter: "move_in_date"}
	ctx := validate.Context{Now: now, Values: map[string]string{"move_in_date": "2024-06-01"}}
	err := r.Check("2024-06-02", ctx)
	if got, want := code(t, err), validate.CodeDateOrder; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Without a Label function the message falls back to the field id.
	if e := err.(*validate.Error); !strings.Contains(e.DE, "nach dem Datum im Feld „move_in_date“") {
		t.Errorf("got %q", e.DE)
	}
}
