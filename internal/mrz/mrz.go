// Package mrz owns the reading of Machine Readable Zones (ICAO Doc 9303):
// the text lines printed at the foot of passports, ID cards and visas. It
// turns the lines an ID-document reader sends into the fields a clerk's form
// is prefilled with, and says which check digits failed.
//
// Six layouts are known: TD1 (3×30, ID cards), TD2 (2×36), TD3 (2×44,
// passports), MRV-A (2×44 visa), MRV-B (2×36 visa), and the French national
// ID card issued before 2021 (FR-CNI, 2×36, not an ICAO layout). German
// documents write their state as "D<<", ID cards use document code "ID" and
// "<" as sex.
//
// The rules this package applies, beyond the field positions of each layout:
//
//   - Check digits (9303-3 §4.9): weights 7-3-1, "<" counts 0. A field of
//     fillers only may carry "<" as its check digit.
//   - Unknown date of birth (9303-3 §4.8 and the date-of-birth notes of
//     9303-4/-5/-6/-7): an unknown day, unknown day and month, or an
//     unknown whole date is written with fillers ("8503<<", "85<<<<",
//     "<<<<<<"), and the check digit is computed over them as usual. Such a
//     date is valid; Result.BirthDate then holds the known part only, as
//     ISO 8601 writes a date of reduced precision ("1985-03", "1985"), or
//     nothing. A filler elsewhere (a known day of an unknown month, a
//     partly filled year) fails the birth-date check.
//   - Long document numbers (9303-5 §4.2.4 and 9303-6, note j): in TD1 and
//     TD2 a number longer than 9 characters has "<" in its check-digit
//     position; its remaining characters continue in the optional data,
//     followed by its check digit and a filler. An overflow that runs to the
//     end of the optional data field without that closing filler fails the
//     document-number check.
//   - Visas (9303-7, MRV-A and MRV-B) have no such overflow: "<" in the visa
//     number's check-digit position fails the document-number check.
//   - Sex (9303-4/-5/-6/-7, field "sex"): "F", "M" and "<" (unspecified). "X"
//     is not in 9303's list, but some states print it for "unspecified": it
//     is accepted and reported as "X" like "<". Any other character fails
//     the sex check and Result.Sex is empty.
//   - FR-CNI (the card of 1995–2021; layout as described in the Wikipedia
//     article "National identity card (France)", section "Machine-readable
//     zone", and by French document-check services): line 1 "IDFRA", surname (25), the
//     issuing office (6); line 2 the card number (12: year and month of
//     issue, department, serial) with its check digit, given names (14),
//     birth date with its check digit, sex, and a composite check digit over
//     line 1 and the first 35 characters of line 2. It is told from a TD2 by
//     "IDFRA" and a digit at position 13 of line 2, where a TD2 has the last
//     letter of a nationality. The card states no expiry date in its MRZ;
//     it is issued to French citizens only, so the nationality is "FRA".
//
// MRZ lines are personal data. Nothing in this package puts them, or any
// field taken from them, into an error message.
package mrz

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotMRZ reports input that is not a Machine Readable Zone at all: the
// wrong number of lines, lines of the wrong length, or characters outside
// A–Z, 0–9 and "<". It is always wrapped with what is wrong (never with the
// input itself).
var ErrNotMRZ = errors.New("mrz: not a machine readable zone")

// Format is the layout of a Machine Readable Zone.
type Format string

// The layouts of ICAO Doc 9303.
const (
	TD1  Format = "TD1"  // 3 lines of 30: ID cards.
	TD2  Format = "TD2"  // 2 lines of 36: older ID cards and travel documents.
	TD3  Format = "TD3"  // 2 lines of 44: passports.
	MRVA Format = "MRVA" // 2 lines of 44, document code V: visa, format A.
	MRVB Format = "MRVB" // 2 lines of 36, document code V: visa, format B.
	// FRCNI is the French national ID card issued before 2021: 2 lines
	// of 36 starting "IDFRA", in a layout of its own.
	FRCNI Format = "FR-CNI"
)

