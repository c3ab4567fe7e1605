// German licence plates (Kennzeichen, FZV § 8 and § 9): a district code of
// one to three letters (Umlaute occur: "TÖL", "MÜ"), then the
// Erkennungsnummer of one or two letters and one to four digits without a
// leading 0; district and Erkennungsnummer together have at most eight
// characters. Electric vehicles carry an "E", historic ones an "H" after the
// digits. On paper the district is followed by a hyphen ("B-AB 1234"), on
// the plate by the seals; clerks type either.

package validate

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

var plateRE = regexp.MustCompile(`^([A-ZÄÖÜ]{1,3})(?:\s*-\s*|\s+)([A-Z]{1,2})[\s-]*([1-9][0-9]{0,3})\s*([EH]?)$`)

// parsePlate splits a plate into its parts, or reports false.
func parsePlate(value string) (district, letters, digits, suffix string, ok bool) {
	m := plateRE.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(value)))
	if m == nil {
		return "", "", "", "", false
	}
	if utf8.RuneCountInString(m[1])+len(m[2])+len(m[3]) > 8 {
		return "", "", "", "", false
	}
	return m[1], m[2], m[3], m[4], true
}

// Plate checks a German licence plate such as "B-AB 1234" or "M-X 1E".
// Case and the separators between the parts are free.
func Plate(value string) error {
	if _, _, _, _, ok := parsePlate(value); !ok {
		return newError(CodePlate)
	}
	return nil
}

// NormalizePlate returns a valid plate in the written form "B-AB 1234";
// anything else comes back trimmed and unchanged.
func NormalizePlate(value string) string {
	district, letters, digits, suffix, ok := parsePlate(value)
	if !ok {
		return strings.TrimSpace(value)
	}
	return district + "-" + letters + " " + digits + suffix
}
