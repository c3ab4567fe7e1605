package fitconnecttest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
)

func TestHappyFlow(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)

	var d destination
	c.getJSON("/v1/destinations/"+s.DestinationID(), &d)
	if d.DestinationID != s.DestinationID() || d.Status != "active" || len(d.Services) != 1 ||
		d.Services[0].Identifier != testService || len(d.Services[0].SubmissionSchemas) == 0 {
		t.Fatalf("destination %+v", d)
	}
	key := c.destinationKey(d.EncryptionKid)
	if bits := key.jwk.Key.(*rsa.PublicKey).N.BitLen(); bits != 4096 {
		t.Errorf("encryption key has %d bits, want 4096", bits)
	}
	if key.Alg != "RSA-OAEP-256" || !contains(key.KeyOps, "wrapKey") {
		t.Errorf("encryption key alg %q key_ops %v", key.Alg, key.KeyOps)
	}
	if err := verifyChain(t, s, key); err != nil {
		t.Errorf("encryption key chain does not reach RootPEM: %v", err)
	}

	cont := sampleContent()
	cr := c.send(key, cont, metadata(cont))
	if st := c.upload(cr.SubmissionID, cont.attachments[0].id, encrypt(t, key, cont.attachments[0].data)); st != http.StatusConflict {
		t.Errorf("upload after submit: status %d, want 409", st)
	}

	var view struct {
		SubmissionID      string   `json:"submissionId"`
		CaseID            string   `json:"caseId"`
		Attachments       []string `json:"attachments"`
		EncryptedData     string   `json:"encryptedData"`
		EncryptedMetadata string   `json:"encryptedMetadata"`
	}
	c.getJSON("/v1/submissions/"+cr.SubmissionID, &view)
	if view.CaseID != cr.CaseID || len(view.Attachments) != len(cont.attachments) || view.EncryptedData == "" || view.EncryptedMetadata == "" {
		t.Errorf("submission view %+v", view)
	}

	got := s.Submissions()
	if len(got) != 1 || len(s.Refusals()) != 0 {
		t.Fatalf("received %d, refused %v", len(got), s.Refusals())
	}
	r := got[0]
	if r.SubmissionID != cr.SubmissionID || r.CaseID != cr.CaseID || r.Service != testService || r.Creates != 1 {
		t.Errorf("received %+v", r)
	}
	if !bytes.Equal(r.Data, cont.data) {
		t.Errorf("data %q, want %q", r.Data, cont.data)
	}
	for _, a := range cont.attachments {
		if !bytes.Equal(r.Attachments[a.id], a.data) {
			t.Errorf("attachment %s differs after decryption", a.id)
		}
	}

	if err := s.Accept(cr.SubmissionID); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(cr.SubmissionID); !errors.Is(err, fitconnecttest.ErrAlreadyDecided) {
		t.Errorf("second accept: %v, want ErrAlreadyDecided", err)
	}
	checkEventLog(t, c, s, cr, []string{fitconnecttest.EventSubmit, fitconnecttest.EventAccept})
}

// checkEventLog reads the case's log in pages of one, verifies every token with the published keys, and
// checks issuer, subject and case.
func checkEventLog(t *testing.T, c *sender, s *fitconnecttest.Service, cr created, want []string) {
	t.Helper()
	log := c.eventLog(cr.CaseID, 1)
	if len(log) != len(want) {
		t.Fatalf("event log has %d events, want %d", len(log), len(want))
	}
	for i, token := range log {
		cl, err := c.verifyEvent(token)
		if err != nil {
			t.Fatalf("event %d does not verify: %v", i, err)
		}
		if typ := eventType(t, cl); typ != want[i] {
			t.Errorf("event %d is %s, want %s", i, typ, want[i])
		}
		wantIss := s.DestinationID()
		if want[i] == fitconnecttest.EventSubmit {
			wantIss = s.URL()
		}
		if cl.Iss != wantIss || cl.Sub != "submission:"+cr.SubmissionID || cl.Txn != "case:"+cr.CaseID || cl.Jti == "" || cl.Iat == 0 {
			t.Errorf("event %d claims %+v", i, cl)
		}
	}
}