// Names of the checks that can fail, in the order Result.Errors lists them.
const (
	CheckDocumentNumber = "document_number"
	CheckBirthDate      = "birth_date"
	CheckSex            = "sex" // a character other than F, M, "<" or X
	CheckExpiryDate     = "expiry_date"
	CheckPersonalNumber = "personal_number" // TD3 only.
	CheckComposite      = "composite"       // TD1, TD2, TD3, FR-CNI; visas have none.
)

// Result is what a Machine Readable Zone says. Dates are YYYY-MM-DD, or empty
// when the field is not a calendar date. A date of birth whose day or month
// the document gives as unknown is "YYYY-MM" or "YYYY"; an unknown one is
// empty (see the package doc). Fillers ("<") are removed; names and
// optional data have them turned into single spaces.
type Result struct {
	Format         Format `json:"format"`
	DocumentCode   string `json:"document_code"`
	IssuingState   string `json:"issuing_state"`
	Surname        string `json:"surname"`
	GivenNames     string `json:"given_names"`
	DocumentNumber string `json:"document_number"`
	Nationality    string `json:"nationality"`
	BirthDate      string `json:"birth_date"`
	ExpiryDate     string `json:"expiry_date"`
	Sex            string `json:"sex"` // F, M or X (unspecified); empty if the field is not one of these.
	// OptionalData is the optional data field(s) without fillers: for TD3
	// the personal number; for TD1 both optional fields joined by a space;
	// for a long document number, what follows its overflow.
	OptionalData string `json:"optional_data"`
	// Valid is true when every check digit holds and every date is a date.
	Valid bool `json:"valid"`
	// Errors names the failed checks (Check… constants) in a fixed order.
	// It is never nil, so it encodes as [] in JSON.
	Errors []string `json:"errors"`
}

// Fields names the values by their JSON names ("surname", "birth_date",
// …), as the service catalog's "mrz.*" sources refer to them.
func (r *Result) Fields() map[string]string {
	return map[string]string{
		"format": string(r.Format), "document_code": r.DocumentCode, "issuing_state": r.IssuingState, "surname": r.Surname,
		"given_names": r.GivenNames, "document_number": r.DocumentNumber, "nationality": r.Nationality,
		"birth_date": r.BirthDate, "expiry_date": r.ExpiryDate, "sex": r.Sex, "optional_data": r.OptionalData,
	}
}

// Parse reads the lines of one Machine Readable Zone, resolving two-digit
// years against the current date. See ParseAt.
func Parse(lines []string) (*Result, error) {
	return ParseAt(lines, time.Now())
}

// ParseAt reads the lines of one Machine Readable Zone. Two-digit years are
// resolved against now: a birth date is 20YY unless that lies after now
// (then 19YY; for a date of birth known only in part, its first possible
// day counts); an expiry date is 20YY unless that is more than 20 years after
// now's year (then 19YY).
//
// Surrounding white space on each line and empty lines are ignored. Input
// that is not an MRZ returns an error wrapping ErrNotMRZ. An MRZ whose check
// digits fail is not an error: the Result says which checks failed.
func ParseAt(lines []string, now time.Time) (*Result, error) {
	ls := make([]string, 0, len(lines))
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" {
			ls = append(ls, l)
		}
	}
	format, err := detect(ls)
	if err != nil {
		return nil, err
	}
	p := parser{now: now}
	switch format {
	case TD1:
		p.td1(ls)
	case TD2, MRVB, TD3, MRVA:
		p.twoLine(format, ls)
	case FRCNI:
		p.frenchID(ls)
	}
	p.r.Format = format
	p.r.Valid = len(p.failed) == 0
	p.r.Errors = p.errors()
	return &p.r, nil
}

