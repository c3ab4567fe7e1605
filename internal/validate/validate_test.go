package validate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/validate"
)

// code returns the code of a validation error, "" for nil, and fails the
// test for errors of another type.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *validate.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is %T, want *validate.Error", err, err)
	}
	if e.DE == "" || e.EN == "" {
		t.Errorf("error %q lacks a German or English message: %+v", e.Code, e)
	}
	return e.Code
}

type testCase struct {
	in   string
	want string // error code, "" for valid
}

// check runs f over cases and also makes sure no message repeats the input:
// errors reach logs, inputs are personal data.
func check(t *testing.T, f validate.Func, cases []testCase) {
	t.Helper()
	for _, c := range cases {
		err := f(c.in)
		if got := code(t, err); got != c.want {
			t.Errorf("%q: got code %q, want %q (%v)", c.in, got, c.want, err)
		}
		var e *validate.Error
		if errors.As(err, &e) && len(strings.TrimSpace(c.in)) >= 5 {
			for _, msg := range []string{e.Error(), e.DE, e.EN} {
				if strings.Contains(msg, strings.TrimSpace(c.in)) {
					t.Errorf("%q: message %q repeats the input", c.in, msg)
				}
			}
		}
	}
}

func TestPostalCode(t *testing.T) {
	check(t, validate.PostalCode, []testCase{
		{"01067", ""}, // Dresden
		{"10115", ""},
		{"99998", ""},
		{" 80331 ", ""},
		{"1067", validate.CodePostalCode},
		{"ABCDE", validate.CodePostalCode},
		{"123456", validate.CodePostalCode},
		{"", validate.CodePostalCode},
		{"010 67", validate.CodePostalCode},
		{"０１０６７", validate.CodePostalCode}, // full-width digits
		{"00123", validate.CodePostalRegion},
	})
}