func TestSubmitBeforeAllAttachmentsIsRefused(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)
	key := c.encryptionKey()
	cont := sampleContent()
	cr := c.create([]string{cont.attachments[0].id, cont.attachments[1].id, cont.attachments[2].id})

	if st := c.upload(cr.SubmissionID, cont.attachments[0].id, encrypt(t, key, cont.attachments[0].data)); st != http.StatusNoContent {
		t.Fatalf("upload: %d", st)
	}
	if st := c.upload(cr.SubmissionID, "11111111-2222-4333-8444-555555555555", encrypt(t, key, []byte("x"))); st != http.StatusNotFound {
		t.Errorf("upload of an unannounced id: status %d, want 404", st)
	}
	metaJSON, _ := json.Marshal(metadata(cont))
	metaJWE, dataJWE := encrypt(t, key, metaJSON), encrypt(t, key, cont.data)
	status, body, h := c.submit(cr.SubmissionID, metaJWE, dataJWE)
	wantProblem(t, status, body, h, http.StatusUnprocessableEntity, "/missing-attachments")

	// Uploading the first one again is harmless; after the second, the submit goes through.
	for _, a := range cont.attachments {
		if st := c.upload(cr.SubmissionID, a.id, encrypt(t, key, a.data)); st != http.StatusNoContent {
			t.Fatalf("upload %s: %d", a.id, st)
		}
	}
	if status, body, _ := c.submit(cr.SubmissionID, metaJWE, dataJWE); status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	status, body, h = c.submit(cr.SubmissionID, metaJWE, dataJWE)
	wantProblem(t, status, body, h, http.StatusConflict, "/submission-already-submitted")
	if n := len(s.Submissions()); n != 1 {
		t.Errorf("%d submissions received, want 1", n)
	}
}

func TestRefusedSubmissions(t *testing.T) {
	tests := []struct {
		name   string
		change func(cont content, meta map[string]any)
		want   error
	}{
		{"wrong data hash", func(cont content, meta map[string]any) {
			meta["contentStructure"].(map[string]any)["data"].(map[string]any)["hash"] = hashOf([]byte("other data"))
		}, fitconnecttest.ErrHashMismatch},
		{"wrong attachment hash", func(cont content, meta map[string]any) {
			atts := meta["contentStructure"].(map[string]any)["attachments"].([]any)
			atts[1].(map[string]any)["hash"] = hashOf([]byte("another file"))
		}, fitconnecttest.ErrHashMismatch},
		{"upper-case hex hash", func(cont content, meta map[string]any) {
			h := hashOf(cont.data)
			h["content"] = strings.ToUpper(h["content"])
			meta["contentStructure"].(map[string]any)["data"].(map[string]any)["hash"] = h
		}, fitconnecttest.ErrMetadataSchema},
		{"unknown purpose", func(cont content, meta map[string]any) {
			atts := meta["contentStructure"].(map[string]any)["attachments"].([]any)
			atts[0].(map[string]any)["purpose"] = "signature"
		}, fitconnecttest.ErrMetadataSchema},
		{"attachment missing in metadata", func(cont content, meta map[string]any) {
			cs := meta["contentStructure"].(map[string]any)
			cs["attachments"] = cs["attachments"].([]any)[:1]
		}, fitconnecttest.ErrAttachmentsMismatch},
		{"other service in metadata", func(cont content, meta map[string]any) {
			meta["publicServiceType"] = map[string]string{"identifier": "urn:de:fim:leika:leistung:99123456789012"}
		}, fitconnecttest.ErrServiceMismatch},
		{"no public service type", func(cont content, meta map[string]any) {
			delete(meta, "publicServiceType")
		}, fitconnecttest.ErrServiceMismatch},
	}
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)
	key := c.encryptionKey()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cont := sampleContent()
			meta := metadata(cont)
			tt.change(cont, meta)
			cr := c.send(key, cont, meta)
			ref := refusalOf(t, s, cr.SubmissionID)
			if !errors.Is(ref.Err, tt.want) {
				t.Errorf("refused with %v, want %v", ref.Err, tt.want)
			}
			checkEventLog(t, c, s, cr, []string{fitconnecttest.EventSubmit, fitconnecttest.EventReject})
			cl, _ := c.verifyEvent(c.eventLog(cr.CaseID, 10)[1])
			var reject struct {
				Problems []struct{ Type, Title string }
			}
			mustJSON(t, cl.Events[fitconnecttest.EventReject], &reject)
			if len(reject.Problems) != 1 || reject.Problems[0].Type != ref.Problems[0].Type || reject.Problems[0].Title == "" {
				t.Errorf("reject problems %+v, refusal %+v", reject.Problems, ref.Problems)
			}
			for _, r := range s.Submissions() {
				if r.SubmissionID == cr.SubmissionID {
					t.Error("a refused submission is listed as received")
				}
			}
		})
	}
}

