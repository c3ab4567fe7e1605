// The Steuer-ID (steuerliche Identifikationsnummer, § 139b AO) is recorded
// at registration. Its structure is fixed by the Bundeszentralamt für
// Steuern and published by ELSTER ("Prüfung der Steuer- und
// Steueridentifikationsnummer"): eleven digits, the first not 0 (numbers
// starting with 0 are test numbers); among the first ten, exactly one digit
// occurs twice or three times and every other digit at most once; a digit
// that occurs three times never fills three adjacent places; the eleventh
// digit is an ISO 7064 MOD 11,10 check digit.

package validate

import "strings"

// NormalizeSteuerID removes the spaces with which the number is often
// printed ("36 574 261 809").
func NormalizeSteuerID(value string) string {
	return strings.ReplaceAll(strings.TrimSpace(value), " ", "")
}

// SteuerID checks a Steuer-ID. Spaces between digit groups are allowed.
func SteuerID(value string) error {
	s := NormalizeSteuerID(value)
	if len(s) != 11 || !allDigits(s) || s[0] == '0' {
		return newError(CodeSteuerIDFormat)
	}
	if !steuerIDDigitsOK(s[:10]) {
		return newError(CodeSteuerIDDigits)
	}
	if int(s[10]-'0') != mod11_10(s[:10]) {
		return newError(CodeSteuerIDCheck)
	}
	return nil
}

// steuerIDDigitsOK applies the repetition rule to the first ten digits.
func steuerIDDigitsOK(s string) bool {
	var count [10]int
	for i := 0; i < len(s); i++ {
		count[s[i]-'0']++
	}
	repeated := -1
	for d, n := range count {
		switch {
		case n > 3:
			return false
		case n >= 2:
			if repeated >= 0 {
				return false // a second digit repeats
			}
			repeated = d
		}
	}
	if repeated < 0 {
		return false // ten different digits
	}
	if count[repeated] == 3 {
		r := byte('0' + repeated)
		for i := 0; i+2 < len(s); i++ {
			if s[i] == r && s[i+1] == r && s[i+2] == r {
				return false
			}
		}
	}
	return true
}

// mod11_10 returns the ISO 7064 MOD 11,10 check digit of a digit string.
func mod11_10(s string) int {
	product := 10
	for i := 0; i < len(s); i++ {
		sum := (int(s[i]-'0') + product) % 10
		if sum == 0 {
			sum = 10
		}
		product = (sum * 2) % 11
	}
	check := 11 - product
	if check == 10 {
		check = 0
	}
	return check
}

// allDigits reports whether s is non-empty and consists of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
