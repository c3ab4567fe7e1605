// This file groups MRZ lines into documents. Whatever the framing, a reader
// sends a document as two or three lines in a row; the assembler decides
// where one document ends and the next begins, and drops lines that belong
// to no document.

package idreader

import "strings"

// assembler collects the lines of one document.
type assembler struct {
	lines []string
}

// asmError is why the assembler dropped lines, and how many bytes they had.
type asmError struct {
	reason string
	bytes  int
}

// pending is how many bytes of an unfinished document the assembler holds.
func (a *assembler) pending() int {
	n := 0
	for _, l := range a.lines {
		n += len(l)
	}
	return n
}

func (a *assembler) reset() { a.lines = a.lines[:0] }

// add takes the next line. It returns the document's lines when line
// completed one, and what it had to drop on the way.
//
// A document is 3 lines of 30 (TD1) or 2 lines of 36 or 44 (TD2, TD3, visas,
// the French ID card of before 2021).
// Where a line was lost, the role of the next one (see role) shows whether it
// begins a new document or belongs to none.
func (a *assembler) add(line string) ([]string, []asmError) {
	var errs []asmError
	if !mrzShaped(line) {
		if n := a.pending(); n > 0 {
			errs = append(errs, asmError{"incomplete document", n})
			a.reset()
		}
		return nil, append(errs, asmError{"not an MRZ line", len(line)})
	}
	if len(a.lines) > 0 && len(a.lines[0]) != len(line) {
		errs = append(errs, asmError{"incomplete document", a.pending()})
		a.reset()
	}
	if role(line) != len(a.lines)+1 {
		if len(a.lines) > 0 {
			errs = append(errs, asmError{"incomplete document", a.pending()})
			a.reset()
		}
		if role(line) != 1 {
			return nil, append(errs, asmError{"line without the lines before it", len(line)})
		}
	}
	a.lines = append(a.lines, line)
	want := 2
	if len(line) == 30 {
		want = 3
	}
	if len(a.lines) < want {
		return nil, errs
	}
	doc := append([]string(nil), a.lines...)
	a.reset()
	return doc, errs
}

// role says which line of its document an MRZ-shaped line is (1, 2 or 3),
// from what ICAO 9303 puts where. Two-line documents: the first line holds
// code, state and name, never a digit; the second holds dates. TD1: the
// second line starts with the birth date (digits, or "<" if unknown) while
// the others start with a letter; the third holds the name, never a digit,
// while the first always has the document number's check digit. The French
// ID card of before 2021 (2×36) is the exception: its first line, "IDFRA",
// the surname and then the issuing office, ends in digits; its second line
// has digits in the surname's place (the card number, the birth date).
func role(l string) int {
	switch {
	case len(l) == 36 && strings.HasPrefix(l, "IDFRA") && !hasDigit(l[5:30]):
		return 1
	case len(l) != 30:
		if hasDigit(l) {
			return 2
		}
		return 1
	case l[0] < 'A' || l[0] > 'Z':
		return 2
	case !hasDigit(l):
		return 3
	}
	return 1
}

// mrzShaped is a line of 30, 36 or 44 characters A–Z, 0–9 and "<".
func mrzShaped(l string) bool {
	if len(l) != 30 && len(l) != 36 && len(l) != 44 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '<') {
			return false
		}
	}
	return true
}

func hasDigit(l string) bool {
	for i := 0; i < len(l); i++ {
		if l[i] >= '0' && l[i] <= '9' {
			return true
		}
	}
	return false
}