func refusalOf(t *testing.T, s *fitconnecttest.Service, submissionID string) fitconnecttest.Refusal {
	t.Helper()
	for _, r := range s.Refusals() {
		if r.SubmissionID == submissionID {
			return r
		}
	}
	t.Fatalf("submission %s was not refused", submissionID)
	return fitconnecttest.Refusal{}
}

func TestWrongKidIsAnEncryptionIssue(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)
	key := c.encryptionKey()
	key.jwk.KeyID = "not-the-encryption-kid"
	cont := content{data: []byte(`{}`)}
	cr := c.send(key, cont, metadata(cont))
	if ref := refusalOf(t, s, cr.SubmissionID); !errors.Is(ref.Err, fitconnecttest.ErrEncryption) {
		t.Errorf("refused with %v, want ErrEncryption", ref.Err)
	}
}

func TestTokenExpiryAndClientAuthentication(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	s := fitconnecttest.New(t, fitconnecttest.Options{TokenLifetime: 3 * time.Second, Clock: clk.Now})
	c := newSender(t, s)
	destPath := "/v1/destinations/" + s.DestinationID()
	if status, body, _ := c.call(http.MethodGet, destPath, "", nil); status != http.StatusOK {
		t.Fatalf("fresh token: %d %s", status, body)
	}
	clk.Add(3 * time.Second)
	status, body, h := c.call(http.MethodGet, destPath, "", nil)
	wantProblem(t, status, body, h, http.StatusUnauthorized, "/unauthorized")
	if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
	}

	// Credentials in the body work as well as HTTP Basic.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}
	if status, body := postForm(t, s.TokenURL(), form); status != http.StatusOK {
		t.Fatalf("token with body credentials: %d %s", status, body)
	}
	c.token = c.fetchToken()
	if status, body, _ := c.call(http.MethodGet, destPath, "", nil); status != http.StatusOK {
		t.Fatalf("renewed token: %d %s", status, body)
	}
	if n := s.TokensIssued(); n != 3 {
		t.Errorf("TokensIssued %d, want 3", n)
	}

	c.token = "made-up"
	if status, _, _ := c.call(http.MethodGet, destPath, "", nil); status != http.StatusUnauthorized {
		t.Errorf("unknown token: status %d, want 401", status)
	}
	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {"wrong"}}
	if status, body := postForm(t, s.TokenURL(), bad); status != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
		t.Errorf("wrong secret: %d %s", status, body)
	}
	if status, body := postForm(t, s.TokenURL(), url.Values{"grant_type": {"password"}}); status != http.StatusBadRequest || !strings.Contains(string(body), "unsupported_grant_type") {
		t.Errorf("password grant: %d %s", status, body)
	}
	if n := s.TokensIssued(); n != 3 {
		t.Errorf("refused requests issued tokens: %d, want 3", n)
	}
}

