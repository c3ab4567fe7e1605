// Tests for the MRZ parser: the shared public vectors, our own vectors for
// every layout and German specifics, century rules, and input that is not an
// MRZ at all.
package mrz_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/mrz"
)

// now is the fixed "today" of every test.
var now = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// publicVectorsPath is shared/testdata beside the repository.
const publicVectorsPath = "../../../shared/testdata/mrz-public.json"

type publicVector struct {
	Description string         `json:"description"`
	MRZ         []string       `json:"mrz"`
	Expected    map[string]any `json:"expected"`
}

// Every public vector must parse to exactly the expected fields. Fields the
// vector leaves out are not compared.
func TestParseAt_PublicVectors(t *testing.T) {
	data, err := os.ReadFile(publicVectorsPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s absent", publicVectorsPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	var vectors []publicVector
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range vectors {
		t.Run(v.Description, func(t *testing.T) {
			r, err := mrz.ParseAt(v.MRZ, now)
			if err != nil {
				t.Fatalf("ParseAt: %v", err)
			}
			got := asMap(t, r)
			for k, want := range v.Expected {
				if !reflect.DeepEqual(got[k], want) {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

// asMap gives the Result as its JSON object.
func asMap(t *testing.T, r *mrz.Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseAt_Vectors(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  mrz.Result
	}{
		{
			name: "German ID card specimen",
			lines: []string{
				"IDD<<T220001293<<<<<<<<<<<<<<<",
				"6408125<2010315D<<<<<<<<<<<<<4",
				"MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
			},
			want: mrz.Result{
				Format: mrz.TD1, DocumentCode: "ID", IssuingState: "D",
				Surname: "MUSTERMANN", GivenNames: "ERIKA", DocumentNumber: "T22000129",
				Nationality: "D", BirthDate: "1964-08-12", ExpiryDate: "2020-10-31",
				Sex: "X", Valid: true, Errors: []string{},
			},
		},
		{
			name: "ICAO TD2 specimen",
			lines: []string{
				"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
				"D231458907UTO7408122F1204159<<<<<<<6",
			},
			want: mrz.Result{
				Format: mrz.TD2, DocumentCode: "I", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "D23145890",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", Valid: true, Errors: []string{},
			},
		},
		{
			name: "ICAO TD3 specimen, personal number kept as optional data",
			lines: []string{
				"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
				"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
			},
			want: mrz.Result{
				Format: mrz.TD3, DocumentCode: "P", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L898902C3",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", OptionalData: "ZE184226B", Valid: true, Errors: []string{},
			},
		},
		{
			name: "ICAO MRV-A specimen, expiry 96 is 1996",
			lines: []string{
				"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
				"L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
			},
			want: mrz.Result{
				Format: mrz.MRVA, DocumentCode: "V", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L8988901C",
				Nationality: "XXX", BirthDate: "1940-09-07", ExpiryDate: "1996-12-10",
				Sex: "F", OptionalData: "6ZE184226B", Valid: true, Errors: []string{},
			},
		},
		{
			name: "ICAO MRV-B specimen",
			lines: []string{
				"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
				"L8988901C4XXX4009078F9612109<<<<<<<<",
			},
			want: mrz.Result{
				Format: mrz.MRVB, DocumentCode: "V", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L8988901C",
				Nationality: "XXX", BirthDate: "1940-09-07", ExpiryDate: "1996-12-10",
				Sex: "F", Valid: true, Errors: []string{},
			},
		},
		{
			name: "ICAO TD1 long document number",
			lines: []string{
				"I<UTOD23145890<7349<<<<<<<<<<<",
				"3407127M9507122UTO<<<<<<<<<<<2",
				"STEVENSON<<PETER<JOHN<<<<<<<<<",
			},
			want: mrz.Result{
				Format: mrz.TD1, DocumentCode: "I", IssuingState: "UTO",
				Surname: "STEVENSON", GivenNames: "PETER JOHN", DocumentNumber: "D23145890734",
				Nationality: "UTO", BirthDate: "1934-07-12", ExpiryDate: "1995-07-12",
				Sex: "M", Valid: true, Errors: []string{},
			},
		},
		{
			name: "TD1 long document number, check digit without the filler, optional data after it",
			lines: []string{
				"I<UTOABC123456<783<AB12<<<<<<<",
				"7408122F1204159UTO<<<<<<<<<<<2",
				"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
			},
			want: mrz.Result{
				Format: mrz.TD1, DocumentCode: "I", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "ABC12345678",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", OptionalData: "AB12", Valid: true, Errors: []string{},
			},
		},
		{
			name: "TD1 long document number, check digit over the filler",
			lines: []string{
				"I<UTOABC123456<789<AB12<<<<<<<",
				"7408122F1204159UTO<<<<<<<<<<<4",
				"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
			},
			want: mrz.Result{
				Format: mrz.TD1, DocumentCode: "I", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "ABC12345678",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", OptionalData: "AB12", Valid: true, Errors: []string{},
			},
		},
		{
			name: "TD2 long document number",
			lines: []string{
				"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
				"D23145890<UTO7408122F1204159120<<<<0",
			},
			want: mrz.Result{
				Format: mrz.TD2, DocumentCode: "I", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "D2314589012",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", Valid: true, Errors: []string{},
			},
		},
		{
			name: "TD3 empty personal number with '<' as check digit",
			lines: []string{
				"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
				"L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<8",
			},
			want: mrz.Result{
				Format: mrz.TD3, DocumentCode: "P", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L898902C3",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", Valid: true, Errors: []string{},
			},
		},
		{
			name: "TD3 empty personal number with '0' as check digit",
			lines: []string{
				"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
				"L898902C36UTO7408122F1204159<<<<<<<<<<<<<<08",
			},
			want: mrz.Result{
				Format: mrz.TD3, DocumentCode: "P", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L898902C3",
				Nationality: "UTO", BirthDate: "1974-08-12", ExpiryDate: "2012-04-15",
				Sex: "F", Valid: true, Errors: []string{},
			},
		},
		{
			name: "every check fails, month 13 is no date",
			lines: []string{
				"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
				"L898902C35UTO7413122F1204158ZE184226B<<<<<21",
			},
			want: mrz.Result{
				Format: mrz.TD3, DocumentCode: "P", IssuingState: "UTO",
				Surname: "ERIKSSON", GivenNames: "ANNA MARIA", DocumentNumber: "L898902C3",
				Nationality: "UTO", BirthDate: "", ExpiryDate: "2012-04-15",
				Sex: "F", OptionalData: "ZE184226B", Valid: false,
				Errors: []string{"document_number", "birth_date", "expiry_date", "personal_number", "composite"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mrz.ParseAt(tt.lines, now)
			if err != nil {
				t.Fatalf("ParseAt: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

// Two-digit years: a birth date is in the past, an expiry date at most 20
// years ahead.
func TestParseAt_Century(t *testing.T) {
	const (
		l1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
	)
	tests := []struct {
		birth, expiry         string
		wantBirth, wantExpiry string
	}{
		{"260201", "460101", "2026-02-01", "2046-01-01"}, // today is 2026-03-01
		{"260401", "470101", "1926-04-01", "1947-01-01"},
		{"000101", "991231", "2000-01-01", "1999-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.birth+"/"+tt.expiry, func(t *testing.T) {
			l2 := line2TD3(tt.birth, tt.expiry)
			r, err := mrz.ParseAt([]string{l1, l2}, now)
			if err != nil {
				t.Fatal(err)
			}
			if r.BirthDate != tt.wantBirth || r.ExpiryDate != tt.wantExpiry {
				t.Errorf("got birth %s expiry %s, want %s %s", r.BirthDate, r.ExpiryDate, tt.wantBirth, tt.wantExpiry)
			}
			if !r.Valid {
				t.Errorf("errors %v, want none", r.Errors)
			}
		})
	}
}

// line2TD3 builds a valid TD3 second line with the given dates. It uses
// CheckDigit, which the public vectors test independently.
func line2TD3(birth, expiry string) string {
	l := "L898902C36UTO" + birth + string(mrz.CheckDigit(birth)) + "F" + expiry + string(mrz.CheckDigit(expiry)) + "<<<<<<<<<<<<<<<"
	return l + string(mrz.CheckDigit(l[0:10]+l[13:20]+l[21:43]))
}

func TestCheckDigit(t *testing.T) {
	// ICAO 9303-3 examples: document number, date, and a field with fillers.
	for in, want := range map[string]byte{"L898902C3": '6', "740812": '2', "D23145890<734": '9', "<<<<<<<<<": '0'} {
		if got := mrz.CheckDigit(in); got != want {
			t.Errorf("CheckDigit(%q) = %c, want %c", in, got, want)
		}
	}
}

// Input that is not an MRZ is an error wrapping ErrNotMRZ that does not
// repeat the input.
func TestParseAt_NotMRZ(t *testing.T) {
	td3 := []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"}
	tests := map[string][]string{
		"no lines":          nil,
		"one line":          td3[:1],
		"four lines":        {td3[0], td3[1], td3[0], td3[1]},
		"lengths differ":    {td3[0], td3[1][:36]},
		"two lines of 30":   {td3[0][:30], td3[1][:30]},
		"three lines of 44": {td3[0], td3[1], td3[0]},
		"lower case":        {strings.ToLower(td3[0]), td3[1]},
		"umlaut":            {strings.Replace(td3[0], "ERIKSSON", "ERIKSSÖN", 1), td3[1]},
		"free text":         {"Sehr geehrte Damen und Herren", "bitte unterschreiben"},
	}
	for name, lines := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := mrz.ParseAt(lines, now)
			if !errors.Is(err, mrz.ErrNotMRZ) {
				t.Fatalf("got %v, %v; want ErrNotMRZ", r, err)
			}
			for _, l := range lines {
				for _, w := range []string{"ERIKSSON", "L898902C3", "Damen"} {
					if strings.Contains(l, w) && strings.Contains(err.Error(), w) {
						t.Errorf("error %q repeats personal data", err)
					}
				}
			}
		})
	}
}

// Lines copied with surrounding white space and blank lines still parse.
func TestParseAt_TrimsWhiteSpace(t *testing.T) {
	r, err := mrz.ParseAt([]string{"", "  IDD<<T220001293<<<<<<<<<<<<<<<\r", "6408125<2010315D<<<<<<<<<<<<<4\n", "", "MUSTERMANN<<ERIKA<<<<<<<<<<<<<  "}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Surname, "MUSTERMANN"; got != want {
		t.Errorf("surname %q, want %q", got, want)
	}
}

// The JSON a result encodes to has exactly the agreed field names, and errors
// is [] rather than null.
func TestResult_JSON(t *testing.T) {
	r, err := mrz.ParseAt([]string{"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	want := []string{"birth_date", "document_code", "document_number", "errors", "expiry_date", "format", "given_names", "issuing_state", "nationality", "optional_data", "sex", "surname", "valid"}
	if !sameSet(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if got, want := string(m["errors"]), "[]"; got != want {
		t.Errorf("errors = %s, want %s", got, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}

// Fields uses the JSON names, so that every string field of a Result
// reaches the catalog's "mrz.*" sources under the name it has in JSON.
func TestResult_FieldsMatchJSON(t *testing.T) {
	r, err := mrz.ParseAt([]string{"IDD<<T220001293<<<<<<<<<<<<<<<", "6408125<2010315D<<<<<<<<<<<<<4",
		"MUSTERMANN<<ERIKA<<<<<<<<<<<<<"}, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	f := r.Fields()
	n := 0
	for name, v := range all {
		s, ok := v.(string)
		if !ok {
			continue
		}
		n++
		if got, ok := f[name]; !ok || got != s {
			t.Errorf("Fields()[%q] = %q, %t; JSON has %q", name, got, ok, s)
		}
	}
	if n != len(f) {
		t.Errorf("Fields has %d names, the JSON %d string fields", len(f), n)
	}
	if f["surname"] != "MUSTERMANN" || f["birth_date"] != "1964-08-12" {
		t.Errorf("fields %v", f)
	}
}
