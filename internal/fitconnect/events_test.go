package fitconnect_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// caseLog is one submission's ids and the tokens of its event log.
type caseLog struct {
	w                    *world
	submissionID, caseID string
	serviceIss, destIss  string
}

func newCaseLog(w *world) *caseLog {
	return &caseLog{w: w, submissionID: uuid.NewString(), caseID: uuid.NewString(),
		serviceIss: w.f.srv.URL, destIss: w.f.destID()}
}

func (l *caseLog) claims(iss, event string, payload any) map[string]any {
	return map[string]any{
		"jti": uuid.NewString(), "iss": iss, "iat": l.w.f.clock.Now().Add(-time.Minute).Unix(),
		"sub": "submission:" + l.submissionID, "txn": "case:" + l.caseID,
		"events": map[string]any{event: payload},
	}
}

func (l *caseLog) submitEvent(t testing.TB) string {
	return signSET(t, l.w.keys.svc, jose.PS512, svcKid, "secevent+jwt", l.claims(l.serviceIss, fitconnect.EventSubmit, map[string]any{}))
}

func (l *caseLog) acceptEvent(t testing.TB) string {
	return signSET(t, l.w.keys.sig, jose.PS512, sigKid, "secevent+jwt", l.claims(l.destIss, fitconnect.EventAccept, map[string]any{}))
}

func (l *caseLog) publish(tokens ...string) { l.w.f.events[l.caseID] = tokens }

