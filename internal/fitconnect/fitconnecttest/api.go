package fitconnecttest

// The Submission API v1 as a sender sees it: destinations and their keys, creating a submission, uploading
// announced attachments, submitting, reading a submission back and the event log of its case.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

const problemBase = "https://schema.fitko.de/fit-connect/submission-api/problems/"

// leikaPattern is the service identifier FIT-Connect takes: a LeiKa key has 14 digits.
var leikaPattern = regexp.MustCompile(`^urn:de:fim:leika:leistung:[0-9]{14}$`)

type serviceType struct {
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
}

// submission is the service's record of one submission.
type submission struct {
	id, caseID  string
	service     serviceType
	announced   []string
	attachments map[string]string // attachment id → JWE as uploaded
	metadataJWE string
	dataJWE     string
	submitted   bool
	decided     bool      // accepted or rejected
	outcome     *Received // set when the authority's checks passed
	dataHash    string    // hex SHA-512 of the decrypted data, once checked
}

func (s *Service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.handleToken)
	mux.Handle("GET /.well-known/jwks.json", s.api(s.handleJWKS, false))
	mux.Handle("GET /v1/destinations/{id}", s.api(s.handleDestination, true))
	mux.Handle("GET /v1/destinations/{id}/keys/{kid}", s.api(s.handleDestinationKey, true))
	mux.Handle("POST /v1/submissions", s.api(s.handleCreate, true))
	mux.Handle("PUT /v1/submissions/{id}/attachments/{attachmentId}", s.api(s.handleUpload, true))
	mux.Handle("PUT /v1/submissions/{id}", s.api(s.handleSubmit, true))
	mux.Handle("GET /v1/submissions/{id}", s.api(s.handleGetSubmission, true))
	mux.Handle("GET /v1/cases/{caseId}/events", s.api(s.handleEvents, true))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { // also a known path with another method
		writeProblem(w, r, http.StatusNotFound, "not-found", "Not Found", "no such resource or method")
	})
	return mux
}

// api puts the gateway in front of a handler: the simulated 5xx storm first, then the bearer token.
func (s *Service) api(h http.HandlerFunc, auth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.takeFailure() {
			writeProblem(w, r, http.StatusServiceUnavailable, "service-unavailable", "Service Unavailable",
				"the submission service is temporarily unavailable")
			return
		}
		if auth && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeProblem(w, r, http.StatusUnauthorized, "unauthorized", "Unauthorized",
				"missing, unknown or expired access token")
			return
		}
		h(w, r)
	})
}

func (s *Service) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext <= 0 {
		return false
	}
	s.failNext--
	return true
}

func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.keys.svcJWKS)
}

func (s *Service) handleDestination(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.destinationID {
		writeProblem(w, r, http.StatusNotFound, "destination-not-found", "Destination not found", "no destination with this id")
		return
	}
	status := "active"
	if s.opt.Inactive {
		status = "inactive"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"destinationId":    s.destinationID,
		"status":           status,
		"services":         s.destinationServices(),
		"encryptionKid":    s.keys.encKid,
		"metadataVersions": []string{"1.0.0", "1.1.0", "1.2.0"},
	})
}

func (s *Service) destinationServices() []any {
	var out []any
	for _, id := range s.opt.Services {
		uris, ok := s.opt.SchemaURIs[id]
		if !ok {
			uris = []string{AnySchemaURI}
		}
		var schemas []any
		for _, u := range uris {
			schemas = append(schemas, map[string]string{"schemaUri": u, "mimeType": "application/json"})
		}
		out = append(out, map[string]any{"identifier": id, "submissionSchemas": schemas})
	}
	return out
}

func (s *Service) handleDestinationKey(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.destinationID {
		writeProblem(w, r, http.StatusNotFound, "destination-not-found", "Destination not found", "no destination with this id")
		return
	}
	switch r.PathValue("kid") {
	case s.keys.encKid:
		writeJSON(w, http.StatusOK, s.keys.encJWK)
	case s.keys.sigKid:
		writeJSON(w, http.StatusOK, s.keys.sigJWK)
	default:
		writeProblem(w, r, http.StatusNotFound, "key-not-found", "Key not found", "the destination has no key with this kid")
	}
}

