// German postal codes (Postleitzahlen) have five digits. The first two name
// a Leitregion from 01 to 99; none starts with 00.

package validate

import "strings"

// PostalCode checks a German postal code. Surrounding spaces are ignored.
func PostalCode(value string) error {
	s := strings.TrimSpace(value)
	if len(s) != 5 || !allDigits(s) {
		return newError(CodePostalCode)
	}
	if s[:2] == "00" {
		return newError(CodePostalRegion)
	}
	return nil
}