func postForm(t *testing.T, u string, form url.Values) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func TestTamperedAndUnsignedEventsFailVerification(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)
	key := c.encryptionKey()
	for _, fault := range []string{"tamper", "unsigned"} {
		t.Run(fault, func(t *testing.T) {
			cont := sampleContent()
			cont.attachments = nil
			cont.data = []byte(`{"case":"` + fault + `"}`)
			cr := c.send(key, cont, metadata(cont))
			if fault == "tamper" {
				s.Tamper(cr.SubmissionID)
			} else {
				s.Unsigned(cr.SubmissionID)
			}
			if err := s.Accept(cr.SubmissionID); err != nil {
				t.Fatal(err)
			}
			log := c.eventLog(cr.CaseID, 100)
			if len(log) != 2 {
				t.Fatalf("%d events, want 2", len(log))
			}
			if _, err := c.verifyEvent(log[0]); err != nil {
				t.Errorf("the untouched submit event does not verify: %v", err)
			}
			if _, err := c.verifyEvent(log[1]); err == nil {
				t.Error("the broken accept event verifies")
			}
		})
	}
}

func TestFailuresAnswer503(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{Failures: 2})
	c := newSender(t, s) // the token endpoint is not part of the storm
	path := "/v1/destinations/" + s.DestinationID()
	for i := 0; i < 2; i++ {
		status, body, h := c.call(http.MethodGet, path, "", nil)
		wantProblem(t, status, body, h, http.StatusServiceUnavailable, "/service-unavailable")
	}
	if status, body, _ := c.call(http.MethodGet, path, "", nil); status != http.StatusOK {
		t.Fatalf("after the storm: %d %s", status, body)
	}
	s.FailNext(1)
	if status, _, _ := c.call(http.MethodGet, path, "", nil); status != http.StatusServiceUnavailable {
		t.Errorf("FailNext(1): status %d, want 503", status)
	}
}

func TestKeyOptions(t *testing.T) {
	tests := []struct {
		name                string
		opt                 fitconnecttest.Options
		bits                int
		wrapKey, chainValid bool
	}{
		{"2048 bits", fitconnecttest.Options{KeyBits: 2048}, 2048, true, true},
		{"no wrapKey", fitconnecttest.Options{OmitWrapKey: true}, 4096, false, true},
		{"wrong root", fitconnecttest.Options{WrongRoot: true}, 4096, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fitconnecttest.New(t, tt.opt)
			c := newSender(t, s)
			key := c.encryptionKey()
			if bits := key.jwk.Key.(*rsa.PublicKey).N.BitLen(); bits != tt.bits {
				t.Errorf("%d bits, want %d", bits, tt.bits)
			}
			if got := contains(key.KeyOps, "wrapKey"); got != tt.wrapKey {
				t.Errorf("key_ops %v", key.KeyOps)
			}
			if err := verifyChain(t, s, key); (err == nil) != tt.chainValid {
				t.Errorf("chain verification: %v, want valid=%v", err, tt.chainValid)
			}
		})
	}
}

func TestCreatesCountsAbandonedDuplicates(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{AutoAccept: true})
	c := newSender(t, s)
	key := c.encryptionKey()
	cont := sampleContent()
	c.create([]string{cont.attachments[0].id}) // a crashed sender's first try
	cr := c.send(key, cont, metadata(cont))
	got := s.Submissions()
	if len(got) != 1 || got[0].Creates != 2 {
		t.Fatalf("received %+v, want one with Creates 2", got)
	}
	if s.Created() != 2 {
		t.Errorf("Created %d, want 2", s.Created())
	}
	checkEventLog(t, c, s, cr, []string{fitconnecttest.EventSubmit, fitconnecttest.EventAccept})
}

