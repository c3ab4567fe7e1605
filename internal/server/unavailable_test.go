package server

// What the HTTP layer answers while the database is away: 503 with
// Retry-After on every endpoint, /v1/ready failing and /v1/health not,
// and the same server serving again once the database is back. The
// database's loss is played by downStore, which fails chosen operations
// with ErrUnavailable as the PostgreSQL store does for a lost connection;
// the loss of a real PostgreSQL is tested on the PostgreSQL store.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// downStore is a Store whose database is away for some operations: those
// return an error wrapping ErrUnavailable until the test brings them back.
type downStore struct {
	Store
	mu    sync.Mutex
	down  map[string]int // operation ("*": every one) -> failures left (-1: until up)
	fails int            // failures returned so far
}

func newDownStore(st Store) *downStore { return &downStore{Store: st, down: map[string]int{}} }

// fail makes op fail n times (n < 0: until up is called).
func (d *downStore) fail(op string, n int) {
	d.mu.Lock()
	d.down[op] = n
	d.mu.Unlock()
}

// up brings every operation back.
func (d *downStore) up() {
	d.mu.Lock()
	clear(d.down)
	d.mu.Unlock()
}

func (d *downStore) failures() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fails
}

func (d *downStore) check(op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, key := range []string{op, "*"} {
		n, ok := d.down[key]
		if !ok || n == 0 {
			continue
		}
		if n > 0 {
			d.down[key] = n - 1
		}
		d.fails++
		return fmt.Errorf("%s: connection refused: %w", op, ErrUnavailable)
	}
	return nil
}

func (d *downStore) Record(ctx context.Context, tenant, id string) (*merge.Record, error) {
	if err := d.check("Record"); err != nil {
		return nil, err
	}
	return d.Store.Record(ctx, tenant, id)
}

func (d *downStore) RecordKey(ctx context.Context, tenant, id string) (RecordKey, bool, error) {
	if err := d.check("RecordKey"); err != nil {
		return RecordKey{}, false, err
	}
	return d.Store.RecordKey(ctx, tenant, id)
}

func (d *downStore) Seal(ctx context.Context, tenant, id string) (string, bool, error) {
	if err := d.check("Seal"); err != nil {
		return "", false, err
	}
	return d.Store.Seal(ctx, tenant, id)
}

func (d *downStore) ChangeSecret(ctx context.Context, tenant, id string) ([]byte, error) {
	if err := d.check("ChangeSecret"); err != nil {
		return nil, err
	}
	return d.Store.ChangeSecret(ctx, tenant, id)
}

func (d *downStore) Update(ctx context.Context, tenant string, fn func(Tx) error) error {
	if err := d.check("Update"); err != nil {
		return err
	}
	return d.Store.Update(ctx, tenant, fn)
}

func (d *downStore) Ping(ctx context.Context) error {
	if err := d.check("Ping"); err != nil {
		return err
	}
	return d.Store.Ping(ctx)
}

func (d *downStore) Meta(ctx context.Context, key string) (string, error) {
	if err := d.check("Meta"); err != nil {
		return "", err
	}
	return d.Store.Meta(ctx, key)
}

func (d *downStore) Tenants(ctx context.Context) ([]Tenant, error) {
	if err := d.check("Tenants"); err != nil {
		return nil, err
	}
	return d.Store.Tenants(ctx)
}

func (d *downStore) TenantKey(ctx context.Context, tenant string) (TenantKey, error) {
	if err := d.check("TenantKey"); err != nil {
		return TenantKey{}, err
	}
	return d.Store.TenantKey(ctx, tenant)
}

func (d *downStore) TenantKeyByID(ctx context.Context, tenant, kid string) (TenantKey, error) {
	if err := d.check("TenantKeyByID"); err != nil {
		return TenantKey{}, err
	}
	return d.Store.TenantKeyByID(ctx, tenant, kid)
}

func (d *downStore) Redeem(ctx context.Context, codeHash, tokenHash string, dev Device) (string, error) {
	if err := d.check("Redeem"); err != nil {
		return "", err
	}
	return d.Store.Redeem(ctx, codeHash, tokenHash, dev)
}

func (d *downStore) EnrolmentOpen(ctx context.Context, codeHash string, at time.Time) (bool, error) {
	if err := d.check("EnrolmentOpen"); err != nil {
		return false, err
	}
	return d.Store.EnrolmentOpen(ctx, codeHash, at)
}

func (d *downStore) DeviceByToken(ctx context.Context, tokenHash string) (Device, error) {
	if err := d.check("DeviceByToken"); err != nil {
		return Device{}, err
	}
	return d.Store.DeviceByToken(ctx, tokenHash)
}

func (d *downStore) Feed(ctx context.Context, tenant string, after int64, n int) ([]FeedRow, error) {
	if err := d.check("Feed"); err != nil {
		return nil, err
	}
	return d.Store.Feed(ctx, tenant, after, n)
}

func (d *downStore) HeadSeq(ctx context.Context, tenant string) (int64, error) {
	if err := d.check("HeadSeq"); err != nil {
		return 0, err
	}
	return d.Store.HeadSeq(ctx, tenant)
}