// detect names the layout of lines, or says why they are not an MRZ.
func detect(ls []string) (Format, error) {
	for i, l := range ls {
		for j := 0; j < len(l); j++ {
			if !isMRZChar(l[j]) {
				return "", fmt.Errorf("%w: line %d has a character outside A-Z, 0-9, '<' at position %d", ErrNotMRZ, i+1, j+1)
			}
		}
	}
	switch len(ls) {
	case 3:
		for i, l := range ls {
			if len(l) != 30 {
				return "", fmt.Errorf("%w: three lines must be 30 characters long, line %d has %d", ErrNotMRZ, i+1, len(l))
			}
		}
		return TD1, nil
	case 2:
		if len(ls[0]) != len(ls[1]) {
			return "", fmt.Errorf("%w: lines of different length (%d and %d)", ErrNotMRZ, len(ls[0]), len(ls[1]))
		}
		visa := ls[0][0] == 'V'
		switch len(ls[0]) {
		case 36:
			if visa {
				return MRVB, nil
			}
			if IsFrenchID(ls[0], ls[1]) {
				return FRCNI, nil
			}
			return TD2, nil
		case 44:
			if visa {
				return MRVA, nil
			}
			return TD3, nil
		}
		return "", fmt.Errorf("%w: two lines must be 36 or 44 characters long, not %d", ErrNotMRZ, len(ls[0]))
	}
	return "", fmt.Errorf("%w: %d lines, want 2 or 3", ErrNotMRZ, len(ls))
}

// IsFrenchID reports whether two lines of 36 are a French national ID card of
// before 2021 rather than a TD2: the first starts "IDFRA", and the second
// has a digit at position 13, the card number's check digit, where a TD2
// has the last letter (or filler) of the holder's nationality.
func IsFrenchID(l1, l2 string) bool {
	return len(l1) == 36 && len(l2) == 36 && strings.HasPrefix(l1, "IDFRA") && l2[12] >= '0' && l2[12] <= '9'
}

func isMRZChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '<'
}

// parser collects one Result and the checks that failed.
type parser struct {
	now    time.Time
	r      Result
	failed map[string]bool
}

// checkOrder is the order in which Result.Errors lists failed checks.
var checkOrder = []string{CheckDocumentNumber, CheckBirthDate, CheckSex, CheckExpiryDate, CheckPersonalNumber, CheckComposite}

func (p *parser) fail(check string) {
	if p.failed == nil {
		p.failed = map[string]bool{}
	}
	p.failed[check] = true
}

func (p *parser) errors() []string {
	out := []string{}
	for _, c := range checkOrder {
		if p.failed[c] {
			out = append(out, c)
		}
	}
	return out
}

// td1 reads an ID card:
//
//	line 1: code(2) state(3) number(9) check optional(15)
//	line 2: birth(6) check sex expiry(6) check nationality(3) optional(11) composite
//	line 3: name(30)
func (p *parser) td1(ls []string) {
	l1, l2, l3 := ls[0], ls[1], ls[2]
	p.header(l1)
	opt1 := p.documentNumber(l1[5:14], l1[14], l1[15:30])
	p.r.BirthDate = p.birthDate(l2[0:6], l2[6])
	p.sex(l2[7])
	p.r.ExpiryDate = p.date(l2[8:14], l2[14], CheckExpiryDate, p.expiryYear)
	p.r.Nationality = unfill(l2[15:18])
	p.r.OptionalData = joinNonEmpty(opt1, words(l2[18:29]))
	p.composite(l1[5:30]+l2[0:7]+l2[8:15]+l2[18:29], l2[29])
	p.name(l3)
}

