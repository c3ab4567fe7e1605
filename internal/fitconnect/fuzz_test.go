package fitconnect

import (
	"errors"
	"testing"
)

// FuzzPeek feeds arbitrary event-log entries to the token pre-check: it must never panic
// and must refuse everything that is not a PS512 secevent+jwt with kid.
func FuzzPeek(f *testing.F) {
	f.Add("eyJhbGciOiJQUzUxMiIsInR5cCI6InNlY2V2ZW50K2p3dCIsImtpZCI6ImsifQ.eyJpc3MiOiJ4In0.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		h, _, err := peek(token)
		if err == nil && (h.Alg != setAlg || h.Typ != setType || h.Kid == "") {
			t.Fatalf("accepted header %+v", h)
		}
		if err != nil && !errors.Is(err, ErrEventRefused) {
			t.Fatalf("error %v does not wrap ErrEventRefused", err)
		}
	})
}

// FuzzProblems feeds arbitrary bodies to the problem parsers of answers and reject events.
func FuzzProblems(f *testing.F) {
	f.Add([]byte(`{"type":"t","title":"x","status":422,"detail":"d","instance":"i"}`))
	f.Add([]byte(`{"problems":[{"type":"t","title":"x"}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := parseProblem(503, "application/problem+json", body)
		if p.Status != 503 || !p.Temporary() {
			t.Fatalf("status lost: %+v", p)
		}
		if _, err := parseProblems(body); err != nil && !errors.Is(err, ErrEventRefused) {
			t.Fatalf("error %v does not wrap ErrEventRefused", err)
		}
	})
}
