// IBANs (ISO 13616) are taken for SEPA direct-debit mandates, e.g. for the
// dog tax. The check is the ISO 7064 MOD 97-10 check of the standard plus the
// length the SWIFT IBAN registry fixes for each country. Only SEPA countries
// are accepted: a town cannot collect by direct debit from anywhere else.

package validate

import "strings"

// ibanLength is the IBAN length per country of the SEPA scheme (SWIFT IBAN
// registry).
var ibanLength = map[string]int{
	"AD": 24, "AL": 28, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24,
	"DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23,
	"GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MT": 31, "NL": 18,
	"NO": 15, "PL": 28, "PT": 25, "RO": 24, "RS": 22, "SE": 24, "SI": 19, "SK": 24,
	"SM": 27, "VA": 22,
}

// NormalizeIBAN returns the electronic form of an IBAN: spaces removed,
// letters in upper case.
func NormalizeIBAN(value string) string {
	return strings.ToUpper(strings.Join(strings.Fields(value), ""))
}

// IBAN checks an IBAN. Spaces (as in the printed form "DE89 3704 …") and
// lower-case letters are allowed.
func IBAN(value string) error {
	s := NormalizeIBAN(value)
	if len(s) < 5 || len(s) > 34 || !isUpper(s[0]) || !isUpper(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) {
		return newError(CodeIBANFormat)
	}
	for i := 4; i < len(s); i++ {
		if !isUpper(s[i]) && !isDigit(s[i]) {
			return newError(CodeIBANFormat)
		}
	}
	want, ok := ibanLength[s[:2]]
	if !ok {
		return newError(CodeIBANCountry)
	}
	if len(s) != want {
		return newErrorf(CodeIBANLength, want)
	}
	if s[:2] == "DE" && !allDigits(s[4:]) {
		// A German BBAN is the 8-digit bank code and the 10-digit account number.
		return newError(CodeIBANFormat)
	}
	if ibanMod97(s) != 1 {
		return newError(CodeIBANCheck)
	}
	return nil
}

// ibanMod97 moves the first four characters to the end, reads letters as
// 10..35 and returns the resulting number modulo 97.
func ibanMod97(s string) int {
	r := 0
	for _, c := range []byte(s[4:] + s[:4]) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A'+10)) % 97
		}
	}
	return r
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