type createRequest struct {
	DestinationID        string          `json:"destinationId"`
	ServiceType          *serviceType    `json:"serviceType"`
	AnnouncedAttachments []string        `json:"announcedAttachments"`
	Callback             json.RawMessage `json:"callback,omitempty"`
	ReplyChannel         json.RawMessage `json:"replyChannel,omitempty"`
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeJSONBody(w, r, &req, 1<<20) {
		return
	}
	if status, slug, detail := s.checkCreate(req); status != 0 {
		writeProblem(w, r, status, slug, http.StatusText(status), detail)
		return
	}
	sub := &submission{
		id:          uuid.NewString(),
		caseID:      uuid.NewString(),
		service:     *req.ServiceType,
		announced:   slices.Clone(req.AnnouncedAttachments),
		attachments: map[string]string{},
	}
	s.mu.Lock()
	s.subs[sub.id] = sub
	s.order = append(s.order, sub.id)
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/submissions/"+sub.id)
	writeJSON(w, http.StatusCreated, s.submissionRef(sub))
}

// checkCreate returns the status, problem slug and detail of a refused creation, or 0.
func (s *Service) checkCreate(req createRequest) (int, string, string) {
	switch {
	case req.DestinationID == "":
		return http.StatusBadRequest, "invalid-request", "destinationId is missing"
	case req.DestinationID != s.destinationID:
		return http.StatusNotFound, "destination-not-found", "no destination with this id"
	case s.opt.Inactive:
		return http.StatusUnprocessableEntity, "destination-inactive", "the destination is not active"
	case req.ServiceType == nil || strings.TrimSpace(req.ServiceType.Name) == "":
		return http.StatusBadRequest, "invalid-request", "serviceType with name and identifier is required"
	case !leikaPattern.MatchString(req.ServiceType.Identifier):
		return http.StatusBadRequest, "invalid-request", "serviceType.identifier is not urn:de:fim:leika:leistung:<14 digits>"
	case !slices.Contains(s.opt.Services, req.ServiceType.Identifier):
		return http.StatusUnprocessableEntity, "service-not-offered", "the destination does not offer this service"
	}
	seen := map[string]bool{}
	for _, id := range req.AnnouncedAttachments {
		if uuid.Validate(id) != nil || len(id) != 36 {
			return http.StatusBadRequest, "invalid-request", "announcedAttachments must be UUIDs"
		}
		if seen[strings.ToLower(id)] {
			return http.StatusBadRequest, "invalid-request", "an attachment id is announced twice"
		}
		seen[strings.ToLower(id)] = true
	}
	return 0, "", ""
}

func (s *Service) submissionRef(sub *submission) map[string]string {
	return map[string]string{"destinationId": s.destinationID, "submissionId": sub.id, "caseId": sub.caseID}
}

