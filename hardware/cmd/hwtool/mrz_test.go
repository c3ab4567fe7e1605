// Tests for `hwtool mrz`: the shared public vectors in every framing a reader
// uses, and input that is not an MRZ.
package main

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
)

const publicVectorsPath = "../../../../shared/testdata/mrz-public.json"

type publicVector struct {
	Description string         `json:"description"`
	MRZ         []string       `json:"mrz"`
	Expected    map[string]any `json:"expected"`
}

func publicVectors(t *testing.T) []publicVector {
	t.Helper()
	data, err := os.ReadFile(publicVectorsPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s absent", publicVectorsPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	var vs []publicVector
	if err := json.Unmarshal(data, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// Every public vector, in every framing, prints the expected JSON object
// and exits 0 if valid, 1 if a check failed.
func TestMRZ_PublicVectorsInEveryFraming(t *testing.T) {
	for _, v := range publicVectors(t) {
		for _, f := range mrzsim.Framings {
			t.Run(v.Description+"/"+string(f), func(t *testing.T) {
				code, stdout, stderr := runHwtool(t, string(mrzsim.Encode(f, v.MRZ)), "mrz")
				wantCode := 1
				if v.Expected["valid"] == true {
					wantCode = 0
				}
				if code != wantCode {
					t.Fatalf("exit %d, want %d; stderr %q", code, wantCode, stderr)
				}
				if strings.Count(stdout, "\n") != 1 {
					t.Fatalf("stdout %q, want one JSON line", stdout)
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatal(err)
				}
				for k, want := range v.Expected {
					if !reflect.DeepEqual(got[k], want) {
						t.Errorf("%s = %v, want %v", k, got[k], want)
					}
				}
			})
		}
	}
}

// Text pasted by hand: surrounding blanks, no final newline, line noise
// before it.
func TestMRZ_LooseInput(t *testing.T) {
	inputs := []string{
		"  IDD<<T220001293<<<<<<<<<<<<<<<\n  6408125<2010315D<<<<<<<<<<<<<4\n  MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
		"\x00\xffIDD<<T220001293<<<<<<<<<<<<<<<\r\n6408125<2010315D<<<<<<<<<<<<<4\r\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<\r\n",
	}
	for _, in := range inputs {
		code, stdout, stderr := runHwtool(t, in, "mrz")
		if code != 0 || !strings.Contains(stdout, `"surname":"MUSTERMANN"`) {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	}
}

// Input that is not an MRZ exits 2, prints no JSON and does not echo the
// input (it may be personal data).
func TestMRZ_NotMRZ(t *testing.T) {
	inputs := map[string]string{
		"empty":       "",
		"free text":   "Erika Mustermann, Heidestrasse 17, 51147 Koeln\n",
		"one line":    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n",
		"lower case":  "p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n",
		"binary":      "\x01\x02\x03\xff\xfe",
		"broken RTE":  string(mrzsim.Encode(mrzsim.RTE, []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"})),
		"short lines": "P<UTOERIKSSON<<ANNA\nL898902C36UTO\n",
	}
	for name, in := range inputs {
		code, stdout, stderr := runHwtool(t, in, "mrz")
		if code != 2 || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q; want 2 and nothing", name, code, stdout)
		}
		for _, w := range []string{"ERIKSSON", "Mustermann", "L898902C3"} {
			if strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q repeats the input", name, stderr)
			}
		}
	}
}

// The documents of issue 17 in every framing: a French ID card of before 2021
// (2×36, told from a TD2 by its layout), a passport whose holder's birthday
// is unknown, and a TD1 whose long number has no closing filler.
func TestMRZ_Issue17Documents(t *testing.T) {
	docs := []struct {
		name  string
		lines []string
		code  int
		want  map[string]any
	}{
		{
			// Built from the published FR-CNI layout, fictitious holder
			// (see internal/mrz rules_test.go).
			name:  "FR-CNI",
			lines: []string{"IDFRAMARTIN<<<<<<<<<<<<<<<<<<<093045", "1205930123451ANNE<<MARIE<<<6906207F1"},
			want: map[string]any{"format": "FR-CNI", "surname": "MARTIN", "given_names": "ANNE MARIE",
				"document_number": "120593012345", "birth_date": "1969-06-20", "sex": "F", "valid": true},
		},
		{
			// The ICAO TD3 specimen with birth date 85<<<< (check digit 1).
			name:  "year of birth only",
			lines: []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO85<<<<1F1204159ZE184226B<<<<<12"},
			want:  map[string]any{"format": "TD3", "birth_date": "1985", "valid": true},
		},
		{
			name: "long number without closing filler",
			lines: []string{"IDNLD4K8EZA3BI<BWU9ZSOKTR8IFE5", "7408122F1204159UTO<<<<<<<<<<<8",
				"ERIKSSON<<ANNA<MARIA<<<<<<<<<<"},
			code: 1,
			want: map[string]any{"format": "TD1", "errors": []any{"document_number"}, "valid": false},
		},
	}
	for _, d := range docs {
		for _, f := range mrzsim.Framings {
			t.Run(d.name+"/"+string(f), func(t *testing.T) {
				code, stdout, stderr := runHwtool(t, string(mrzsim.Encode(f, d.lines)), "mrz")
				if code != d.code {
					t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, d.code, stdout, stderr)
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatal(err)
				}
				for k, want := range d.want {
					if !reflect.DeepEqual(got[k], want) {
						t.Errorf("%s = %v, want %v", k, got[k], want)
					}
				}
			})
		}
	}
}
