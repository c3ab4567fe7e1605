// Dogs are identified by an implanted transponder (ISO 11784/11785, FDX-B).
// Its number is shown as 15 digits: a three-digit code, then a twelve-digit
// identification. The code is an ISO 3166-1 numeric country code, or 900–998
// for a manufacturer's own range; 999 marks test transponders.

package validate

import "strings"

// Microchip checks a pet transponder number. Spaces are ignored (readers
// and vaccination passes group the digits).
func Microchip(value string) error {
	s := strings.ReplaceAll(strings.TrimSpace(value), " ", "")
	if len(s) != 15 || !allDigits(s) {
		return newError(CodeChipFormat)
	}
	code := int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	switch {
	case code == 999:
		return newError(CodeChipTest)
	case code >= 900:
		return nil
	case iso3166Numeric[code]:
		return nil
	}
	return newError(CodeChipCountry)
}
