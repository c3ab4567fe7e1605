package fitconnecttest_test

// A minimal sender written in the test with net/http and go-jose, independent of internal/fitconnect,
// so that the double is checked against FIT-Connect's description and not against the client it tests.

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
	"github.com/go-jose/go-jose/v4"
)

const testService = fitconnecttest.DefaultService

type sender struct {
	t     testing.TB
	s     *fitconnecttest.Service
	token string
}

func newSender(t testing.TB, s *fitconnecttest.Service) *sender {
	t.Helper()
	snd := &sender{t: t, s: s}
	snd.token = snd.fetchToken()
	return snd
}

// fetchToken asks the token endpoint with HTTP Basic client authentication.
func (c *sender) fetchToken() string {
	c.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, c.s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.s.ClientID()), url.QueryEscape(c.s.ClientSecret()))
	status, body := do(c.t, req)
	if status != http.StatusOK {
		c.t.Fatalf("token: status %d: %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	mustJSON(c.t, body, &tok)
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") || tok.ExpiresIn <= 0 {
		c.t.Fatalf("token answer %s", body)
	}
	return tok.AccessToken
}

func (c *sender) call(method, path, contentType string, body []byte) (int, []byte, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL()+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (c *sender) getJSON(path string, into any) {
	c.t.Helper()
	status, body, _ := c.call(http.MethodGet, path, "", nil)
	if status != http.StatusOK {
		c.t.Fatalf("GET %s: status %d: %s", path, status, body)
	}
	mustJSON(c.t, body, into)
}

type destination struct {
	DestinationID string `json:"destinationId"`
	Status        string `json:"status"`
	EncryptionKid string `json:"encryptionKid"`
	Services      []struct {
		Identifier        string `json:"identifier"`
		SubmissionSchemas []struct {
			SchemaURI string `json:"schemaUri"`
			MimeType  string `json:"mimeType"`
		} `json:"submissionSchemas"`
	} `json:"services"`
}

// publishedKey is a destination key as published, with the members go-jose does not model.
type publishedKey struct {
	jwk    jose.JSONWebKey
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
}

func (c *sender) destinationKey(kid string) publishedKey {
	c.t.Helper()
	status, body, _ := c.call(http.MethodGet, "/v1/destinations/"+c.s.DestinationID()+"/keys/"+kid, "", nil)
	if status != http.StatusOK {
		c.t.Fatalf("key %s: status %d: %s", kid, status, body)
	}
	var k publishedKey
	mustJSON(c.t, body, &k)
	if err := k.jwk.UnmarshalJSON(body); err != nil {
		c.t.Fatalf("key %s is not a JWK: %v", kid, err)
	}
	return k
}

// verifyChain checks the key's x5c chain against the service's root, as a careful client does.
func verifyChain(t testing.TB, s *fitconnecttest.Service, k publishedKey) error {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.RootPEM()) {
		t.Fatal("RootPEM is not a PEM certificate")
	}
	if len(k.jwk.Certificates) == 0 {
		return fmt.Errorf("no x5c")
	}
	inter := x509.NewCertPool()
	for _, c := range k.jwk.Certificates[1:] {
		inter.AddCert(c)
	}
	_, err := k.jwk.Certificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

func encrypt(t testing.TB, k publishedKey, plain []byte) string {
	t.Helper()
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: k.jwk.Key, KeyID: k.jwk.KeyID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type attachment struct {
	id, filename, mimeType, purpose string
	data                            []byte
}

// content is one submission before encryption.
type content struct {
	data        []byte
	attachments []attachment
}

func hashOf(b []byte) map[string]string {
	sum := sha512.Sum512(b)
	return map[string]string{"type": "sha512", "content": hex.EncodeToString(sum[:])}
}

// metadata is FIT-Connect's metadata document for c, as the documentation describes it.
func metadata(c content) map[string]any {
	var atts []any
	for _, a := range c.attachments {
		atts = append(atts, map[string]any{
			"attachmentId": a.id, "hash": hashOf(a.data), "filename": a.filename, "mimeType": a.mimeType, "purpose": a.purpose,
		})
	}
	if atts == nil {
		atts = []any{}
	}
	return map[string]any{
		"$schema": fitconnecttest.MetadataSchemaID,
		"contentStructure": map[string]any{
			"data": map[string]any{
				"hash":             hashOf(c.data),
				"submissionSchema": map[string]string{"schemaUri": fitconnecttest.AnySchemaURI, "mimeType": "application/json"},
			},
			"attachments": atts,
		},
		"publicServiceType": map[string]string{"name": "Testleistung", "identifier": testService},
	}
}

func sampleContent() content {
	return content{
		data: []byte(`{"form":{"field":"value"}}`),
		attachments: []attachment{
			{id: "6f1c3e0a-4b5d-4c6e-8f70-112233445566", filename: "signature.png", mimeType: "image/png", purpose: "attachment", data: []byte("\x89PNG fake signature")},
			{id: "0b799252-deb9-42b0-98d3-c50d24bbafe0", filename: "iris.bin", mimeType: "application/octet-stream", purpose: "attachment", data: bytes.Repeat([]byte{7}, 3000)},
			{id: "25abf553-0e53-43b9-a14a-1581b32a9ee5", filename: "empty.txt", mimeType: "text/plain", purpose: "report", data: []byte{}},
		},
	}
}

type created struct {
	SubmissionID  string `json:"submissionId"`
	CaseID        string `json:"caseId"`
	DestinationID string `json:"destinationId"`
}

func (c *sender) create(ids []string) created {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"destinationId":        c.s.DestinationID(),
		"serviceType":          map[string]string{"name": "Testleistung", "identifier": testService},
		"announcedAttachments": ids,
	})
	status, resp, _ := c.call(http.MethodPost, "/v1/submissions", "application/json", body)
	if status != http.StatusCreated {
		c.t.Fatalf("create: status %d: %s", status, resp)
	}
	var cr created
	mustJSON(c.t, resp, &cr)
	return cr
}