func TestCreateValidation(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)
	post := func(body map[string]any) (int, []byte, http.Header) {
		b, _ := json.Marshal(body)
		return c.call(http.MethodPost, "/v1/submissions", "application/json", b)
	}
	svc := map[string]string{"name": "Testleistung", "identifier": testService}
	status, body, h := post(map[string]any{"destinationId": s.DestinationID(), "serviceType": map[string]string{"name": "x", "identifier": "urn:de:fim:leika:leistung:99123456789012"}})
	wantProblem(t, status, body, h, http.StatusUnprocessableEntity, "/service-not-offered")
	status, body, h = post(map[string]any{"destinationId": s.DestinationID(), "serviceType": svc, "announcedAttachments": []string{"not-a-uuid"}})
	wantProblem(t, status, body, h, http.StatusBadRequest, "/invalid-request")
	status, body, h = post(map[string]any{"destinationId": "0c438057-ec3e-4ce0-b154-1683b5d3c2e8", "serviceType": svc})
	wantProblem(t, status, body, h, http.StatusNotFound, "/destination-not-found")
	status, body, h = c.call(http.MethodPost, "/v1/submission", "application/json", []byte(`{}`))
	wantProblem(t, status, body, h, http.StatusNotFound, "/not-found")
	status, body, h = post(map[string]any{"destinationID": s.DestinationID(), "serviceType": svc})
	wantProblem(t, status, body, h, http.StatusBadRequest, "/invalid-request")
	status, body, h = post(map[string]any{"destinationId": s.DestinationID(), "serviceType": map[string]string{"Name": "x", "Identifier": testService}})
	wantProblem(t, status, body, h, http.StatusBadRequest, "/invalid-request")
}

func TestCallbackCarriesHMAC(t *testing.T) {
	secret := []byte("callback-secret")
	type delivery struct {
		ts, auth string
		body     []byte
	}
	got := make(chan delivery, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Get("callback-timestamp"), r.Header.Get("callback-authentication"), b}
	}))
	t.Cleanup(receiver.Close)

	s := fitconnecttest.New(t, fitconnecttest.Options{})
	s.SetCallback(receiver.URL, secret)
	c := newSender(t, s)
	cont := content{data: []byte(`{}`)}
	cr := c.send(c.encryptionKey(), cont, metadata(cont))

	select {
	case d := <-got:
		mac := hmac.New(sha512.New, secret)
		mac.Write([]byte(d.ts + "." + string(d.body)))
		if d.auth != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("callback-authentication %q is not hex HMAC-SHA512 over timestamp.body", d.auth)
		}
		if !strings.Contains(string(d.body), cr.CaseID) {
			t.Errorf("callback body %s does not name the case", d.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no callback arrived")
	}
}

func TestConcurrentSubmissions(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{AutoAccept: true})
	key := newSender(t, s).encryptionKey()
	t.Run("senders", func(t *testing.T) {
		for i := range 6 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				cont := sampleContent()
				for j := range cont.attachments {
					cont.attachments[j].id = fmt.Sprintf("%08d-0000-4000-8000-%012d", i, j)
				}
				cont.data = []byte(fmt.Sprintf(`{"n":%d}`, i))
				newSender(t, s).send(key, cont, metadata(cont))
			})
		}
	})
	got := s.Submissions()
	if len(got) != 6 || len(s.Refusals()) != 0 {
		t.Fatalf("%d received, refusals %v", len(got), s.Refusals())
	}
	for _, r := range got {
		if r.Creates != 1 {
			t.Errorf("submission %s: Creates %d, want 1", r.SubmissionID, r.Creates)
		}
	}
}

func TestInactiveDestinationTakesNoSubmissions(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{Inactive: true})
	c := newSender(t, s)
	var d destination
	c.getJSON("/v1/destinations/"+s.DestinationID(), &d)
	if d.Status != "inactive" {
		t.Errorf("status %q, want inactive", d.Status)
	}
	body, _ := json.Marshal(map[string]any{"destinationId": s.DestinationID(), "serviceType": map[string]string{"name": "x", "identifier": testService}})
	status, resp, h := c.call(http.MethodPost, "/v1/submissions", "application/json", body)
	wantProblem(t, status, resp, h, http.StatusUnprocessableEntity, "/destination-inactive")
}

