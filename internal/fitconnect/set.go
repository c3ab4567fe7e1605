package fitconnect

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
)

// maxClockSkew is how far in the future an event's iat may lie.
const maxClockSkew = 2 * time.Minute

// Token types and algorithm FITKO prescribes for security event tokens.
const (
	setType = "secevent+jwt"
	setAlg  = "PS512"
)

type setHeader struct {
	Alg  string   `json:"alg"`
	Typ  string   `json:"typ"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

type setClaims struct {
	Jti    string                     `json:"jti"`
	Iss    string                     `json:"iss"`
	Iat    *int64                     `json:"iat"`
	Sub    string                     `json:"sub"`
	Txn    string                     `json:"txn"`
	Events map[string]json.RawMessage `json:"events"`
}

type keyResult struct {
	key *rsa.PublicKey
	err error
}

// setVerifier verifies the tokens of one case's log; it remembers the destination's keys.
type setVerifier struct {
	c                                   *Client
	caseID, destinationID, submissionID string
	destKeys                            map[string]keyResult
	jwksFetched                         bool
}

// verify checks one token as FITKO's SET validation prescribes: structure and header,
// signature by the issuer's key, then the claims against the submission.
func (v *setVerifier) verify(ctx context.Context, token string) (Event, error) {
	hdr, unverified, err := peek(token)
	if err != nil {
		return Event{}, err
	}
	key, err := v.issuerKey(ctx, unverified.Iss, hdr.Kid)
	if err != nil {
		return Event{}, err
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.PS512})
	if err != nil {
		return Event{}, fmt.Errorf("%w (%v)", ErrEventMalformed, err)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return Event{}, ErrEventSignature
	}
	var claims setClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return Event{}, fmt.Errorf("%w (claims are not JSON)", ErrEventMalformed)
	}
	return v.event(claims)
}

// peek reads header and claims before the signature is checked, only to find the key.
func peek(token string) (setHeader, setClaims, error) {
	var h setHeader
	var c setClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, c, fmt.Errorf("%w (not a compact JWS)", ErrEventMalformed)
	}
	if err := decodeSegment(parts[0], &h); err != nil {
		return h, c, fmt.Errorf("%w (header)", ErrEventMalformed)
	}
	if h.Alg != setAlg || h.Typ != setType || h.Kid == "" || len(h.Crit) > 0 {
		return h, c, ErrEventHeader
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return h, c, fmt.Errorf("%w (claims)", ErrEventMalformed)
	}
	if parts[2] == "" {
		return h, c, ErrEventSignature
	}
	return h, c, nil
}

func decodeSegment(seg string, out any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// issuerKey: the destination signs with a key published on the destination, the
// submission service with a key of its JWKS. Any other issuer is refused.
func (v *setVerifier) issuerKey(ctx context.Context, iss, kid string) (*rsa.PublicKey, error) {
	switch {
	case iss != "" && iss == v.destinationID:
		return v.destinationKey(ctx, kid)
	case sameOrigin(iss, v.c.origin()):
		return v.serviceKey(ctx, kid)
	default:
		return nil, ErrEventIssuer
	}
}

func (v *setVerifier) destinationKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	r, ok := v.destKeys[kid]
	if !ok {
		r.key, r.err = v.c.destinationKey(ctx, v.destinationID, kid, destSigPolicy)
		v.destKeys[kid] = r
	}
	return refuseKeyErr(r.key, r.err)
}

func (v *setVerifier) serviceKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	key, err := v.c.jwks.key(ctx, v.c, kid, &v.jwksFetched)
	return refuseKeyErr(key, err)
}

// refuseKeyErr: a key that fails its checks or is unknown refuses the event; a network or
// server error is returned as is so that the caller tries again later.
func refuseKeyErr(key *rsa.PublicKey, err error) (*rsa.PublicKey, error) {
	var p *ProblemError
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, ErrKeyRefused), errors.Is(err, errUnknownKid):
		return nil, fmt.Errorf("%w: %w", ErrEventKey, err)
	case errors.As(err, &p) && p.Status == 404:
		return nil, fmt.Errorf("%w: key not published", ErrEventKey)
	default:
		return nil, err
	}
}

// event checks the verified claims against the submission and the issuer's role.
func (v *setVerifier) event(c setClaims) (Event, error) {
	if _, err := uuid.Parse(c.Jti); err != nil || c.Iat == nil {
		return Event{}, fmt.Errorf("%w (jti or iat missing)", ErrEventClaims)
	}
	iat := time.Unix(*c.Iat, 0)
	if iat.After(v.c.now().Add(maxClockSkew)) {
		return Event{}, fmt.Errorf("%w (issued in the future)", ErrEventClaims)
	}
	if c.Sub != "submission:"+v.submissionID || c.Txn != "case:"+v.caseID {
		return Event{}, fmt.Errorf("%w (sub or txn names another submission or case)", ErrEventClaims)
	}
	if len(c.Events) != 1 {
		return Event{}, fmt.Errorf("%w (events must hold exactly one event)", ErrEventClaims)
	}
	ev := Event{ID: c.Jti, Issuer: c.Iss, IssuedAt: iat, SubmissionID: v.submissionID, CaseID: v.caseID}
	for typ, payload := range c.Events {
		ev.Type = typ
		if err := v.checkAuthor(typ, c.Iss); err != nil {
			return Event{}, err
		}
		problems, err := parseProblems(payload)
		if err != nil {
			return Event{}, err
		}
		ev.Problems = problems
	}
	return ev, nil
}

// checkAuthor: only the receiving authority accepts or rejects, only the service records
// the submit.
func (v *setVerifier) checkAuthor(typ, iss string) error {
	switch {
	case (typ == EventAccept || typ == EventReject) && iss != v.destinationID:
		return fmt.Errorf("%w (accept/reject not issued by the destination)", ErrEventIssuer)
	case typ == EventSubmit && iss == v.destinationID:
		return fmt.Errorf("%w (submit not issued by the submission service)", ErrEventIssuer)
	}
	return nil
}

// parseProblems reads the problems of an event payload ({"problems":[...]}); other events
// carry none.
func parseProblems(payload json.RawMessage) ([]Problem, error) {
	if len(payload) == 0 || string(payload) == "null" {
		return nil, nil
	}
	var body struct {
		Problems []struct {
			Type, Title, Detail, Instance string
			Status                        int
		} `json:"problems"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, fmt.Errorf("%w (event payload is not an object)", ErrEventMalformed)
	}
	var out []Problem
	for _, p := range body.Problems {
		out = append(out, Problem{Type: p.Type, Title: p.Title, Detail: p.Detail, Instance: p.Instance, Status: p.Status})
	}
	return out, nil
}

// sameOrigin compares scheme and host of two URLs.
func sameOrigin(a, origin string) bool {
	if a == "" {
		return false
	}
	return strings.TrimRight(a, "/") == origin
}