// twoLine reads TD2, TD3, MRV-A and MRV-B, whose second lines agree up to
// position 28:
//
//	line 1: code(2) state(3) name(31 or 39)
//	line 2: number(9) check nationality(3) birth(6) check sex expiry(6) check,
//	        then TD3: personal number(14) check composite;
//	             TD2: optional(7) composite;
//	             visas: optional(16 or 8), no composite.
func (p *parser) twoLine(f Format, ls []string) {
	l1, l2 := ls[0], ls[1]
	n := len(l2)
	p.header(l1)
	p.name(l1[5:])
	p.r.Nationality = unfill(l2[10:13])
	p.r.BirthDate = p.birthDate(l2[13:19], l2[19])
	p.sex(l2[20])
	p.r.ExpiryDate = p.date(l2[21:27], l2[27], CheckExpiryDate, p.expiryYear)
	switch f {
	case TD3:
		// A passport's document number does not overflow: its optional
		// field is the personal number with a check digit of its own.
		p.r.DocumentNumber = unfill(l2[0:9])
		if !checkField(l2[0:9], l2[9]) {
			p.fail(CheckDocumentNumber)
		}
		personal := l2[28:42]
		if !checkField(personal, l2[42]) {
			p.fail(CheckPersonalNumber)
		}
		p.r.OptionalData = words(personal)
		p.composite(l2[0:10]+l2[13:20]+l2[21:43], l2[43])
	case TD2:
		p.r.OptionalData = p.documentNumber(l2[0:9], l2[9], l2[28:35])
		p.composite(l2[0:10]+l2[13:20]+l2[21:35], l2[35])
	case MRVA, MRVB:
		// 9303-7: a visa number has no overflow; "<" as its check
		// digit is a failed check.
		p.r.DocumentNumber = unfill(l2[0:9])
		if l2[9] == '<' || !checkField(l2[0:9], l2[9]) {
			p.fail(CheckDocumentNumber)
		}
		p.r.OptionalData = words(l2[28:n])
	}
}

// frenchID reads a French national ID card of before 2021:
//
//	line 1: "ID" "FRA" surname(25) office(6)
//	line 2: number(12) check given names(14) birth(6) check sex composite
//
// The composite check digit covers all of line 1 and line 2 up to the sex.
func (p *parser) frenchID(ls []string) {
	l1, l2 := ls[0], ls[1]
	p.header(l1)
	p.r.Surname = words(l1[5:30])
	p.r.OptionalData = words(l1[30:36])
	p.r.DocumentNumber = unfill(l2[0:12])
	if l2[12] == '<' || !checkField(l2[0:12], l2[12]) {
		p.fail(CheckDocumentNumber)
	}
	p.r.GivenNames = words(l2[13:27])
	p.r.BirthDate = p.birthDate(l2[27:33], l2[33])
	p.sex(l2[34])
	p.r.Nationality = "FRA"
	p.composite(l1+l2[0:35], l2[35])
}

// header reads document code and issuing state from the first line.
func (p *parser) header(l1 string) {
	p.r.DocumentCode = unfill(l1[0:2])
	p.r.IssuingState = unfill(l1[2:5])
}

// name splits a name field at its first "<<" into surname and given names.
func (p *parser) name(field string) {
	surname, given, _ := strings.Cut(field, "<<")
	p.r.Surname = words(surname)
	p.r.GivenNames = words(given)
}

// documentNumber reads a 9-character document number field with its check
// digit and returns the optional data that follows it. A number longer than 9
// characters has "<" in the check digit position; its remaining characters and
// then its check digit open the optional data field, ended by "<" (ICAO 9303-5
// 4.2.4, 9303-6 note j). An overflow without that closing "<" fails the check.
// Readers and issuers differ on whether the check digit covers the "<" at
// position 10, so both readings are accepted.
func (p *parser) documentNumber(field string, check byte, optional string) string {
	if check != '<' || strings.HasSuffix(field, "<") {
		p.r.DocumentNumber = unfill(field)
		if !checkField(field, check) {
			p.fail(CheckDocumentNumber)
		}
		return words(optional)
	}
	run, rest, closed := strings.Cut(optional, "<")
	if len(run) < 2 || !closed {
		// "<" as check digit without an overflow, or an overflow that
		// runs to the end of the field without its closing filler: the
		// check fails.
		p.r.DocumentNumber = unfill(field)
		p.fail(CheckDocumentNumber)
		return words(optional)
	}
	more, cd := run[:len(run)-1], run[len(run)-1]
	p.r.DocumentNumber = field + more
	if !checkField(field+more, cd) && !checkField(field+"<"+more, cd) {
		p.fail(CheckDocumentNumber)
	}
	return words(rest)
}

