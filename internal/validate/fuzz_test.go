package validate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/validate"
)

// noEcho fails if a message repeats an input that holds at least five
// digits (no message holds more than four in a row).
func noEcho(t *testing.T, in string, err error) {
	t.Helper()
	var e *validate.Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("%q: error %T, want *validate.Error", in, err)
	}
	if e == nil || strings.Count(in, "")-1 < 5 {
		return
	}
	digits := 0
	for _, r := range in {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits >= 5 && (strings.Contains(e.DE, in) || strings.Contains(e.EN, in) || strings.Contains(e.Error(), in)) {
		t.Errorf("%q: message repeats the input", in)
	}
}

func FuzzSteuerID(f *testing.F) {
	for _, s := range []string{"36574261809", "36 574 261 809", "11123456786", "02476291358", "", "1", "３６５"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.SteuerID(s)
		noEcho(t, s, err)
		if again := validate.SteuerID(s); (err == nil) != (again == nil) {
			t.Fatalf("%q: verdict changed between two calls", s)
		}
		n := validate.NormalizeSteuerID(s)
		if (validate.SteuerID(n) == nil) != (err == nil) {
			t.Fatalf("%q: verdict differs for the normalised form %q", s, n)
		}
		if err != nil {
			return
		}
		if len(n) != 11 || n[0] == '0' {
			t.Fatalf("%q accepted, normalised %q", s, n)
		}
		// Any other check digit must be refused.
		for d := byte('0'); d <= '9'; d++ {
			if d != n[10] && validate.SteuerID(n[:10]+string(d)) == nil {
				t.Fatalf("%q accepted with check digit %c as well", n, d)
			}
		}
	})
}

func FuzzIBAN(f *testing.F) {
	for _, s := range []string{"DE89370400440532013000", "de89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "DE00", "", "ZZ", "DE89370400440532O13000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := validate.IBAN(s)
		noEcho(t, s, err)
		n := validate.NormalizeIBAN(s)
		if (validate.IBAN(n) == nil) != (err == nil) {
			t.Fatalf("%q: verdict differs for the normalised form %q", s, n)
		}
		if validate.NormalizeIBAN(n) != n {
			t.Fatalf("%q: NormalizeIBAN is not idempotent", s)
		}
		if err != nil {
			return
		}
		// A valid IBAN with any one digit changed is refused.
		for i := 4; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				continue
			}
			d := '0' + (n[i]-'0'+1)%10
			if typo := n[:i] + string(d) + n[i+1:]; validate.IBAN(typo) == nil {
				t.Fatalf("%q accepted with place %d changed", n, i+1)
			}
		}
	})
}