func (d *downStore) Attachment(ctx context.Context, ref AttachmentRef) (Attachment, error) {
	if err := d.check("Attachment"); err != nil {
		return Attachment{}, err
	}
	return d.Store.Attachment(ctx, ref)
}

func (d *downStore) StartAttachment(ctx context.Context, a Attachment) error {
	if err := d.check("StartAttachment"); err != nil {
		return err
	}
	return d.Store.StartAttachment(ctx, a)
}

func (d *downStore) AppendAttachment(ctx context.Context, ref AttachmentRef, at int64, piece []byte) (int64, error) {
	if err := d.check("AppendAttachment"); err != nil {
		return 0, err
	}
	return d.Store.AppendAttachment(ctx, ref, at, piece)
}

func (d *downStore) CompleteAttachment(ctx context.Context, ref AttachmentRef, at time.Time) error {
	if err := d.check("CompleteAttachment"); err != nil {
		return err
	}
	return d.Store.CompleteAttachment(ctx, ref, at)
}

func (d *downStore) AttachmentData(ctx context.Context, ref AttachmentRef, fn func([]byte) error) error {
	if err := d.check("AttachmentData"); err != nil {
		return err
	}
	return d.Store.AttachmentData(ctx, ref, fn)
}

// goDown puts a downStore between the kit's server and its database.
func (k *kit) goDown() *downStore {
	d := newDownStore(k.srv.st)
	k.srv.st = d
	return d
}

// want503 checks an answer to a request made while the database was away.
func want503(t *testing.T, what string, st int, body []byte, hdr http.Header) {
	t.Helper()
	if st != http.StatusServiceUnavailable {
		t.Errorf("%s: %d %s, want 503", what, st, body)
		return
	}
	if s, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("%s: 503 with Retry-After %q, want seconds", what, hdr.Get("Retry-After"))
	}
	var e syncproto.Error
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Errorf("%s: 503 body %q is not a JSON error", what, body)
	}
}

func TestReady_FailsWhileDatabaseAway(t *testing.T) {
	k := startKit(t)
	st, body, _ := k.do("GET", "/v1/ready", "", nil, nil)
	if st != http.StatusOK {
		t.Fatalf("ready: %d %s", st, body)
	}
	d := k.goDown()
	d.fail("Ping", -1)
	st, body, hdr := k.do("GET", "/v1/ready", "", nil, nil)
	want503(t, "ready while the database is away", st, body, hdr)
	// Liveness does not ask the database: restarting this process would
	// not bring the database back.
	if st, body, _ := k.do("GET", "/v1/health", "", nil, nil); st != http.StatusOK {
		t.Errorf("health while the database is away: %d %s", st, body)
	}
	d.up()
	if st, body, _ := k.do("GET", "/v1/ready", "", nil, nil); st != http.StatusOK {
		t.Errorf("ready when the database is back: %d %s", st, body)
	}
	if st, _, _ := k.do("POST", "/v1/ready", "", nil, nil); st != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/ready: %d", st)
	}
}

