package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func enrolBody(t *testing.T, code string, key []byte) []byte {
	t.Helper()
	b, _ := json.Marshal(syncproto.EnrolRequest{Code: code, Name: "Koffer 1", LocalID: domain.NewID(), PublicKey: string(key)})
	return b
}

func TestEnrol_CodeWorksOnce(t *testing.T) {
	k := startKit(t)
	pub, _ := crypto.MarshalPublicKeyPEM(&poolKey(t, 2).PublicKey)
	code, err := k.srv.IssueEnrolment(k.ctx, tenantA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 14 || code[4] != '-' || code[9] != '-' {
		t.Fatalf("code %q is not like K7Q2-M9XD-4HRT", code)
	}

	// A key that does not parse is refused, and does not use up the code.
	if st, b, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, code, []byte("not a key")), nil); st != http.StatusBadRequest {
		t.Fatalf("bad key: %d %s", st, b)
	}
	// The code as a person may type it: lower case, without dashes.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	st, b, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, typed, pub), nil)
	if st != http.StatusOK {
		t.Fatalf("enrol: %d %s", st, b)
	}
	var r syncproto.EnrolResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	wantKid, _ := crypto.KeyID(&poolKey(t, 0).PublicKey)
	if r.Tenant != tenantA || !domain.ValidID(r.DeviceID) || len(r.Token) != 43 || r.ServerKeyID != wantKid {
		t.Fatalf("enrol response %+v", r)
	}
	if _, err := crypto.ParsePublicKeyPEM([]byte(r.ServerPublicKey)); err != nil {
		t.Fatalf("server key: %v", err)
	}
	if bytes.Contains(b, []byte("PRIVATE")) {
		t.Fatal("enrol response holds a private key")
	}
	// Used.
	if st, b, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, code, pub), nil); st != http.StatusUnauthorized {
		t.Fatalf("second use: %d %s", st, b)
	}
	// Expired.
	code2, _ := k.srv.IssueEnrolment(k.ctx, tenantA, time.Minute)
	k.clock.Advance(2 * time.Minute)
	if st, b, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, code2, pub), nil); st != http.StatusUnauthorized {
		t.Fatalf("expired: %d %s", st, b)
	}
	// Unknown and malformed.
	for _, c := range []string{"AAAA-BBBB-CCCC", "", "nonsense", strings.Repeat("A", 200)} {
		if st, _, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, c, pub), nil); st != http.StatusUnauthorized {
			t.Errorf("code %q: %d", c, st)
		}
	}
	if st, _, _ := k.do("POST", "/v1/enrol", "", []byte("{"), nil); st != http.StatusBadRequest {
		t.Errorf("malformed enrol body: %d", st)
	}
	if _, err := k.srv.IssueEnrolment(k.ctx, "nowhere", time.Hour); err == nil {
		t.Error("enrolment for an unknown tenant")
	}

	ds, err := k.srv.Devices(k.ctx, tenantA)
	if err != nil || len(ds) != 1 || ds[0].ID != r.DeviceID || ds[0].Name != "Koffer 1" || ds[0].EnrolledAt.IsZero() {
		t.Fatalf("devices %+v, %v", ds, err)
	}
}

func TestAuth(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	b := k.enrol("b", tenantA, 3)
	pull := "/v1/tenants/" + tenantA + "/pull"

	if st, body, _ := k.do("GET", "/v1/health", "", nil, nil); st != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("health: %d %s", st, body)
	}
	// A token one character off (never the token itself, whatever its
	// first character).
	bad := "x" + a.token[1:]
	if bad == a.token {
		bad = "y" + a.token[1:]
	}
	for name, tok := range map[string]string{"none": "", "bad": bad, "garbage": "Bearer Bearer"} {
		st, body, hdr := k.do("GET", pull, tok, nil, nil)
		if st != http.StatusUnauthorized {
			t.Errorf("%s token: %d", name, st)
		}
		var e syncproto.Error
		if json.Unmarshal(body, &e) != nil || e.Error == "" || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s token: body %q is not a JSON error", name, body)
		}
	}
	if st, _, _ := k.do("GET", pull, a.token, nil, nil); st != http.StatusOK {
		t.Fatalf("valid token: %d", st)
	}
	// Another tenant's feed.
	if st, _, _ := k.do("GET", "/v1/tenants/"+tenantB+"/pull", a.token, nil, nil); st != http.StatusForbidden {
		t.Errorf("other tenant: %d", st)
	}
	if st, _, _ := k.do("POST", "/v1/tenants/"+tenantB+"/push", a.token, []byte(`{"changes":[]}`), nil); st != http.StatusForbidden {
		t.Errorf("push to other tenant: %d", st)
	}
	// Revocation takes effect with the next request.
	if err := k.srv.Revoke(k.ctx, a.id); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := k.do("GET", pull, a.token, nil, nil); st != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", st)
	}
	if st, _, _ := k.do("GET", pull, b.token, nil, nil); st != http.StatusOK {
		t.Errorf("other device after revocation: %d", st)
	}
	ds, _ := k.srv.Devices(k.ctx, tenantA)
	for _, d := range ds {
		if (d.ID == a.id) == d.RevokedAt.IsZero() {
			t.Errorf("device %s revoked at %v", d.Name, d.RevokedAt)
		}
		if d.LastSeenAt.IsZero() {
			t.Errorf("device %s never seen", d.Name)
		}
	}
	if err := k.srv.Revoke(k.ctx, domain.NewID()); err == nil {
		t.Error("revoked an unknown device")
	}
	// Wrong method, unknown path: JSON errors too.
	if st, body, _ := k.do("DELETE", pull, b.token, nil, nil); st != http.StatusMethodNotAllowed || !strings.Contains(string(body), "error") {
		t.Errorf("DELETE pull: %d %s", st, body)
	}
	if st, body, _ := k.do("GET", "/v2/nothing", b.token, nil, nil); st != http.StatusNotFound || !strings.Contains(string(body), "error") {
		t.Errorf("unknown path: %d %s", st, body)
	}
}