func TestSchemaURIsRestrictTheData(t *testing.T) {
	const accepted = "https://schema.example.org/anmeldung/1.0.0.json"
	s := fitconnecttest.New(t, fitconnecttest.Options{SchemaURIs: map[string][]string{testService: {accepted}}})
	c := newSender(t, s)
	var d destination
	c.getJSON("/v1/destinations/"+s.DestinationID(), &d)
	if got := d.Services[0].SubmissionSchemas; len(got) != 1 || got[0].SchemaURI != accepted || got[0].MimeType != "application/json" {
		t.Fatalf("submissionSchemas %+v", got)
	}
	key := c.encryptionKey()
	cont := content{data: []byte(`{}`)}
	cr := c.send(key, cont, metadata(cont)) // names AnySchemaURI
	if ref := refusalOf(t, s, cr.SubmissionID); !errors.Is(ref.Err, fitconnecttest.ErrDataMismatch) {
		t.Errorf("refused with %v, want ErrDataMismatch", ref.Err)
	}
	meta := metadata(cont)
	meta["contentStructure"].(map[string]any)["data"].(map[string]any)["submissionSchema"] = map[string]string{"schemaUri": accepted, "mimeType": "application/json"}
	c.send(key, cont, meta)
	if n := len(s.Submissions()); n != 1 {
		t.Errorf("%d received, want the one with the accepted schema", n)
	}
}

func TestNewServerStopsOnClose(t *testing.T) {
	s, err := fitconnecttest.NewServer(fitconnecttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}
	if status, body := postForm(t, s.TokenURL(), form); status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL() + "/.well-known/jwks.json"); err == nil {
		t.Error("the service still answers after Close")
	}
}

func TestDroppedSubmitAnswer(t *testing.T) {
	s := fitconnecttest.New(t, fitconnecttest.Options{})
	c := newSender(t, s)
	key := c.encryptionKey()
	cont := content{data: []byte(`{}`)}
	cr := c.create(nil)
	metaJSON, _ := json.Marshal(metadata(cont))
	metaJWE, dataJWE := encrypt(t, key, metaJSON), encrypt(t, key, cont.data)

	s.DropNextSubmitAnswer()
	status, body, h := c.submit(cr.SubmissionID, metaJWE, dataJWE)
	wantProblem(t, status, body, h, http.StatusBadGateway, "/bad-gateway")
	status, body, h = c.submit(cr.SubmissionID, metaJWE, dataJWE)
	wantProblem(t, status, body, h, http.StatusConflict, "/submission-already-submitted")
	var view struct {
		EncryptedData string `json:"encryptedData"`
	}
	c.getJSON("/v1/submissions/"+cr.SubmissionID, &view)
	if view.EncryptedData == "" || len(s.Submissions()) != 1 {
		t.Errorf("the submission did not go through behind the lost answer")
	}
}

func TestDataSchemasValidateTheData(t *testing.T) {
	const uri = "https://schema.example.org/hundesteuer/1.0.0.json"
	schema := []byte(`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","required":["dog"],"properties":{"dog":{"type":"string"}}}`)
	s := fitconnecttest.New(t, fitconnecttest.Options{DataSchemas: map[string][]byte{uri: schema}})
	c := newSender(t, s)
	key := c.encryptionKey()
	for _, tt := range []struct {
		data string
		ok   bool
	}{{`{"dog":"Bello"}`, true}, {`{"cat":"Minka"}`, false}} {
		cont := content{data: []byte(tt.data)}
		meta := metadata(cont)
		meta["contentStructure"].(map[string]any)["data"].(map[string]any)["submissionSchema"] = map[string]string{"schemaUri": uri, "mimeType": "application/json"}
		cr := c.send(key, cont, meta)
		refused := false
		for _, r := range s.Refusals() {
			if r.SubmissionID == cr.SubmissionID {
				refused = true
				if !errors.Is(r.Err, fitconnecttest.ErrDataMismatch) || strings.Contains(r.Err.Error(), "Minka") {
					t.Errorf("refusal %v: want ErrDataMismatch without the data's values", r.Err)
				}
			}
		}
		if refused == tt.ok {
			t.Errorf("data %s: refused %v, want %v", tt.data, refused, !tt.ok)
		}
	}
}
