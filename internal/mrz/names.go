package mrz

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// icaoLetters are the Latin letters ICAO Doc 9303 Part 3 (section 6,
// transliteration) writes as two letters in the machine readable zone;
// other letters with diacritics lose them (É → E).
var icaoLetters = map[rune]string{
	'Ä': "AE", 'Å': "AA", 'Æ': "AE", 'Ö': "OE", 'Ø': "OE", 'Ü': "UE",
	'Þ': "TH", 'ß': "SS", 'Œ': "OE", 'Ĳ': "IJ",
}

// Transliterate writes a name as the machine readable zone has it: capital
// Latin letters, umlauts as two letters (Müller → MUELLER), other
// diacritics dropped, and any run of other characters (blanks, hyphens,
// apostrophes; "<" in the zone) as one space.
func Transliterate(name string) string {
	return transliterate(name, icaoLetters)
}

// plainVowels drops the umlauts' dots instead (Müller → MULLER), as older
// documents and hurried bookings do.
var plainVowels = map[rune]string{'ß': "SS", 'Æ': "AE", 'Œ': "OE", 'Þ': "TH", 'Ĳ': "IJ"}

func transliterate(name string, two map[rune]string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToUpper(name) {
		if r == 'ß' || r == 'ẞ' {
			r = 'ß'
		}
		if s, ok := two[r]; ok {
			if gap && b.Len() > 0 {
				b.WriteByte(' ')
			}
			gap = false
			b.WriteString(s)
			continue
		}
		// Decompose (É → E + ◌́) and keep the base letter.
		base := []rune(norm.NFD.String(string(r)))[0]
		if base < 'A' || base > 'Z' {
			if !unicode.IsMark(base) {
				gap = true
			}
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte(' ')
		}
		gap = false
		b.WriteRune(base)
	}
	return b.String()
}

// NameMatches reports whether a name as people write it (a booking:
// "Jürgen Müller-Lüdenscheidt") may name the holder of a document whose
// zone gives the surname ("MUELLER LUEDENSCHEIDT"): some part of the
// surname of two letters or more appears among the written name's parts,
// with umlauts written either way. Given names are not compared: bookings
// use call names and nicknames. An empty name on either side matches.
func NameMatches(written, surname string) bool {
	doc := strings.Fields(Transliterate(surname))
	if len(doc) == 0 || strings.TrimSpace(written) == "" {
		return true
	}
	parts := map[string]bool{}
	for _, w := range [][]string{strings.Fields(Transliterate(written)), strings.Fields(transliterate(written, plainVowels))} {
		for _, p := range w {
			parts[p] = true
		}
	}
	for _, d := range doc {
		if len(d) >= 2 && parts[d] {
			return true
		}
	}
	return false
}