func (s *Service) handleUpload(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/jose" {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type", "an attachment is sent as application/jose")
		return
	}
	body, ok := readBody(w, r, 64<<20)
	if !ok {
		return
	}
	jwe := strings.TrimSpace(string(body))
	if err := checkCompactJWE(jwe); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-request", "Bad Request", "the body is not a compact JWE: "+err.Error())
		return
	}
	s.mu.Lock()
	sub, status, slug, detail := s.uploadTarget(r.PathValue("id"), r.PathValue("attachmentId"))
	if sub != nil {
		sub.attachments[r.PathValue("attachmentId")] = jwe // a repeated upload replaces the earlier one
	}
	s.mu.Unlock()
	if sub == nil {
		writeProblem(w, r, status, slug, http.StatusText(status), detail)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// uploadTarget finds the submission an attachment belongs to; the caller holds s.mu.
func (s *Service) uploadTarget(id, attachmentID string) (*submission, int, string, string) {
	sub := s.subs[id]
	switch {
	case sub == nil:
		return nil, http.StatusNotFound, "submission-not-found", "no submission with this id"
	case sub.submitted:
		return nil, http.StatusConflict, "submission-already-submitted", "attachments cannot change after the submit"
	case !slices.Contains(sub.announced, attachmentID):
		return nil, http.StatusNotFound, "attachment-not-announced", "this attachment id was not announced"
	}
	return sub, 0, "", ""
}

type submitRequest struct {
	EncryptedMetadata string `json:"encryptedMetadata"`
	EncryptedData     string `json:"encryptedData,omitempty"`
}

func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
	if !decodeJSONBody(w, r, &req, 32<<20) {
		return
	}
	if err := checkSubmitBody(req); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-request", "Bad Request", err.Error())
		return
	}
	s.mu.Lock()
	sub, status, slug, detail := s.submitTarget(r.PathValue("id"))
	if sub != nil {
		sub.submitted, sub.metadataJWE, sub.dataJWE = true, req.EncryptedMetadata, req.EncryptedData
	}
	s.mu.Unlock()
	if sub == nil {
		writeProblem(w, r, status, slug, http.StatusText(status), detail)
		return
	}
	if err := s.receive(sub); err != nil {
		writeProblem(w, r, http.StatusInternalServerError, "internal-error", "Internal Server Error", err.Error())
		return
	}
	if s.takeDroppedAnswer() {
		writeProblem(w, r, http.StatusBadGateway, "bad-gateway", "Bad Gateway", "the gateway lost the answer")
		return
	}
	writeJSON(w, http.StatusAccepted, s.submissionRef(sub))
}

// DropNextSubmitAnswer makes the next successful submit answer 502 although the submission went through,
// as when a gateway loses the answer. A sender that retries then meets 409 and must ask GET
// /v1/submissions/{id} instead of giving up.
func (s *Service) DropNextSubmitAnswer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropSubmitAnswer = true
}

func (s *Service) takeDroppedAnswer() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	drop := s.dropSubmitAnswer
	s.dropSubmitAnswer = false
	return drop
}

func checkSubmitBody(req submitRequest) error {
	if req.EncryptedMetadata == "" {
		return errors.New("encryptedMetadata is missing")
	}
	if err := checkCompactJWE(req.EncryptedMetadata); err != nil {
		return fmt.Errorf("encryptedMetadata is not a compact JWE: %w", err)
	}
	if req.EncryptedData != "" {
		if err := checkCompactJWE(req.EncryptedData); err != nil {
			return fmt.Errorf("encryptedData is not a compact JWE: %w", err)
		}
	}
	return nil
}

// submitTarget finds a submission that may be submitted now; the caller holds s.mu.
func (s *Service) submitTarget(id string) (*submission, int, string, string) {
	sub := s.subs[id]
	if sub == nil {
		return nil, http.StatusNotFound, "submission-not-found", "no submission with this id"
	}
	if sub.submitted {
		return nil, http.StatusConflict, "submission-already-submitted", "this submission was already submitted"
	}
	missing := 0
	for _, id := range sub.announced {
		if _, ok := sub.attachments[id]; !ok {
			missing++
		}
	}
	if missing > 0 {
		return nil, http.StatusUnprocessableEntity, "missing-attachments",
			fmt.Sprintf("%d of %d announced attachments are not uploaded", missing, len(sub.announced))
	}
	return sub, 0, "", ""
}