// date reads a YYMMDD field with its check digit. An unreadable date or a
// failed check digit fails the check named by check; the date is then empty
// if it is not a calendar date.
func (p *parser) date(field string, cd byte, check string, century func(yy, mm, dd int) int) string {
	if !checkField(field, cd) {
		p.fail(check)
	}
	yy, ok1 := digits2(field[0:2])
	mm, ok2 := digits2(field[2:4])
	dd, ok3 := digits2(field[4:6])
	if !ok1 || !ok2 || !ok3 {
		p.fail(check)
		return ""
	}
	year := century(yy, mm, dd)
	t := time.Date(year, time.Month(mm), dd, 0, 0, 0, 0, time.UTC)
	if t.Year() != year || int(t.Month()) != mm || t.Day() != dd {
		p.fail(check)
		return ""
	}
	return t.Format(time.DateOnly)
}

// birthDate reads a date of birth, YYMMDD with its check digit, where the
// day, the day and month, or the whole date may be fillers (9303-3 §4.8).
// It returns YYYY-MM-DD, YYYY-MM, YYYY or "" for those. The check digit is
// computed over the fillers as over any field; "<" as check digit counts only
// for a date that is all fillers.
func (p *parser) birthDate(field string, cd byte) string {
	switch {
	case field == "<<<<<<":
		if !checkField(field, cd) {
			p.fail(CheckBirthDate)
		}
		return ""
	case field[2:6] == "<<<<" || field[4:6] == "<<":
		if cd == '<' || !checkField(field, cd) {
			p.fail(CheckBirthDate)
		}
		yy, ok := digits2(field[0:2])
		if !ok {
			p.fail(CheckBirthDate)
			return ""
		}
		if field[2:4] == "<<" {
			return fmt.Sprintf("%04d", p.birthYear(yy, 1, 1))
		}
		mm, ok := digits2(field[2:4])
		if !ok || mm < 1 || mm > 12 {
			p.fail(CheckBirthDate)
			return ""
		}
		return fmt.Sprintf("%04d-%02d", p.birthYear(yy, mm, 1), mm)
	}
	return p.date(field, cd, CheckBirthDate, p.birthYear)
}

// birthYear is 20YY unless that date lies after now, then 19YY.
func (p *parser) birthYear(yy, mm, dd int) int {
	y := 2000 + yy
	today := time.Date(p.now.Year(), p.now.Month(), p.now.Day(), 0, 0, 0, 0, time.UTC)
	if time.Date(y, time.Month(mm), dd, 0, 0, 0, 0, time.UTC).After(today) {
		return y - 100
	}
	return y
}

// expiryYear is 20YY unless that year is more than 20 years after now.
func (p *parser) expiryYear(yy, _, _ int) int {
	y := 2000 + yy
	if y > p.now.Year()+20 {
		return y - 100
	}
	return y
}

func (p *parser) composite(data string, cd byte) {
	if !checkField(data, cd) {
		p.fail(CheckComposite)
	}
}

// CheckDigit computes the ICAO 9303 check digit of s: weights 7, 3, 1
// repeating; 0–9 count as themselves, A–Z as 10–35 and "<" (and anything
// else) as 0.
func CheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += charValue(s[i]) * weights[i%3]
	}
	return byte('0' + sum%10)
}

func charValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 0
}

// checkField reports whether cd is the check digit of field. A field that is
// all fillers may carry "<" or "0" as its check digit (ICAO 9303-3 4.9).
func checkField(field string, cd byte) bool {
	if cd == '<' {
		return strings.Trim(field, "<") == ""
	}
	return cd == CheckDigit(field)
}

func digits2(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// sex reads the sex field: F and M as they are; "<" (unspecified, as on
// German ID cards) and X, which some states print for it, as X. Anything else
// fails the sex check and leaves Result.Sex empty.
func (p *parser) sex(c byte) {
	switch c {
	case 'F', 'M', 'X':
		p.r.Sex = string(c)
	case '<':
		p.r.Sex = "X"
	default:
		p.fail(CheckSex)
	}
}

// unfill drops the fillers of a code or number field ("D<<" → "D").
func unfill(s string) string {
	return strings.ReplaceAll(s, "<", "")
}

// words turns fillers inside a field into single spaces and drops them at the
// ends ("ANNA<MARIA<<<" → "ANNA MARIA").
func words(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '<' }), " ")
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}