func TestPush_BadRequests(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	path := "/v1/tenants/" + tenantA + "/push"
	post := func(body []byte) (int, string) {
		st, b, _ := k.do("POST", path, a.token, body, nil)
		return st, string(b)
	}
	if st, b := post([]byte(`{"changes":[`)); st != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d %s", st, b)
	}
	if st, b := post([]byte(`{"changes":[]} {}`)); st != http.StatusBadRequest {
		t.Errorf("two JSON values: %d %s", st, b)
	}

	good, key := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	visit, vkey := a.create(domain.TypeVisit, domain.Fields{"place": "Oberweiler"})
	bad := map[string]func(c *syncproto.Change){
		"id":          func(c *syncproto.Change) { c.ID = "42" },
		"record id":   func(c *syncproto.Change) { c.RecordID = "" },
		"op":          func(c *syncproto.Change) { c.Op = "upsert" },
		"type":        func(c *syncproto.Change) { c.RecordType = "citizen" },
		"field name":  func(c *syncproto.Change) { c.Fields = append(c.Fields, "bad name") },
		"hlc":         func(c *syncproto.Change) { c.HLC = "yesterday" },
		"no hlc":      func(c *syncproto.Change) { c.HLC = "" },
		"base":        func(c *syncproto.Change) { c.BaseVersion = -1 },
		"plain extra": func(c *syncproto.Change) { c.Plain = map[string]syncproto.FieldChange{"surname": {New: "x"}} },
		"no secret":   func(c *syncproto.Change) { c.Secret = nil },
		"twice":       func(c *syncproto.Change) { c.Fields = append(c.Fields, c.Fields[0]) },
	}
	for name, spoil := range bad {
		c := good
		c.Fields = append([]string(nil), good.Fields...)
		spoil(&c)
		body, _ := json.Marshal(a.request([]syncproto.RecordKey{key, vkey}, visit, c))
		if st, b := post(body); st != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, st, b)
		}
	}
	// A plain field without its values.
	v := visit
	v.Plain = nil
	body, _ := json.Marshal(a.request([]syncproto.RecordKey{vkey}, v))
	if st, b := post(body); st != http.StatusBadRequest {
		t.Errorf("plain field without values: %d %s", st, b)
	}
	// A key under a seal the server never got.
	req := syncproto.PushRequest{Keys: []syncproto.RecordKey{key}, Changes: []syncproto.Change{good}}
	body, _ = json.Marshal(req)
	if st, b := post(body); st != http.StatusBadRequest {
		t.Errorf("unknown seal: %d %s", st, b)
	}
	if h := k.head(tenantA); h != 0 {
		t.Fatalf("a refused request applied something: head %d", h)
	}

	// Too many changes, too large a body.
	many := syncproto.PushRequest{Changes: make([]syncproto.Change, syncproto.MaxPushChanges+1)}
	for i := range many.Changes {
		many.Changes[i] = visit
	}
	body, _ = json.Marshal(many)
	if st, b := post(body); st != http.StatusRequestEntityTooLarge {
		t.Errorf("too many changes: %d %s", st, b)
	}
	huge := append([]byte(`{"changes":[],"seals":[{"id":"x","jwe":"`), bytes.Repeat([]byte("A"), syncproto.MaxBodyBytes)...)
	huge = append(huge, `"}]}`...)
	if st, b := post(huge); st != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: %d %s", st, b)
	}
	if h := k.head(tenantA); h != 0 {
		t.Fatalf("head %d", h)
	}
	// And a good one still works.
	wantStatus(t, a.push([]syncproto.RecordKey{key, vkey}, good, visit), syncproto.StatusApplied, syncproto.StatusApplied)
}