func (s *Service) handleGetSubmission(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sub := s.subs[r.PathValue("id")]
	var body map[string]any
	if sub != nil {
		body = s.submissionView(sub)
	}
	s.mu.Unlock()
	if sub == nil {
		writeProblem(w, r, http.StatusNotFound, "submission-not-found", "Not Found", "no submission with this id")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// submissionView is a submission as GET /v1/submissions/{id} shows it; the caller holds s.mu.
func (s *Service) submissionView(sub *submission) map[string]any {
	body := map[string]any{
		"submissionId":  sub.id,
		"caseId":        sub.caseID,
		"destinationId": s.destinationID,
		"serviceType":   sub.service,
		"attachments":   append([]string{}, sub.announced...),
	}
	if sub.submitted {
		body["encryptedMetadata"] = sub.metadataJWE
		if sub.dataJWE != "" {
			body["encryptedData"] = sub.dataJWE
		}
	}
	return body
}

func (s *Service) handleEvents(w http.ResponseWriter, r *http.Request) {
	offset, limit, err := pageParams(r)
	if err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-request", "Bad Request", err.Error())
		return
	}
	s.mu.Lock()
	log, known := s.caseLog(r.PathValue("caseId"))
	s.mu.Unlock()
	if !known {
		writeProblem(w, r, http.StatusNotFound, "case-not-found", "Not Found", "no case with this id")
		return
	}
	page := []string{}
	if offset < len(log) {
		page = log[offset:min(len(log), offset+limit)]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"offset": offset, "count": len(page), "totalCount": len(log), "eventLog": page,
	})
}

// caseLog copies a case's event log; the caller holds s.mu.
func (s *Service) caseLog(caseID string) ([]string, bool) {
	for _, sub := range s.subs {
		if sub.caseID == caseID {
			return slices.Clone(s.events[caseID]), true
		}
	}
	return nil, false
}

// pageParams reads offset (≥ 0, default 0) and limit (1…500, default 100).
func pageParams(r *http.Request) (offset, limit int, err error) {
	offset, limit = 0, 100
	q := r.URL.Query()
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, errors.New("offset must be a non-negative integer")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, 0, errors.New("limit must be an integer from 1 to 500")
		}
	}
	return offset, limit, nil
}

// checkCompactJWE checks the shape of a JWE in compact serialization: five base64url parts (header,
// encrypted key, IV, ciphertext, tag). The service cannot decrypt, so that is all it checks.
func checkCompactJWE(s string) error {
	parts := strings.Split(s, ".")
	if len(parts) != 5 {
		return fmt.Errorf("%d parts instead of 5", len(parts))
	}
	for i, p := range parts {
		if _, err := base64.RawURLEncoding.DecodeString(p); err != nil {
			return fmt.Errorf("part %d is not base64url", i+1)
		}
		if p == "" && (i == 0 || i == 2 || i == 4) { // key and ciphertext may be empty, header, IV and tag not
			return fmt.Errorf("part %d is empty", i+1)
		}
	}
	return nil
}

func decodeJSONBody(w http.ResponseWriter, r *http.Request, into any, limit int64) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type", "the body must be application/json")
		return false
	}
	body, ok := readBody(w, r, limit)
	if !ok {
		return false
	}
	if err := exactMembers(body, into); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-request", "Bad Request", err.Error())
		return false
	}
	if err := json.Unmarshal(body, into); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "invalid-request", "Bad Request", "unreadable JSON body: "+err.Error())
		return false
	}
	return true
}

// exactMembers refuses members the API does not define. encoding/json matches names case-insensitively;
// FIT-Connect does not, so "destinationID" must not pass for "destinationId".
func exactMembers(body []byte, into any) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return errors.New("the body is not a JSON object")
	}
	fields := map[string]reflect.Type{}
	t := reflect.TypeOf(into).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = t.Field(i).Type
	}
	for k, v := range raw {
		ft, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown member %q", k)
		}
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() != reflect.Struct || string(v) == "null" {
			continue
		}
		if err := exactMembers(v, reflect.New(ft).Interface()); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "payload-too-large", "Payload Too Large", "the body is too large or unreadable")
		return nil, false
	}
	return body, true
}

// problem is an RFC 7807 problem details document.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, status int, slug, title, detail string) {
	body, _ := json.Marshal(problem{Type: problemBase + slug, Title: title, Status: status, Detail: detail, Instance: r.URL.Path})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
