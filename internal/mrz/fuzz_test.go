// Fuzzing the MRZ parser: reader bytes are outside input, so no line may make
// it panic, and whatever it accepts must be self-consistent.
package mrz_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/mrz"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6",
		"IDD<<T220001293<<<<<<<<<<<<<<<\n6408125<2010315D<<<<<<<<<<<<<4\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<",
		"I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<",
		"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nL8988901C4XXX4009078F9612109<<<<<<<<",
		"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<",
		"I<UTO<<<<<<<<<<<<<<<<<<<<<<<<<\n<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
		"",
		"\x00\xff",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines := strings.Split(s, "\n")
		r, err := mrz.ParseAt(lines, now)
		if err != nil {
			if !errors.Is(err, mrz.ErrNotMRZ) {
				t.Fatalf("error %v does not wrap ErrNotMRZ", err)
			}
			if r != nil {
				t.Fatal("result with error")
			}
			return
		}
		if r.Valid != (len(r.Errors) == 0) {
			t.Fatalf("valid %v with errors %v", r.Valid, r.Errors)
		}
		order := []string{mrz.CheckDocumentNumber, mrz.CheckBirthDate, mrz.CheckExpiryDate, mrz.CheckPersonalNumber, mrz.CheckComposite}
		last := -1
		for _, e := range r.Errors {
			i := slices.Index(order, e)
			if i <= last {
				t.Fatalf("errors %v out of order or unknown", r.Errors)
			}
			last = i
		}
		if r.Sex != "F" && r.Sex != "M" && r.Sex != "X" {
			t.Fatalf("sex %q", r.Sex)
		}
		for _, d := range []string{r.BirthDate, r.ExpiryDate} {
			if d != "" && len(d) != len("2006-01-02") {
				t.Fatalf("date %q", d)
			}
		}
	})
}
