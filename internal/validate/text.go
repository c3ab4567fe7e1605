// Checks of the plain kinds of value that every form has (text, numbers,
// yes/no) and of a few identifiers with a simple shape (e-mail address,
// phone number, nationality codes, document numbers).

package validate

import (
	"math"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NewError returns the *Error for a code of this package with its German and
// English message, for callers that make the check themselves (a mandatory
// field left empty, a value that is not among a selection's options). Codes
// whose messages need arguments (CodeTooLong, CodeRange, …) are made by the
// checks of this package only.
func NewError(code string) *Error { return newError(code) }

// Line checks a one-line text: no control characters, at most max characters.
func Line(value string, max int) error {
	for _, r := range value {
		if unicode.IsControl(r) {
			return newError(CodeText)
		}
	}
	if utf8.RuneCountInString(value) > max {
		return newErrorf(CodeTooLong, max)
	}
	return nil
}

// Paragraph checks a text of several lines: line breaks and tabs are
// allowed, other control characters are not; at most max characters.
func Paragraph(value string, max int) error {
	for _, r := range value {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return newError(CodeText)
		}
	}
	if utf8.RuneCountInString(value) > max {
		return newErrorf(CodeTooLong, max)
	}
	return nil
}

// Bool checks a yes/no value: "true" or "false".
func Bool(value string) error {
	if value != "true" && value != "false" {
		return newError(CodeBool)
	}
	return nil
}

var numberRE = regexp.MustCompile(`^-?[0-9]{1,15}(?:[.,][0-9]{1,6})?$`)

// ParseNumber parses a decimal number written with a point or, as Germans
// write it, a comma: "3", "-1", "2,5".
func ParseNumber(value string) (float64, error) {
	if !numberRE.MatchString(value) {
		return 0, newError(CodeNumber)
	}
	f, err := strconv.ParseFloat(strings.Replace(value, ",", ".", 1), 64)
	if err != nil {
		return 0, newError(CodeNumber)
	}
	return f, nil
}

// Number checks a decimal number (see ParseNumber).
func Number(value string) error {
	_, err := ParseNumber(value)
	return err
}

// RangeRule bounds a number; both bounds are inclusive.
type RangeRule struct {
	Min, Max float64
}

// Check applies the rule to value.
func (r RangeRule) Check(value string) error {
	f, err := ParseNumber(value)
	if err != nil {
		return err
	}
	if f >= r.Min && f <= r.Max {
		return nil
	}
	lo, hi := formatNumber(r.Min), formatNumber(r.Max)
	e := &Error{Code: CodeRange}
	switch {
	case math.IsInf(r.Min, -1):
		e.DE, e.EN = "Die Zahl darf höchstens "+german(hi)+" sein.", "The number must be at most "+hi+"."
	case math.IsInf(r.Max, 1):
		e.DE, e.EN = "Die Zahl muss mindestens "+german(lo)+" sein.", "The number must be at least "+lo+"."
	default:
		e.DE, e.EN = "Die Zahl muss zwischen "+german(lo)+" und "+german(hi)+" liegen.", "The number must be between "+lo+" and "+hi+"."
	}
	return e
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// german writes a decimal point as a comma.
func german(number string) string { return strings.Replace(number, ".", ",", 1) }

// Email checks a plain e-mail address ("name@example.de", no display name).
func Email(value string) error {
	s := strings.TrimSpace(value)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
		return newError(CodeEmail)
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return newError(CodeEmail)
	}
	return nil
}

// Phone checks a phone number as people write it: digits, a leading "+",
// spaces, "/", "-" and brackets; between 5 and 20 digits.
func Phone(value string) error {
	s := strings.TrimSpace(value)
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '/' || r == '-' || r == '(' || r == ')':
		default:
			return newError(CodePhone)
		}
	}
	if digits < 5 || digits > 20 {
		return newError(CodePhone)
	}
	return nil
}

var nationalityRE = regexp.MustCompile(`^(?:D|[A-Z]{3})$`)

// NormalizeNationalities returns a list of nationality codes upper-cased
// and joined by ", ".
func NormalizeNationalities(value string) string {
	parts := strings.Split(value, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// Nationalities checks a comma-separated list of nationality codes as the
// machine-readable zone of ID documents writes them (ICAO Doc 9303): "D" for
// Germany, three letters for all others ("AUT", "POL", "XXA" for stateless).
// A code may not repeat.
func Nationalities(value string) error {
	seen := map[string]bool{}
	for _, p := range strings.Split(value, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if !nationalityRE.MatchString(p) || seen[p] {
			return newError(CodeNationality)
		}
		seen[p] = true
	}
	return nil
}

// DocumentNumber checks the number of an ID document (the serial number of
// a German ID card or passport, or a foreign document's number): letters
// and digits only, at most 20.
func DocumentNumber(value string) error {
	s := strings.TrimSpace(value)
	if s == "" || len(s) > 20 {
		return newError(CodeDocumentNumber)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !isUpper(c) && !(c >= 'a' && c <= 'z') {
			return newError(CodeDocumentNumber)
		}
	}
	return nil
}