// Every endpoint answers 503 with Retry-After, whichever database call
// fails, and serves again afterwards: nothing of the loss stays behind.
func TestUnavailable_Answers503OnEveryEndpoint(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	ch, key := a.create(domain.TypeCase, domain.Fields{"status": "draft", "applicant.name": "Erika Muster"})
	wantStatus(t, a.push([]syncproto.RecordKey{key}, ch), syncproto.StatusApplied)
	pub, err := crypto.MarshalPublicKeyPEM(&poolKey(t, 3).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	code, err := k.srv.IssueEnrolment(k.ctx, tenantA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	enrol, _ := json.Marshal(syncproto.EnrolRequest{Code: code, Name: "b", LocalID: domain.NewID(), PublicKey: string(pub)})
	next, _ := a.create(domain.TypeCase, domain.Fields{"status": "draft"})
	push, _ := json.Marshal(a.request(nil, a.change("update", domain.TypeCase, ch.RecordID, 1,
		domain.Fields{"status": "draft"}, domain.Fields{"status": "submitted"})))
	data := []byte("sealed picture bytes")
	sha, sealed := sha256hex([]byte("plain picture")), sha256hex(data)
	att := attPath(a, next.RecordID, sha)
	pull := "/v1/tenants/" + tenantA + "/pull"

	type request struct {
		method, path, token string
		body                []byte
		hdr                 map[string]string
	}
	reqs := map[string]request{
		"enrol":    {"POST", "/v1/enrol", "", enrol, nil},
		"push":     {"POST", "/v1/tenants/" + tenantA + "/push", a.token, push, nil},
		"pull":     {"GET", pull, a.token, nil, nil},
		"head":     {"HEAD", att, a.token, nil, nil},
		"patch":    {"PATCH", att, a.token, data, patchHeaders(0, len(data), sealed, next.RecordID)},
		"download": {"GET", att, a.token, nil, nil},
	}
	d := k.goDown()
	cases := []struct{ op, req string }{
		{"*", "enrol"}, {"*", "push"}, {"*", "pull"}, {"*", "head"}, {"*", "patch"}, {"*", "download"},
		{"EnrolmentOpen", "enrol"}, {"Redeem", "enrol"},
		{"DeviceByToken", "push"}, {"Update", "push"},
		{"TenantKey", "pull"}, {"Feed", "pull"},
		{"Attachment", "head"}, {"Attachment", "patch"}, {"StartAttachment", "patch"}, {"AppendAttachment", "patch"},
		{"Attachment", "download"},
	}
	for _, c := range cases {
		r := reqs[c.req]
		d.fail(c.op, -1)
		st, body, hdr := k.do(r.method, r.path, r.token, r.body, r.hdr)
		d.up()
		if r.method == "HEAD" {
			body = []byte(`{"error":"(no body to a HEAD)"}`)
		}
		want503(t, c.req+" with "+c.op+" failing", st, body, hdr)
	}
	if d.failures() == 0 {
		t.Fatal("no database call failed")
	}
	// /metrics answers while the database is away, and counts the 503s.
	d.fail("*", -1)
	e := scrape(t, k.ts, "")
	d.up()
	if got := e.value("syncd_unavailable_responses_total"); got != float64(len(cases)) {
		t.Errorf("syncd_unavailable_responses_total = %v, want the %d answered 503", got, len(cases))
	}

	// The database is back: every request goes through, and each change
	// was applied once.
	for _, name := range []string{"enrol", "push", "patch", "head", "pull"} {
		r := reqs[name]
		if st, body, _ := k.do(r.method, r.path, r.token, r.body, r.hdr); st >= 300 {
			t.Errorf("%s after the database came back: %d %s", name, st, body)
		}
	}
	entries := a.pullAll()
	if len(entries) != 2 || entries[1].Op != "update" {
		t.Fatalf("feed after the loss: %d entries, want the create and the update once each", len(entries))
	}
	if got := headOffset(t, a, next.RecordID, sha); got != int64(len(data)) {
		t.Errorf("upload after the loss stands at %d, want %d", got, len(data))
	}
	// A download whose bytes cannot be read has sent nothing yet: 503,
	// not a 200 cut short.
	d.fail("AttachmentData", -1)
	st, body, hdr := k.do("GET", att, a.token, nil, nil)
	d.up()
	want503(t, "download with AttachmentData failing", st, body, hdr)
	if st, body, _ := k.do("GET", att, a.token, nil, nil); st != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("download after the loss: %d, %d bytes", st, len(body))
	}
}

// The agent's client, which retries 503 and honours Retry-After, gets a
// push through a short loss of the database without the caller noticing.
func TestUnavailable_AgentRetriesThrough(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: k.ts.URL, Token: a.token, RetryCount: 5,
		RetryWait: 10 * time.Millisecond, RetryMaxWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, key := a.create(domain.TypeCase, domain.Fields{"status": "draft"})
	d := k.goDown()
	d.fail("Update", 2) // the first two push transactions find no database
	resp, err := c.Push(k.ctx, tenantA, a.request([]syncproto.RecordKey{key}, ch))
	if err != nil {
		t.Fatalf("push through a short database loss: %v", err)
	}
	if len(resp.Results) != 1 || resp.Results[0].Status != syncproto.StatusApplied {
		t.Fatalf("results %+v", resp.Results)
	}
	if d.failures() != 2 {
		t.Errorf("%d database calls failed, want 2", d.failures())
	}
	if got := k.head(tenantA); got != 1 {
		t.Errorf("head seq %d, want 1", got)
	}
}

// A database that goes away in the middle of a pull page cuts the page
// short (its 200 is out already) and the agent pulls again. That is the
// database's loss, not an error of the server: logged as a warning, as
// its 503 is, so that an alert on errors does not fire for every pull in
// flight while PostgreSQL restarts (TestPostgresRestart_MidSync in syncd
// found it logged as an error).
func TestUnavailable_PullCutShortIsAWarning(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	ch, key := a.create(domain.TypeCase, domain.Fields{"status": "draft"})
	wantStatus(t, a.push([]syncproto.RecordKey{key}, ch), syncproto.StatusApplied)
	d := k.goDown()
	d.fail("HeadSeq", -1) // read after the page's entries went out
	st, body, _ := k.do("GET", "/v1/tenants/"+tenantA+"/pull", a.token, nil, nil)
	d.up()
	if st != http.StatusOK || !bytes.Contains(body, []byte(ch.ID)) || bytes.Contains(body, []byte(`"end"`)) {
		t.Fatalf("pull with the database lost mid-page: %d %s, want 200 with the entry and no end line", st, body)
	}
	logs := k.logs.String()
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "pull cut short: database unavailable") {
		t.Errorf("the cut page is not logged as a warning:\n%s", logs)
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("a database lost mid-page logged as an error:\n%s", logs)
	}
}

func TestSQLite_Ping(t *testing.T) {
	ctx := context.Background()
	st, err := openSQLite(ctx, filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("ping an open database: %v", err)
	}
	st.Close()
	if err := st.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ping a closed database: %v, want ErrUnavailable", err)
	}
}
