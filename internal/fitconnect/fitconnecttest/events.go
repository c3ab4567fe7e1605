package fitconnecttest

// The event log of a case: security event tokens (RFC 8417) signed PS512 with typ "secevent+jwt". The
// submission service signs submit-submission with the key of its JWKS (/.well-known/jwks.json); the
// receiving authority signs accept-submission and reject-submission with the destination's signature key.

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// Event types (URIs) of the event log.
const (
	EventSubmit = "https://schema.fitko.de/fit-connect/events/submit-submission"
	EventAccept = "https://schema.fitko.de/fit-connect/events/accept-submission"
	EventReject = "https://schema.fitko.de/fit-connect/events/reject-submission"

	// SETPayloadSchema is the $schema every event names.
	SETPayloadSchema = "https://schema.fitko.de/fit-connect/set-payload/1.0.0/set-payload.schema.json"
)

// Errors of Accept and Reject.
var (
	ErrUnknownSubmission = errors.New("no such submission")
	ErrNotSubmitted      = errors.New("submission was not submitted")
	ErrAlreadyDecided    = errors.New("submission was already accepted or rejected")
	ErrFailedChecks      = errors.New("submission failed the authority's checks")
)

type eventFault int

const (
	faultTamper eventFault = iota + 1
	faultUnsigned
)

// Tamper makes the next event of that submission's case carry a payload its signature does not cover.
func (s *Service) Tamper(submissionID string) { s.setFault(submissionID, faultTamper) }

// Unsigned makes the next event of that submission's case unsigned (alg "none").
func (s *Service) Unsigned(submissionID string) { s.setFault(submissionID, faultUnsigned) }

func (s *Service) setFault(submissionID string, f eventFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[submissionID] = f
}

func (s *Service) takeFault(submissionID string) eventFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults[submissionID]
	delete(s.faults, submissionID)
	return f
}

// receive runs after a successful submit: the service logs submit-submission, then the authority checks
// the submission and either keeps it (and accepts it with AutoAccept) or rejects it.
func (s *Service) receive(sub *submission) error {
	s.mu.Lock()
	in := inbound{
		id: sub.id, caseID: sub.caseID, service: sub.service, announced: slices.Clone(sub.announced),
		attachments: maps.Clone(sub.attachments), metadataJWE: sub.metadataJWE, dataJWE: sub.dataJWE,
	}
	s.mu.Unlock()
	if err := s.issueEvent(sub, EventSubmit, map[string]any{"authenticationTags": authenticationTags(in)}, false); err != nil {
		return err
	}
	got, ref := s.check(in)
	if ref != nil {
		return s.refuseSubmission(sub, ref)
	}
	s.mu.Lock()
	sub.outcome = &got
	sub.dataHash = sha512Hex(got.Data)
	s.mu.Unlock()
	if s.opt.AutoAccept {
		return s.Accept(sub.id)
	}
	return nil
}

func (s *Service) refuseSubmission(sub *submission, ref *refusal) error {
	s.mu.Lock()
	s.refusals = append(s.refusals, Refusal{
		SubmissionID: sub.id, CaseID: sub.caseID, Err: ref.err, Problems: []Problem{ref.problem},
	})
	s.mu.Unlock()
	return s.decide(sub.id, EventReject, []Problem{ref.problem}, false)
}

// Accept issues the receiving authority's accept-submission event for a submission that passed its checks.
func (s *Service) Accept(submissionID string) error {
	return s.decide(submissionID, EventAccept, nil, true)
}

// Reject issues the receiving authority's reject-submission event with the given problems.
func (s *Service) Reject(submissionID string, p []Problem) error {
	if len(p) == 0 {
		p = []Problem{{Type: eventProblemBase + "technical-error", Title: "Technischer Fehler", Detail: "rejected by the test"}}
	}
	return s.decide(submissionID, EventReject, p, false)
}

func (s *Service) decide(submissionID, event string, problems []Problem, needChecks bool) error {
	s.mu.Lock()
	sub := s.subs[submissionID]
	var err error
	switch {
	case sub == nil:
		err = ErrUnknownSubmission
	case !sub.submitted:
		err = ErrNotSubmitted
	case sub.decided:
		err = ErrAlreadyDecided
	case needChecks && sub.outcome == nil:
		err = ErrFailedChecks
	default:
		sub.decided = true
	}
	var tags map[string]any
	if err == nil {
		tags = authenticationTags(inbound{attachments: sub.attachments, metadataJWE: sub.metadataJWE, dataJWE: sub.dataJWE})
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s %s: %w", strings.TrimPrefix(event, "https://schema.fitko.de/fit-connect/events/"), submissionID, err)
	}
	payload := map[string]any{"authenticationTags": tags}
	if event == EventReject {
		payload = map[string]any{"problems": problemsJSON(problems)}
	}
	return s.issueEvent(sub, event, payload, true)
}