func (l *caseLog) fetch(t testing.TB) fitconnect.EventLog {
	t.Helper()
	log, err := l.w.c.Events(context.Background(), l.caseID, l.w.f.destID(), l.submissionID)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func signSET(t testing.TB, key any, alg jose.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload := mustJSON(t, claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEvents_VerifiedByIssuer(t *testing.T) {
	w := newWorld(t)
	l := newCaseLog(w)
	reject := signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt", l.claims(l.destIss, fitconnect.EventReject,
		map[string]any{"problems": []any{map[string]any{
			"type":  "https://schema.fitko.de/fit-connect/events/problems/missing-schema",
			"title": "Schema fehlt", "detail": "Das Fachschema ist nicht bekannt.", "instance": "data"}}}))
	l.publish(l.submitEvent(t), l.acceptEvent(t), reject)

	log := l.fetch(t)
	if len(log.Refused) != 0 {
		t.Fatalf("refused: %v", log.Refused[0].Err)
	}
	want := []struct{ typ, iss string }{
		{fitconnect.EventSubmit, l.serviceIss}, {fitconnect.EventAccept, l.destIss}, {fitconnect.EventReject, l.destIss},
	}
	if len(log.Events) != len(want) {
		t.Fatalf("events = %d, want %d", len(log.Events), len(want))
	}
	for i, ev := range log.Events {
		if ev.Type != want[i].typ || ev.Issuer != want[i].iss || ev.SubmissionID != l.submissionID || ev.CaseID != l.caseID {
			t.Errorf("event %d = %+v, want %s by %s", i, ev, want[i].typ, want[i].iss)
		}
	}
	p := log.Events[2].Problems
	if len(p) != 1 || p[0].Title != "Schema fehlt" || p[0].Instance != "data" ||
		p[0].Type != "https://schema.fitko.de/fit-connect/events/problems/missing-schema" {
		t.Fatalf("reject problems = %+v", p)
	}
}

func TestEvents_RefusesBadTokens(t *testing.T) {
	w := newWorld(t)
	l := newCaseLog(w)
	good := l.acceptEvent(t)
	parts := strings.Split(good, ".")
	otherSub := l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})
	otherSub["sub"] = "submission:" + uuid.NewString()
	otherTxn := l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})
	otherTxn["txn"] = "case:" + uuid.NewString()
	future := l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})
	future["iat"] = w.f.clock.Now().Add(time.Hour).Unix()
	twoEvents := l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})
	twoEvents["events"] = map[string]any{fitconnect.EventAccept: map[string]any{}, fitconnect.EventReject: map[string]any{}}
	noJti := l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})
	delete(noJti, "jti")

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"tampered payload", parts[0] + "." + tamper(t, parts[1]) + "." + parts[2], fitconnect.ErrEventSignature},
		{"unsigned (alg none)", unsigned(t, l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventHeader},
		{"signature stripped", parts[0] + "." + parts[1] + ".", fitconnect.ErrEventSignature},
		{"HS512", signSET(t, []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), jose.HS512, sigKid,
			"secevent+jwt", l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventHeader},
		{"RS512", signSET(t, w.keys.sig, jose.RS512, sigKid, "secevent+jwt",
			l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventHeader},
		{"typ JWT", signSET(t, w.keys.sig, jose.PS512, sigKid, "JWT",
			l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventHeader},
		{"wrong sub", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt", otherSub), fitconnect.ErrEventClaims},
		{"wrong txn", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt", otherTxn), fitconnect.ErrEventClaims},
		{"iat in the future", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt", future), fitconnect.ErrEventClaims},
		{"two events", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt", twoEvents), fitconnect.ErrEventClaims},
		{"no jti", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt", noJti), fitconnect.ErrEventClaims},
		{"signed by another key", signSET(t, w.keys.enc, jose.PS512, sigKid, "secevent+jwt",
			l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventSignature},
		{"accept issued by the service", signSET(t, w.keys.svc, jose.PS512, svcKid, "secevent+jwt",
			l.claims(l.serviceIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventIssuer},
		{"submit issued by the destination", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt",
			l.claims(l.destIss, fitconnect.EventSubmit, map[string]any{})), fitconnect.ErrEventIssuer},
		{"unknown issuer", signSET(t, w.keys.sig, jose.PS512, sigKid, "secevent+jwt",
			l.claims("https://evil.example", fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventIssuer},
		{"unknown destination kid", signSET(t, w.keys.sig, jose.PS512, "sig-9", "secevent+jwt",
			l.claims(l.destIss, fitconnect.EventAccept, map[string]any{})), fitconnect.ErrEventKey},
		{"unknown service kid", signSET(t, w.keys.svc, jose.PS512, "svc-9", "secevent+jwt",
			l.claims(l.serviceIss, fitconnect.EventSubmit, map[string]any{})), fitconnect.ErrEventKey},
		{"not a JWS", "abc", fitconnect.ErrEventMalformed},
	}
	tokens := []string{good}
	for _, tc := range cases {
		tokens = append(tokens, tc.token)
	}
	l.publish(tokens...)
	log := l.fetch(t)
	if len(log.Events) != 1 || log.Events[0].Type != fitconnect.EventAccept {
		t.Fatalf("verified = %+v, want only the good accept", log.Events)
	}
	if len(log.Refused) != len(cases) {
		t.Fatalf("refused %d tokens, want %d", len(log.Refused), len(cases))
	}
	for i, r := range log.Refused {
		tc := cases[i]
		if r.Index != i+1 || !errors.Is(r.Err, tc.want) || !errors.Is(r.Err, fitconnect.ErrEventRefused) {
			t.Errorf("%s: index %d err %v, want %v", tc.name, r.Index, r.Err, tc.want)
		}
		for _, seg := range strings.Split(tc.token, ".") {
			if len(seg) > 8 && strings.Contains(r.Err.Error(), seg) {
				t.Errorf("%s: error text carries token contents", tc.name)
			}
		}
	}
}

func TestEvents_RefusesWeakDestinationSignatureKey(t *testing.T) {
	w := newWorld(t)
	l := newCaseLog(w)
	w.f.keys[sigKid] = publicJWK(&w.keys.short.PublicKey, sigKid, "PS512", []string{"verify"}, w.ca.x5c(t, &w.keys.short.PublicKey))
	weak := signSET(t, w.keys.short, jose.PS512, sigKid, "secevent+jwt", l.claims(l.destIss, fitconnect.EventAccept, map[string]any{}))
	w.f.keys["sig-2"] = publicJWK(&w.keys.enc.PublicKey, "sig-2", "PS512", []string{"verify"}, newCA(t, "fremd").x5c(t, &w.keys.enc.PublicKey))
	foreign := signSET(t, w.keys.enc, jose.PS512, "sig-2", "secevent+jwt", l.claims(l.destIss, fitconnect.EventAccept, map[string]any{}))
	l.publish(weak, foreign)
	log := l.fetch(t)
	if len(log.Events) != 0 || len(log.Refused) != 2 ||
		!errors.Is(log.Refused[0].Err, fitconnect.ErrKeyTooShort) || !errors.Is(log.Refused[1].Err, fitconnect.ErrKeyChain) {
		t.Fatalf("log = %+v", log)
	}
}

func TestEvents_ReadsAllPages(t *testing.T) {
	w := newWorld(t)
	l := newCaseLog(w)
	w.f.pageSize = 2
	var tokens []string
	for range 5 {
		tokens = append(tokens, l.submitEvent(t))
	}
	l.publish(tokens...)
	log := l.fetch(t)
	if len(log.Events) != 5 || len(log.Refused) != 0 {
		t.Fatalf("events %d refused %d, want 5 and 0", len(log.Events), len(log.Refused))
	}
}

func TestEvents_JWKSCachedAndRefetchedOnUnknownKid(t *testing.T) {
	w := newWorld(t)
	l := newCaseLog(w)
	l.publish(l.submitEvent(t))
	l.fetch(t)
	l.fetch(t)
	if w.f.jwksFetches != 1 {
		t.Fatalf("JWKS fetched %d times for two polls, want 1 (cached)", w.f.jwksFetches)
	}
	// The service rotates its key: the unknown kid makes the client fetch the JWKS again, once.
	rotated := publicJWK(&w.keys.svc2.PublicKey, "svc-2", "PS512", []string{"verify"}, nil)
	w.f.jwks = append(w.f.jwks, rotated)
	l.publish(signSET(t, w.keys.svc2, jose.PS512, "svc-2", "secevent+jwt", l.claims(l.serviceIss, fitconnect.EventSubmit, map[string]any{})),
		signSET(t, w.keys.svc2, jose.PS512, "svc-7", "secevent+jwt", l.claims(l.serviceIss, fitconnect.EventSubmit, map[string]any{})),
		signSET(t, w.keys.svc2, jose.PS512, "svc-8", "secevent+jwt", l.claims(l.serviceIss, fitconnect.EventSubmit, map[string]any{})))
	log := l.fetch(t)
	if len(log.Events) != 1 || len(log.Refused) != 2 {
		t.Fatalf("events %d refused %d, want 1 and 2", len(log.Events), len(log.Refused))
	}
	if w.f.jwksFetches != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one refetch per poll for unknown kids)", w.f.jwksFetches)
	}
}

func TestEvents_ServerErrorIsNotARefusal(t *testing.T) {
	w := newWorld(t)
	l := newCaseLog(w)
	l.publish(l.acceptEvent(t))
	w.f.fail["GET /v1/destinations/"+w.f.destID()+"/keys/"+sigKid] = failure{503, "application/problem+json", `{"title":"down"}`}
	_, err := w.c.Events(context.Background(), l.caseID, w.f.destID(), l.submissionID)
	var p *fitconnect.ProblemError
	if !errors.As(err, &p) || !p.Temporary() {
		t.Fatalf("err = %v, want a temporary problem (try again), not a refused event", err)
	}
}

// tamper flips the case field of the claims: still valid JSON, no longer the signed bytes.
func tamper(t testing.TB, seg string) string {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), "accept-submission", "reject-submission", 1)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func unsigned(t testing.TB, claims map[string]any) string {
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"secevent+jwt","kid":"sig-1"}`))
	return hdr + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, claims)) + "."
}
