// Dates arrive as ISO 8601 calendar dates (YYYY-MM-DD); how the screen shows
// them is the UI's business. The rules here compare calendar days, not
// instants: "today" is the date of Context.Now in its own location.

package validate

import "time"

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
}

// Check applies the rule to value.
func (r DateRule) Check(value string, ctx Context) error {
	d, err := ParseDate(value)
	if err != nil {
		return err
	}
	today := civilDate(ctx.Now)
	if r.NotFuture && d.After(today) {
		return newError(CodeDateFuture)
	}
	if r.NotPast && d.Before(today) {
		return newError(CodeDatePast)
	}
	if r.MinAge > 0 && d.AddDate(r.MinAge, 0, 0).After(today) {
		return newErrorf(CodeMinAge, r.MinAge)
	}
	if r.MaxAge > 0 && d.AddDate(r.MaxAge, 0, 0).Before(today) {
		return newErrorf(CodeMaxAge, r.MaxAge)
	}
	if r.NotBefore != "" {
		if other, err := ParseDate(ctx.Values[r.NotBefore]); err == nil && d.Before(other) {
			de, en := ctx.label(r.NotBefore)
			return newErrorLang(CodeDateOrder, []any{"vor", de}, []any{"before", en})
		}
	}
	if r.NotAfter != "" {
		if other, err := ParseDate(ctx.Values[r.NotAfter]); err == nil && d.After(other) {
			de, en := ctx.label(r.NotAfter)
			return newErrorLang(CodeDateOrder, []any{"nach", de}, []any{"after", en})
		}
	}
	return nil
}
