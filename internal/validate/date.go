// Dates arrive as ISO 8601 calendar dates (YYYY-MM-DD); how the screen shows
// them is the UI's business. The rules here compare calendar days, not
// instants: "today" is the date of Context.Now in its own location.
//
// A date of birth may be partly unknown: travel documents of refugees and
// some foreign ID cards give only the year, or the year and month (ICAO 9303-3
// §4.8). Registration offices write the unknown parts as zeros ("00.00.1985",
// "00.03.1985"); the value is then "1985-00-00" or "1985-03-00". Only a date
// rule with Partial set accepts such a value.

package validate

import (
	"strconv"
	"time"
)

// dateLayout is the only form of a date value.
const dateLayout = "2006-01-02"

// ParseDate parses a date value of the form YYYY-MM-DD that names a real
// calendar day (no 30 February). The result is midnight UTC of that day.
func ParseDate(value string) (time.Time, error) {
	if len(value) != len(dateLayout) {
		return time.Time{}, newError(CodeDate)
	}
	t, err := time.Parse(dateLayout, value)
	if err != nil {
		return time.Time{}, newError(CodeDate)
	}
	return t, nil
}

// Date checks that value is a real calendar date of the form YYYY-MM-DD.
func Date(value string) error {
	_, err := ParseDate(value)
	return err
}

// ParsePartialDate parses a date value whose day, or day and month, may be
// unknown ("1985-03-00", "1985-00-00"), or a complete date. It returns the
// first and the last day the value may mean (the same day for a complete
// date). A known day of an unknown month ("1985-00-15") and year 0000 are
// not dates.
func ParsePartialDate(value string) (first, last time.Time, err error) {
	if len(value) != len(dateLayout) || value[4] != '-' || value[7] != '-' {
		return time.Time{}, time.Time{}, newError(CodeDate)
	}
	switch {
	case value[5:] == "00-00":
		y, ok := year(value[:4])
		if !ok {
			return time.Time{}, time.Time{}, newError(CodeDate)
		}
		first = time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC)
		return first, first.AddDate(1, 0, -1), nil
	case value[8:] == "00":
		t, err := time.Parse("2006-01", value[:7])
		if err != nil || t.Year() == 0 {
			return time.Time{}, time.Time{}, newError(CodeDate)
		}
		return t, t.AddDate(0, 1, -1), nil
	}
	d, err := ParseDate(value)
	return d, d, err
}

// IsPartialDate reports whether value is a date of which only the year, or
// the year and month, are known ("1985-00-00", "1985-03-00").
func IsPartialDate(value string) bool {
	_, _, err := ParsePartialDate(value)
	return err == nil && len(value) == len(dateLayout) && value[8:] == "00"
}

// PartialDateFromISO turns a date of reduced precision as ISO 8601 writes it,
// "1985" or "1985-03" (as package mrz reports a date of birth with unknown
// parts), into a date value: "1985-00-00", "1985-03-00". A complete date
// stays as it is. ok is false for anything else.
func PartialDateFromISO(v string) (string, bool) {
	switch len(v) {
	case 4:
		v += "-00-00"
	case 7:
		if v[5:] == "00" {
			return "", false
		}
		v += "-00"
	}
	if _, _, err := ParsePartialDate(v); err != nil {
		return "", false
	}
	return v, true
}

// year parses four digits, 0001 to 9999.
func year(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	for i := 0; i < 4; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	y, _ := strconv.Atoi(s)
	return y, y > 0
}

// civilDate returns midnight UTC of t's calendar date in t's location, so
// that it compares with the results of ParseDate.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// DateRule is a date check with options. The zero DateRule checks the
// format only.
type DateRule struct {
	// NotFuture refuses dates after today (birth dates, move-in dates).
	NotFuture bool
	// NotPast refuses dates before today (the expiry of a document shown).
	NotPast bool
	// MinAge, if set, refuses birth dates less than MinAge years before
	// today. Someone born on 29 February comes of age on 1 March in years
	// without that day (§ 188 Abs. 3 BGB).
	MinAge int
	// MaxAge, if set, refuses dates more than MaxAge years before today,
	// which catches typing errors such as 1874 for 1974.
	MaxAge int
	// NotBefore and NotAfter name other date fields of the same application
	// this date must not precede or follow (expiry not before issue). An
	// empty or malformed other date is not compared; its own checks report it.
	NotBefore string
	NotAfter  string
	// Partial accepts a date of birth whose day, or day and month, are
	// unknown ("1985-00-00", "1985-03-00"). Such a date stands for every day
	// it may mean: it is refused where all of them break a rule (a year of
	// birth still to come, too long ago), except for MinAge, which every
	// one of them must meet (the law asks for the age, not a chance of it).
	Partial bool
}

// Check applies the rule to value.
func (r DateRule) Check(value string, ctx Context) error {
	first, last, err := ParsePartialDate(value)
	if !r.Partial || err != nil {
		first, err = ParseDate(value)
		last = first
	}
	if err != nil {
		return err
	}
	today := civilDate(ctx.Now)
	if r.NotFuture && first.After(today) {
		return newError(CodeDateFuture)
	}
	if r.NotPast && last.Before(today) {
		return newError(CodeDatePast)
	}
	if r.MinAge > 0 && last.AddDate(r.MinAge, 0, 0).After(today) {
		return newErrorf(CodeMinAge, r.MinAge)
	}
	if r.MaxAge > 0 && last.AddDate(r.MaxAge, 0, 0).Before(today) {
		return newErrorf(CodeMaxAge, r.MaxAge)
	}
	if r.NotBefore != "" {
		if other, err := ParseDate(ctx.Values[r.NotBefore]); err == nil && last.Before(other) {
			de, en := ctx.label(r.NotBefore)
			return newErrorLang(CodeDateOrder, []any{"vor", de}, []any{"before", en})
		}
	}
	if r.NotAfter != "" {
		if other, err := ParseDate(ctx.Values[r.NotAfter]); err == nil && first.After(other) {
			de, en := ctx.label(r.NotAfter)
			return newErrorLang(CodeDateOrder, []any{"nach", de}, []any{"after", en})
		}
	}
	return nil
}