func (c *sender) upload(submissionID, attachmentID, jwe string) int {
	c.t.Helper()
	status, body, _ := c.call(http.MethodPut, "/v1/submissions/"+submissionID+"/attachments/"+attachmentID, "application/jose", []byte(jwe))
	if status >= 300 {
		c.t.Logf("upload: %d %s", status, body)
	}
	return status
}

func (c *sender) submit(submissionID, metaJWE, dataJWE string) (int, []byte, http.Header) {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"encryptedMetadata": metaJWE, "encryptedData": dataJWE})
	return c.call(http.MethodPut, "/v1/submissions/"+submissionID, "application/json", body)
}

// send runs the whole flow for c with the given metadata, returning the created submission.
func (c *sender) send(key publishedKey, cont content, meta map[string]any) created {
	c.t.Helper()
	var ids []string
	for _, a := range cont.attachments {
		ids = append(ids, a.id)
	}
	cr := c.create(ids)
	for _, a := range cont.attachments {
		if st := c.upload(cr.SubmissionID, a.id, encrypt(c.t, key, a.data)); st != http.StatusNoContent {
			c.t.Fatalf("upload %s: status %d", a.id, st)
		}
	}
	metaJSON, _ := json.Marshal(meta)
	status, body, _ := c.submit(cr.SubmissionID, encrypt(c.t, key, metaJSON), encrypt(c.t, key, cont.data))
	if status != http.StatusAccepted {
		c.t.Fatalf("submit: status %d: %s", status, body)
	}
	return cr
}

func (c *sender) encryptionKey() publishedKey {
	c.t.Helper()
	var d destination
	c.getJSON("/v1/destinations/"+c.s.DestinationID(), &d)
	return c.destinationKey(d.EncryptionKid)
}

type eventPage struct {
	Offset     int      `json:"offset"`
	Count      int      `json:"count"`
	TotalCount int      `json:"totalCount"`
	EventLog   []string `json:"eventLog"`
}

// eventLog reads a case's whole event log in pages of limit.
func (c *sender) eventLog(caseID string, limit int) []string {
	c.t.Helper()
	var all []string
	for {
		var p eventPage
		c.getJSON(fmt.Sprintf("/v1/cases/%s/events?offset=%d&limit=%d", caseID, len(all), limit), &p)
		all = append(all, p.EventLog...)
		if p.Count == 0 || len(all) >= p.TotalCount {
			return all
		}
	}
}

type setClaims struct {
	Iss    string                     `json:"iss"`
	Iat    int64                      `json:"iat"`
	Jti    string                     `json:"jti"`
	Sub    string                     `json:"sub"`
	Txn    string                     `json:"txn"`
	Events map[string]json.RawMessage `json:"events"`
}

// verifyEvent verifies a SET as FIT-Connect's SET validation describes: PS512, typ secevent+jwt, kid;
// the key from the service's JWKS or, for the authority's events, the destination's key by kid.
func (c *sender) verifyEvent(token string) (setClaims, error) {
	c.t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.PS512})
	if err != nil {
		return setClaims{}, fmt.Errorf("parse: %w", err)
	}
	h := jws.Signatures[0].Header
	if h.ExtraHeaders["typ"] != "secevent+jwt" {
		return setClaims{}, fmt.Errorf("typ %v", h.ExtraHeaders["typ"])
	}
	key, err := c.eventKey(h.KeyID)
	if err != nil {
		return setClaims{}, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return setClaims{}, fmt.Errorf("verify: %w", err)
	}
	var cl setClaims
	mustJSON(c.t, payload, &cl)
	return cl, nil
}

func (c *sender) eventKey(kid string) (*rsa.PublicKey, error) {
	var jwks jose.JSONWebKeySet
	c.getJSON("/.well-known/jwks.json", &jwks)
	if keys := jwks.Key(kid); len(keys) == 1 {
		return keys[0].Key.(*rsa.PublicKey), nil
	}
	k := c.destinationKey(kid)
	if err := verifyChain(c.t, c.s, k); err != nil {
		return nil, fmt.Errorf("signature key chain: %w", err)
	}
	if k.Alg != "PS512" || !contains(k.KeyOps, "verify") {
		return nil, fmt.Errorf("key %s is not a PS512 verify key", kid)
	}
	return k.jwk.Key.(*rsa.PublicKey), nil
}

func eventType(t testing.TB, cl setClaims) string {
	t.Helper()
	if len(cl.Events) != 1 {
		t.Fatalf("events %v: want exactly one", cl.Events)
	}
	for k := range cl.Events {
		return k
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func do(t testing.TB, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustJSON(t testing.TB, b []byte, into any) {
	t.Helper()
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
}

type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
}

// wantProblem checks an RFC 7807 answer.
func wantProblem(t testing.TB, status int, body []byte, header http.Header, wantStatus int, typeSuffix string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problemDoc
	mustJSON(t, body, &p)
	if p.Status != wantStatus || !strings.HasSuffix(p.Type, typeSuffix) || p.Title == "" {
		t.Fatalf("problem %+v, want status %d and type …%s", p, wantStatus, typeSuffix)
	}
}

// clock is a settable time source for the double.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
