package fitconnect_test

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// clock is the time both the client and the fake service see.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeService plays the token endpoint and the Submission API as FITKO documents them,
// as far as the client's tests need. Each test tunes its fields.
type fakeService struct {
	t     testing.TB
	srv   *httptest.Server
	clock *clock

	mu            sync.Mutex
	tokenLifetime time.Duration
	tokens        map[string]time.Time // access token -> expiry
	tokensIssued  int
	tokenFailure  int // status the token endpoint answers, 0 = serve tokens
	apiCalls      int
	destination   map[string]any
	keys          map[string]any // kid -> JWK
	jwks          []any
	jwksFetches   int
	submissions   map[string]*fakeSubmission
	events        map[string][]string // caseId -> tokens
	pageSize      int
	fail          map[string]failure // "METHOD path" -> answer
}

type failure struct {
	status      int
	contentType string
	body        string
}

type fakeSubmission struct {
	caseID, destinationID string
	serviceType           map[string]string
	announced             []string
	uploaded              map[string]string
	contentTypes          map[string]string
	metadata, data        string
}

const (
	testClientID = "sender-1"
	testSecret   = "s3cret"
	testLeiKa    = "urn:de:fim:leika:leistung:99108008001000"
)

var testService = fitconnect.ServiceType{Name: "Hundesteuer Anmeldung", Identifier: testLeiKa}

func newFake(t testing.TB) *fakeService {
	f := &fakeService{
		t: t, clock: &clock{t: time.Now()}, tokenLifetime: time.Hour,
		tokens: map[string]time.Time{}, keys: map[string]any{}, submissions: map[string]*fakeSubmission{},
		events: map[string][]string{}, pageSize: 500, fail: map[string]failure{},
	}
	f.destination = map[string]any{
		"destinationId": uuid.NewString(), "status": "active", "encryptionKid": "enc-1",
		"metadataVersions": []string{"1.0.0"},
		"services": []any{map[string]any{
			"identifier": testLeiKa, "regions": []string{"DE09162000"},
			"submissionSchemas": []any{map[string]any{"schemaUri": "https://example.org/hund.schema.json", "mimeType": "application/json"}},
		}},
	}
	f.srv = httptest.NewServer(f.routes())
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeService) destID() string { return f.destination["destinationId"].(string) }

func (f *fakeService) client(t testing.TB, anchors *x509.CertPool) *fitconnect.Client {
	t.Helper()
	c, err := fitconnect.New(fitconnect.Config{
		SubmissionAPI: f.srv.URL, TokenURL: f.srv.URL + "/token", TrustAnchors: anchors,
		ClientID: testClientID, ClientSecret: testSecret, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeService) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /.well-known/jwks.json", f.getJWKS)
	mux.HandleFunc("GET /v1/destinations/{id}", f.api(f.getDestination))
	mux.HandleFunc("GET /v1/destinations/{id}/keys/{kid}", f.api(f.getKey))
	mux.HandleFunc("POST /v1/submissions", f.api(f.createSubmission))
	mux.HandleFunc("PUT /v1/submissions/{id}/attachments/{aid}", f.api(f.uploadAttachment))
	mux.HandleFunc("PUT /v1/submissions/{id}", f.api(f.submit))
	mux.HandleFunc("GET /v1/submissions/{id}", f.api(f.getSubmission))
	mux.HandleFunc("GET /v1/cases/{caseId}/events", f.api(f.getEvents))
	return mux
}

func (f *fakeService) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenFailure != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.tokenFailure)
		_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	if r.PostFormValue("grant_type") != "client_credentials" ||
		r.PostFormValue("client_id") != testClientID || r.PostFormValue("client_secret") != testSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
		return
	}
	f.tokensIssued++
	tok := "token-" + strconv.Itoa(f.tokensIssued)
	f.tokens[tok] = f.clock.Now().Add(f.tokenLifetime)
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(f.tokenLifetime.Seconds())})
}

// api checks the bearer token and injected failures, then serves h under the lock.
func (f *fakeService) api(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.apiCalls++
		tok := r.Header.Get("Authorization")
		exp, ok := f.tokens[trimBearer(tok)]
		if !ok || f.clock.Now().After(exp) {
			problem(w, 401, "https://schema.fitko.de/fit-connect/submission-api/problems/unauthorized", "Unauthorized", "")
			return
		}
		if fl, ok := f.fail[r.Method+" "+r.URL.Path]; ok {
			w.Header().Set("Content-Type", fl.contentType)
			w.WriteHeader(fl.status)
			_, _ = io.WriteString(w, fl.body)
			return
		}
		h(w, r)
	}
}

