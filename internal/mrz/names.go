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
	// Letters with a stroke have no accent to take off (Unicode does not
	// decompose them): Wałęsa is WALESA, Đoković DOKOVIC.
	'Ł': "L", 'Đ': "D", 'Ð': "D", 'Ħ': "H", 'Ŀ': "L", 'Ŋ': "N",
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
var plainVowels = map[rune]string{'ß': "SS", 'Æ': "AE", 'Œ': "OE", 'Þ': "TH", 'Ĳ': "IJ", 'Ø': "O",
	'Ł': "L", 'Đ': "D", 'Ð': "D", 'Ħ': "H", 'Ŀ': "L", 'Ŋ': "N"}

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

// particles are parts of surnames that say nothing about the family: "von
// der Leyen" and "von Bismarck" share "VON".
var particles = map[string]bool{
	"VON": true, "VOM": true, "VAN": true, "DER": true, "DEN": true, "DE": true, "DA": true, "DI": true,
	"DO": true, "DU": true, "DOS": true, "DAS": true, "DEL": true, "DELLA": true, "LA": true, "LE": true,
	"LES": true, "AL": true, "EL": true, "ZU": true, "ZUM": true, "ZUR": true, "TER": true, "TEN": true,
	"AUF": true, "BIN": true, "BINT": true, "BEN": true, "IBN": true, "MC": true, "MAC": true, "ST": true,
}

// NameMatches reports whether a name as people write it (a booking:
// "Jürgen Müller-Lüdenscheidt") may name the holder of a document whose
// zone gives the surname ("MUELLER LUEDENSCHEIDT"): some part of the
// surname of two letters or more, not a particle like "von", appears among
// the written name's parts. Umlauts may be written either way on either
// side (a booking typed "Muller"). Given names are not compared: bookings
// use call names and nicknames. Where either side gives nothing to compare
// (no name, only particles, a script without Latin letters) it matches:
// the check warns only on evidence.
func NameMatches(written, surname string) bool {
	var doc []string
	for _, d := range strings.Fields(Transliterate(surname)) {
		if len(d) >= 2 && !particles[d] {
			doc = append(doc, plain(d))
		}
	}
	parts := map[string]bool{}
	for _, w := range [][]string{strings.Fields(Transliterate(written)), strings.Fields(transliterate(written, plainVowels))} {
		for _, p := range w {
			parts[plain(p)] = true
		}
	}
	if len(doc) == 0 || len(parts) == 0 {
		return true
	}
	for _, d := range doc {
		if parts[d] {
			return true
		}
	}
	return false
}

// plain writes the umlauts of a transliterated name as plain vowels
// (MUELLER → MULLER), so that either spelling meets the other. A name that
// has "UE" of its own (SAMUEL) is folded alike on both sides.
func plain(s string) string {
	return strings.NewReplacer("AE", "A", "OE", "O", "UE", "U").Replace(s)
}