func TestPostalCode_GermanMessage(t *testing.T) {
	var e *validate.Error
	if !errors.As(validate.PostalCode("1067"), &e) {
		t.Fatal("1067 accepted")
	}
	if got, want := e.Message("de"), "Die Postleitzahl muss aus 5 Ziffern bestehen."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := e.Message("en"), "The postal code must consist of 5 digits."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSteuerID(t *testing.T) {
	check(t, validate.SteuerID, []testCase{
		// Valid numbers, among them the examples of the ELSTER paper.
		{"36574261809", ""},
		{"36 574 261 809", ""}, // as printed on the tax office's letter
		{"86095742719", ""},
		{"47036892816", ""},
		{"65929970489", ""}, // 9 three times, two of them adjacent
		{"57549285017", ""},
		{"25768131411", ""},
		{"81872495633", ""},
		{"11234567890", ""}, // 1 twice, adjacent
		{"11012345675", ""}, // 1 three times, not all adjacent

		{"", validate.CodeSteuerIDFormat},
		{"3657426180", validate.CodeSteuerIDFormat},   // 10 digits
		{"365742618091", validate.CodeSteuerIDFormat}, // 12 digits
		{"3657426180A", validate.CodeSteuerIDFormat},
		{"365-742-618-09", validate.CodeSteuerIDFormat},
		{"02476291358", validate.CodeSteuerIDFormat}, // leading 0: a test number
		{"12345678903", validate.CodeSteuerIDDigits}, // every digit once
		{"98765432106", validate.CodeSteuerIDDigits},
		{"11012134569", validate.CodeSteuerIDDigits}, // 1 four times
		{"11223456785", validate.CodeSteuerIDDigits}, // 1 and 2 twice
		{"11212234562", validate.CodeSteuerIDDigits}, // 1 and 2 three times
		{"11123456786", validate.CodeSteuerIDDigits}, // 1 three times in a row
		{"36554266806", validate.CodeSteuerIDDigits}, // 5 and 6 repeated
		{"36574261890", validate.CodeSteuerIDCheck},  // last two swapped
		{"36574261808", validate.CodeSteuerIDCheck},
		{"36574261800", validate.CodeSteuerIDCheck},
	})
}

// A clerk's typo in a single digit of the first ten is always caught by
// the check digit or the digit rule.
func TestSteuerID_SingleDigitTypos(t *testing.T) {
	const valid = "36574261809"
	for i := 0; i < 10; i++ {
		for d := byte('0'); d <= '9'; d++ {
			if valid[i] == d {
				continue
			}
			typo := valid[:i] + string(d) + valid[i+1:]
			if validate.SteuerID(typo) == nil {
				t.Errorf("typo %s (place %d) accepted", typo, i+1)
			}
		}
	}
}

func TestIBAN(t *testing.T) {
	check(t, validate.IBAN, []testCase{
		{"DE89370400440532013000", ""},
		{"DE89 3704 0044 0532 0130 00", ""},
		{"de89370400440532013000", ""},
		{"GB82WEST12345698765432", ""},
		{"AT611904300234573201", ""},
		{"NL91ABNA0417164300", ""},
		{"FR1420041010050500013M02606", ""},
		{"CH9300762011623852957", ""},
		{"BE68539007547034", ""},
		{"NO9386011117947", ""},

		{"DE89370400440532013001", validate.CodeIBANCheck}, // one wrong digit
		{"DE88370400440532013000", validate.CodeIBANCheck},
		{"DE89370400440523013000", validate.CodeIBANCheck}, // two digits swapped
		{"DE8937040044053201300", validate.CodeIBANLength},
		{"DE893704004405320130000", validate.CodeIBANLength},
		{"US64SVBKUS6S3300958879", validate.CodeIBANCountry},
		{"DE89-3704-0044-0532-0130-00", validate.CodeIBANFormat},
		{"DE89370400440532O13000", validate.CodeIBANFormat}, // letter O in a German account
		{"1E89370400440532013000", validate.CodeIBANFormat},
		{"DEXX370400440532013000", validate.CodeIBANFormat},
		{"", validate.CodeIBANFormat},
		{"DE", validate.CodeIBANFormat},
	})
}

func TestIBAN_LengthMessageNamesExpectedLength(t *testing.T) {
	var e *validate.Error
	if !errors.As(validate.IBAN("DE8937040044053201300"), &e) {
		t.Fatal("short IBAN accepted")
	}
	if !strings.Contains(e.DE, "22 Zeichen") {
		t.Errorf("got %q, want the expected length 22 named", e.DE)
	}
}

// Every single wrong digit in a German IBAN is detected (MOD 97-10 catches
// all single substitutions).
func TestIBAN_SingleDigitTypos(t *testing.T) {
	const valid = "DE89370400440532013000"
	for i := 2; i < len(valid); i++ {
		for d := byte('0'); d <= '9'; d++ {
			if valid[i] == d {
				continue
			}
			typo := valid[:i] + string(d) + valid[i+1:]
			if validate.IBAN(typo) == nil {
				t.Errorf("typo %s (place %d) accepted", typo, i+1)
			}
		}
	}
}

func TestNormalizeIBAN(t *testing.T) {
	if got, want := validate.NormalizeIBAN(" de89 3704 0044 0532 0130 00 "), "DE89370400440532013000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMicrochip(t *testing.T) {
	check(t, validate.Microchip, []testCase{
		{"276098106235196", ""},     // Germany
		{"276 098 106 235 196", ""}, // grouped as in the pet passport
		{"040098100123456", ""},     // Austria
		{"985141000123456", ""},     // manufacturer code
		{"900012345678901", ""},
		{"27609810623519", validate.CodeChipFormat},
		{"2760981062351960", validate.CodeChipFormat},
		{"27609810623519A", validate.CodeChipFormat},
		{"", validate.CodeChipFormat},
		{"999012345678901", validate.CodeChipTest},
		{"000123456789012", validate.CodeChipCountry},
		{"001123456789012", validate.CodeChipCountry}, // not an ISO 3166 code
	})
}

func TestPlate(t *testing.T) {
	check(t, validate.Plate, []testCase{
		{"B-AB 1234", ""},
		{"M-X 1E", ""}, // electric vehicle
		{"b-ab 1234", ""},
		{"B AB 1234", ""},
		{"B-AB1234", ""},
		{"TÖL-AB 12", ""},
		{"MÜ-XY 99", ""},
		{"HH-AB 123H", ""}, // historic vehicle
		{"S-A 1", ""},
		{"WAF-AB 123", ""}, // 8 characters
		{"WAF-AB 1234", validate.CodePlate},
		{"BAB 1234", validate.CodePlate},
		{"B-AB 01234", validate.CodePlate},
		{"B-AB 12345", validate.CodePlate},
		{"B-AB 0", validate.CodePlate},
		{"B-ABC 1234", validate.CodePlate},
		{"B-AB", validate.CodePlate},
		{"ABCD-A 1", validate.CodePlate},
		{"B-Ä 1", validate.CodePlate},
		{"B-AB 1234X", validate.CodePlate},
		{"", validate.CodePlate},
	})
}

func TestNormalizePlate(t *testing.T) {
	for in, want := range map[string]string{
		"b ab1234e":  "B-AB 1234E",
		"töl - x 12": "TÖL-X 12",
		"B-AB 1234":  "B-AB 1234",
		" kein ":     "kein",
	} {
		if got := validate.NormalizePlate(in); got != want {
			t.Errorf("NormalizePlate(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestEmail(t *testing.T) {
	check(t, validate.Email, []testCase{
		{"anna.mustermann@example.de", ""},
		{"a+b@sub.example.org", ""},
		{"anna", validate.CodeEmail},
		{"Anna <anna@example.de>", validate.CodeEmail},
		{"anna@example", validate.CodeEmail},
		{"anna@.de", validate.CodeEmail},
		{"", validate.CodeEmail},
	})
}

func TestPhone(t *testing.T) {
	check(t, validate.Phone, []testCase{
		{"+49 30 1234567", ""},
		{"030/1234567", ""},
		{"(0351) 123-456", ""},
		{"12", validate.CodePhone},
		{"030 ABC", validate.CodePhone},
		{"++49 30 123456", validate.CodePhone},
		{"49+301234567", validate.CodePhone},
	})
}

func TestNationalities(t *testing.T) {
	check(t, validate.Nationalities, []testCase{
		{"D", ""},
		{"D, AUT", ""},
		{"aut", ""},
		{"XXA", ""}, // stateless
		{"", validate.CodeNationality},
		{"DE", validate.CodeNationality},
		{"D,D", validate.CodeNationality},
		{"deutsch", validate.CodeNationality},
		{"D,,AUT", validate.CodeNationality},
	})
	if got, want := validate.NormalizeNationalities(" d ,aut"), "D, AUT"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDocumentNumber(t *testing.T) {
	check(t, validate.DocumentNumber, []testCase{
		{"T22000129", ""},
		{"L898902C3", ""},
		{"", validate.CodeDocumentNumber},
		{"T220 00129", validate.CodeDocumentNumber},
		{strings.Repeat("A", 21), validate.CodeDocumentNumber},
	})
}

func TestNumber(t *testing.T) {
	check(t, validate.Number, []testCase{
		{"3", ""}, {"-1", ""}, {"2,5", ""}, {"2.5", ""},
		{"", validate.CodeNumber},
		{"abc", validate.CodeNumber},
		{"1e5", validate.CodeNumber},
		{"1.000,00", validate.CodeNumber},
		{"NaN", validate.CodeNumber},
		{"Inf", validate.CodeNumber},
	})
}

func TestRangeRule(t *testing.T) {
	r := validate.RangeRule{Min: 0, Max: 50}
	if err := r.Check("2,5"); err != nil {
		t.Errorf("2,5: %v", err)
	}
	var e *validate.Error
	if !errors.As(r.Check("51"), &e) || e.Code != validate.CodeRange {
		t.Fatalf("51: got %v, want code range", e)
	}
	if got, want := e.DE, "Die Zahl muss zwischen 0 und 50 liegen."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLineAndParagraph(t *testing.T) {
	if got := code(t, validate.Line("Musterstraße 1", 200)); got != "" {
		t.Errorf("plain line: got %q", got)
	}
	if got, want := code(t, validate.Line("a\nb", 200)), validate.CodeText; got != want {
		t.Errorf("line break in a line: got %q, want %q", got, want)
	}
	if got, want := code(t, validate.Line(strings.Repeat("ä", 201), 200)), validate.CodeTooLong; got != want {
		t.Errorf("201 characters: got %q, want %q", got, want)
	}
	if got := code(t, validate.Line(strings.Repeat("ä", 200), 200)); got != "" {
		t.Errorf("200 characters (400 bytes): got %q, want none", got)
	}
	if got := code(t, validate.Paragraph("Zeile 1\nZeile 2", 2000)); got != "" {
		t.Errorf("paragraph with a line break: got %q", got)
	}
	if got, want := code(t, validate.Paragraph("a\x00b", 2000)), validate.CodeText; got != want {
		t.Errorf("NUL in a paragraph: got %q, want %q", got, want)
	}
}

func TestBool(t *testing.T) {
	check(t, validate.Bool, []testCase{
		{"true", ""}, {"false", ""},
		{"yes", validate.CodeBool}, {"", validate.CodeBool}, {"True", validate.CodeBool},
	})
}

func TestError_IsMatchesCode(t *testing.T) {
	err := validate.IBAN("DE89370400440532013001")
	if !errors.Is(err, &validate.Error{Code: validate.CodeIBANCheck}) {
		t.Errorf("errors.Is(%v, iban_check) = false", err)
	}
	if errors.Is(err, &validate.Error{Code: validate.CodeIBANLength}) {
		t.Errorf("errors.Is(%v, iban_length) = true", err)
	}
}