func trimBearer(h string) string {
	if len(h) > 7 && h[:7] == "Bearer " {
		return h[7:]
	}
	return ""
}

func (f *fakeService) getJWKS(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jwksFetches++
	writeJSON(w, 200, map[string]any{"keys": f.jwks})
}

func (f *fakeService) getDestination(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != f.destID() {
		problem(w, 404, "about:blank", "Destination not found", "")
		return
	}
	writeJSON(w, 200, f.destination)
}

func (f *fakeService) getKey(w http.ResponseWriter, r *http.Request) {
	k, ok := f.keys[r.PathValue("kid")]
	if !ok || r.PathValue("id") != f.destID() {
		problem(w, 404, "about:blank", "Key not found", "")
		return
	}
	writeJSON(w, 200, k)
}

func (f *fakeService) createSubmission(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DestinationID        string            `json:"destinationId"`
		AnnouncedAttachments []string          `json:"announcedAttachments"`
		ServiceType          map[string]string `json:"serviceType"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.DestinationID != f.destID() || req.ServiceType["identifier"] == "" {
		problem(w, 400, "about:blank", "Bad Request", "invalid submission")
		return
	}
	id, caseID := uuid.NewString(), uuid.NewString()
	f.submissions[id] = &fakeSubmission{caseID: caseID, destinationID: req.DestinationID, serviceType: req.ServiceType,
		announced: req.AnnouncedAttachments, uploaded: map[string]string{}, contentTypes: map[string]string{}}
	writeJSON(w, 201, map[string]any{"destinationId": req.DestinationID, "submissionId": id, "caseId": caseID})
}

func (f *fakeService) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	s, ok := f.submissions[r.PathValue("id")]
	if !ok {
		problem(w, 404, "about:blank", "Submission not found", "")
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.uploaded[r.PathValue("aid")] = string(body)
	s.contentTypes[r.PathValue("aid")] = r.Header.Get("Content-Type")
	w.WriteHeader(204)
}

func (f *fakeService) submit(w http.ResponseWriter, r *http.Request) {
	s, ok := f.submissions[r.PathValue("id")]
	if !ok {
		problem(w, 404, "about:blank", "Submission not found", "")
		return
	}
	for _, a := range s.announced {
		if _, ok := s.uploaded[a]; !ok {
			problem(w, 422, "https://schema.fitko.de/fit-connect/submission-api/problems/missing-attachments",
				"Missing attachments", "not every announced attachment was uploaded")
			return
		}
	}
	var req struct{ EncryptedMetadata, EncryptedData string }
	_ = json.NewDecoder(r.Body).Decode(&req)
	s.metadata, s.data = req.EncryptedMetadata, req.EncryptedData
	writeJSON(w, 202, map[string]any{"destinationId": s.destinationID, "submissionId": r.PathValue("id"), "caseId": s.caseID})
}

func (f *fakeService) getSubmission(w http.ResponseWriter, r *http.Request) {
	s, ok := f.submissions[r.PathValue("id")]
	if !ok {
		problem(w, 404, "about:blank", "Submission not found", "")
		return
	}
	ans := map[string]any{"destinationId": s.destinationID, "submissionId": r.PathValue("id"), "caseId": s.caseID,
		"attachments": s.announced, "serviceType": s.serviceType}
	if s.metadata != "" {
		ans["encryptedMetadata"], ans["encryptedData"] = s.metadata, s.data
	}
	writeJSON(w, 200, ans)
}

func (f *fakeService) getEvents(w http.ResponseWriter, r *http.Request) {
	log := f.events[r.PathValue("caseId")]
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	limit = min(limit, f.pageSize)
	end := min(offset+limit, len(log))
	page := []string{}
	if offset < end {
		page = log[offset:end]
	}
	writeJSON(w, 200, map[string]any{"offset": offset, "count": len(page), "totalCount": len(log), "eventLog": page})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": typ, "title": title, "status": status, "detail": detail,
		"instance": fmt.Sprintf("/v1/x/%d", status)})
}