func problemsJSON(ps []Problem) []map[string]string {
	out := make([]map[string]string, 0, len(ps))
	for _, p := range ps {
		m := map[string]string{"type": p.Type, "title": p.Title, "detail": p.Detail}
		if p.Instance != "" {
			m["instance"] = p.Instance
		}
		out = append(out, m)
	}
	return out
}

// authenticationTags are the last parts of the JWEs as submitted (FIT-Connect's authenticationTags payload).
func authenticationTags(in inbound) map[string]any {
	atts := map[string]string{}
	for id, jwe := range in.attachments {
		atts[id] = jweTag(jwe)
	}
	tags := map[string]any{"metadata": jweTag(in.metadataJWE), "attachments": atts}
	if in.dataJWE != "" {
		tags["data"] = jweTag(in.dataJWE)
	}
	return tags
}

func jweTag(jwe string) string { return jwe[strings.LastIndexByte(jwe, '.')+1:] }

// issueEvent signs an event of sub's case and appends it to the case's event log.
func (s *Service) issueEvent(sub *submission, event string, payload map[string]any, byAuthority bool) error {
	key, kid, issuer := s.keys.svcKey, s.keys.svcKid, s.base
	if byAuthority {
		key, kid, issuer = s.keys.sigKey, s.keys.sigKid, s.destinationID
	}
	claims := map[string]any{
		"$schema": SETPayloadSchema,
		"iss":     issuer,
		"iat":     s.now().Unix(),
		"jti":     uuid.NewString(),
		"sub":     "submission:" + sub.id,
		"txn":     "case:" + sub.caseID,
		"events":  map[string]any{event: payload},
	}
	token, err := signSET(claims, key, kid, s.takeFault(sub.id))
	if err != nil {
		return fmt.Errorf("sign %s event: %w", event, err)
	}
	s.mu.Lock()
	s.events[sub.caseID] = append(s.events[sub.caseID], token)
	s.mu.Unlock()
	s.notify(sub)
	return nil
}

func signSET(claims map[string]any, key *rsa.PrivateKey, kid string, fault eventFault) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	if fault == faultUnsigned {
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"secevent+jwt"}`))
		return header + "." + base64.RawURLEncoding.EncodeToString(payload) + ".", nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS512, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("secevent+jwt"))
	if err != nil {
		return "", fmt.Errorf("make signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	token, err := jws.CompactSerialize()
	if err != nil || fault != faultTamper {
		return token, err
	}
	return tamper(token, claims)
}

// tamper swaps the payload of a signed token for one with another jti, keeping header and signature.
func tamper(token string, claims map[string]any) (string, error) {
	forged := maps.Clone(claims)
	forged["jti"] = uuid.NewString()
	payload, err := json.Marshal(forged)
	if err != nil {
		return "", fmt.Errorf("encode forged claims: %w", err)
	}
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, "."), nil
}

// Submissions returns the submissions that arrived complete and passed the authority's checks, in
// creation order. Creates counts the submissions created for the same case: those with the same data hash
// and those that announced any of the same attachment ids (an abandoned duplicate never gets as far as
// its data).
func (s *Service) Submissions() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Received
	for _, id := range s.order {
		sub := s.subs[id]
		if sub.outcome == nil {
			continue
		}
		r := *sub.outcome
		r.Attachments = maps.Clone(r.Attachments)
		r.Creates = s.createsLike(sub)
		out = append(out, r)
	}
	return out
}

// createsLike counts sub and the other submissions of the same content; the caller holds s.mu.
func (s *Service) createsLike(sub *submission) int {
	n := 0
	for _, other := range s.subs {
		sameData := other.dataHash != "" && other.dataHash == sub.dataHash
		if other == sub || sameData || slices.ContainsFunc(other.announced, func(id string) bool { return slices.Contains(sub.announced, id) }) {
			n++
		}
	}
	return n
}

// Refusals returns the submissions the authority refused, with why, in the order it refused them.
func (s *Service) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refusals)
}

// Created counts every submission created, complete or not.
func (s *Service) Created() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// EventLog returns a copy of a case's event log (compact SETs), as GET /v1/cases/{caseId}/events serves it.
func (s *Service) EventLog(caseID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events[caseID])
}
