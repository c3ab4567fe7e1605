package server

// Test harness: a real server on a real SQLite file in t.TempDir() (or a
// real PostgreSQL database, main_test.go), served
// over real HTTP on loopback, and simulated laptops that seal, push and
// pull exactly as the field store does (same AAD strings, same formats).

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// RSA-3072 key generation takes a good part of a second, so the tests
// share a few keys.
var keyPool struct {
	sync.Mutex
	keys []*rsa.PrivateKey
}

func poolKey(tb testing.TB, i int) *rsa.PrivateKey {
	tb.Helper()
	keyPool.Lock()
	defer keyPool.Unlock()
	for len(keyPool.keys) <= i {
		k, err := crypto.GenerateKeyPair()
		if err != nil {
			tb.Fatal(err)
		}
		keyPool.keys = append(keyPool.keys, k)
	}
	return keyPool.keys[i]
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type kit struct {
	t     testing.TB
	ctx   context.Context
	srv   *Server
	ts    *httptest.Server
	clock *testClock
	dir   string
	db    string // the server's database: SQLite file or PostgreSQL URL
	logs  *syncBuffer
}

// syncBuffer collects the server's log, to check it for personal data.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// personalWords are the personal values the tests use; none may reach a log.
var personalWords = []string{"Muster", "Erika", "1964"}

const tenantA, tenantB = "musterstadt", "andersdorf"

// startKit opens a server with two tenants and serves it on loopback.
func startKit(tb testing.TB) *kit {
	tb.Helper()
	k := &kit{t: tb, ctx: context.Background(), dir: tb.TempDir(),
		clock: &testClock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	k.db = testDB(tb, k.dir)
	k.open()
	tb.Cleanup(func() {
		logs := k.logs.String()
		for _, w := range personalWords {
			if strings.Contains(logs, w) {
				tb.Errorf("the server logged personal data (%q):\n%s", w, logs)
			}
		}
	})
	for i, id := range []string{tenantA, tenantB} {
		key := poolKey(tb, i)
		k.srv.genKey = func() (*rsa.PrivateKey, error) { return key, nil }
		if err := k.srv.CreateTenant(k.ctx, id, strings.ToUpper(id)); err != nil {
			tb.Fatal(err)
		}
	}
	k.srv.genKey = func() (*rsa.PrivateKey, error) { return nil, fmt.Errorf("test: no more keys") }
	return k
}

func (k *kit) open() {
	log := slog.New(slog.NewTextHandler(k.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The key file SQLite defaults to; PostgreSQL needs it named.
	key := filepath.Join(k.dir, "central.db.key")
	srv, err := Open(k.ctx, Config{DBPath: k.db, MasterKeyFile: key, Now: k.clock.Now, Log: log})
	if err != nil {
		k.t.Fatal(err)
	}
	k.srv = srv
	k.ts = httptest.NewServer(srv.Handler())
	k.t.Cleanup(func() {
		k.ts.Close()
		srv.Close()
	})
}

// do sends a request and returns the status and body.
func (k *kit) do(method, path, token string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	k.t.Helper()
	req, err := http.NewRequest(method, k.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		k.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for h, v := range hdr {
		req.Header.Set(h, v)
	}
	resp, err := k.ts.Client().Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		k.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// laptop is a simulated field device.
type laptop struct {
	k        *kit
	name     string
	priv     *rsa.PrivateKey
	id       string
	token    string
	tenant   string
	server   *rsa.PublicKey
	kid      string
	seal     syncproto.Seal
	sealKey  crypto.ContentKey
	sealSent bool
	keys     map[string]crypto.ContentKey // record keys, made here or pulled
	clock    hlc.Timestamp
}

func (k *kit) enrol(name, tenant string, poolIndex int) *laptop {
	k.t.Helper()
	code, err := k.srv.IssueEnrolment(k.ctx, tenant, time.Hour)
	if err != nil {
		k.t.Fatal(err)
	}
	l := &laptop{k: k, name: name, priv: poolKey(k.t, poolIndex), keys: map[string]crypto.ContentKey{}}
	pub, err := crypto.MarshalPublicKeyPEM(&l.priv.PublicKey)
	if err != nil {
		k.t.Fatal(err)
	}
	body, _ := json.Marshal(syncproto.EnrolRequest{Code: code, Name: name, LocalID: domain.NewID(), PublicKey: string(pub)})
	st, b, _ := k.do("POST", "/v1/enrol", "", body, nil)
	if st != http.StatusOK {
		k.t.Fatalf("enrol %s: %d %s", name, st, b)
	}
	var r syncproto.EnrolResponse
	if err := json.Unmarshal(b, &r); err != nil {
		k.t.Fatal(err)
	}
	l.id, l.token, l.tenant, l.kid = r.DeviceID, r.Token, r.Tenant, r.ServerKeyID
	if l.server, err = crypto.ParsePublicKeyPEM([]byte(r.ServerPublicKey)); err != nil {
		k.t.Fatal(err)
	}
	if l.sealKey, err = crypto.NewContentKey(); err != nil {
		k.t.Fatal(err)
	}
	jwe, err := crypto.SealKey(l.server, l.sealKey, l.kid)
	if err != nil {
		k.t.Fatal(err)
	}
	l.seal = syncproto.Seal{ID: domain.NewID(), JWE: jwe}
	return l
}

func (l *laptop) tick() string {
	l.clock = hlc.Next(l.clock, l.k.clock.Now())
	return l.clock.String()
}

// change builds a change entry as the field store writes it: plain values
// in clear, personal ones sealed under the record's key.
func (l *laptop) change(op string, typ domain.RecordType, recordID string, base int64, old, set domain.Fields) syncproto.Change {
	l.k.t.Helper()
	c := syncproto.Change{ID: domain.NewID(), RecordID: recordID, RecordType: string(typ), Op: op, BaseVersion: base,
		HLC: l.tick(), Clerk: "clerk-" + l.name, CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	secret := map[string]syncproto.FieldChange{}
	for _, name := range set.Names() {
		fc := syncproto.FieldChange{Old: old[name], New: set[name]}
		c.Fields = append(c.Fields, name)
		if domain.IsPersonal(typ, name) {
			secret[name] = fc
		} else {
			if c.Plain == nil {
				c.Plain = map[string]syncproto.FieldChange{}
			}
			c.Plain[name] = fc
		}
	}
	if len(secret) > 0 {
		ck, ok := l.keys[recordID]
		if !ok {
			l.k.t.Fatalf("%s has no key for record %s", l.name, recordID)
		}
		b, _ := json.Marshal(secret)
		var err error
		if c.Secret, err = crypto.SealValue(ck, b, []byte("change:"+c.ID)); err != nil {
			l.k.t.Fatal(err)
		}
	}
	return c
}

// create makes a new record: its key and its create change.
func (l *laptop) create(typ domain.RecordType, set domain.Fields) (syncproto.Change, syncproto.RecordKey) {
	l.k.t.Helper()
	id := domain.NewID()
	ck, err := crypto.NewContentKey()
	if err != nil {
		l.k.t.Fatal(err)
	}
	l.keys[id] = ck
	w, err := crypto.WrapKey(crypto.DataKey(l.sealKey), ck[:], []byte("record_key:"+id))
	if err != nil {
		l.k.t.Fatal(err)
	}
	return l.change("create", typ, id, 0, nil, set), syncproto.RecordKey{RecordID: id, SealID: l.seal.ID, Wrapped: w}
}

// request wraps changes and keys into a push request (with the seal the
// first time a key goes out).
func (l *laptop) request(keys []syncproto.RecordKey, changes ...syncproto.Change) syncproto.PushRequest {
	req := syncproto.PushRequest{Keys: keys, Changes: changes}
	if len(keys) > 0 && !l.sealSent {
		req.Seals = []syncproto.Seal{l.seal}
	}
	return req
}

func (l *laptop) pushReq(req syncproto.PushRequest) []syncproto.PushResult {
	l.k.t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		l.k.t.Fatal(err)
	}
	st, b, _ := l.k.do("POST", "/v1/tenants/"+l.tenant+"/push", l.token, body, nil)
	if st != http.StatusOK {
		l.k.t.Fatalf("%s push: %d %s", l.name, st, b)
	}
	var resp syncproto.PushResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		l.k.t.Fatal(err)
	}
	if len(resp.Results) != len(req.Changes) {
		l.k.t.Fatalf("%d results for %d changes", len(resp.Results), len(req.Changes))
	}
	if len(req.Seals) > 0 {
		l.sealSent = true
	}
	return resp.Results
}

func (l *laptop) push(keys []syncproto.RecordKey, changes ...syncproto.Change) []syncproto.PushResult {
	l.k.t.Helper()
	return l.pushReq(l.request(keys, changes...))
}

// pulled is one pull page as a laptop sees it.
type pulled struct {
	page    syncproto.Page
	pageKey crypto.ContentKey
	entries []syncproto.Entry
	end     *syncproto.End
}

func (l *laptop) pull(after int64, limit int) pulled {
	l.k.t.Helper()
	path := fmt.Sprintf("/v1/tenants/%s/pull?after=%d", l.tenant, after)
	if limit > 0 {
		path += fmt.Sprintf("&limit=%d", limit)
	}
	st, b, hdr := l.k.do("GET", path, l.token, nil, nil)
	if st != http.StatusOK {
		l.k.t.Fatalf("%s pull: %d %s", l.name, st, b)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/x-ndjson" {
		l.k.t.Errorf("pull content type %q", ct)
	}
	var p pulled
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	for i, line := range lines {
		var pl syncproto.PullLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&pl); err != nil {
			l.k.t.Fatalf("line %d %q: %v", i, line, err)
		}
		switch {
		case i == 0:
			if pl.Page == nil {
				l.k.t.Fatalf("first line is not a page: %s", line)
			}
			var err error
			p.page = *pl.Page
			if p.pageKey, err = crypto.OpenKey(l.priv, pl.Page.JWE); err != nil {
				l.k.t.Fatalf("open page key: %v", err)
			}
		case pl.Entry != nil:
			if p.end != nil {
				l.k.t.Fatal("entry after end")
			}
			p.entries = append(p.entries, *pl.Entry)
		case pl.End != nil:
			p.end = pl.End
		default:
			l.k.t.Fatalf("line %d: %s", i, line)
		}
	}
	if p.end == nil {
		l.k.t.Fatal("pull without end")
	}
	// Keep the record keys, as the agent and app do.
	for _, e := range p.entries {
		if len(e.Key) == 0 {
			continue
		}
		raw, err := crypto.UnwrapKey(crypto.DataKey(p.pageKey), e.Key, []byte("record_key:"+e.RecordID))
		if err != nil {
			l.k.t.Fatalf("unwrap key of %s: %v", e.RecordID, err)
		}
		var ck crypto.ContentKey
		copy(ck[:], raw)
		l.keys[e.RecordID] = ck
	}
	return p
}

// pullAll pulls everything after seq 0.
func (l *laptop) pullAll() []syncproto.Entry {
	l.k.t.Helper()
	var all []syncproto.Entry
	after := int64(0)
	for {
		p := l.pull(after, 0)
		all = append(all, p.entries...)
		after = p.end.LastSeq
		if !p.end.More {
			return all
		}
	}
}

// open decrypts the personal values of a pulled entry.
func (l *laptop) open(e syncproto.Entry) map[string]syncproto.FieldChange {
	l.k.t.Helper()
	if len(e.Secret) == 0 {
		return nil
	}
	ck, ok := l.keys[e.RecordID]
	if !ok {
		l.k.t.Fatalf("%s has no key for %s", l.name, e.RecordID)
	}
	pt, err := crypto.OpenValue(ck, e.Secret, []byte("change:"+e.ID))
	if err != nil {
		l.k.t.Fatalf("open change %s: %v", e.ID, err)
	}
	var vals map[string]syncproto.FieldChange
	if err := json.Unmarshal(pt, &vals); err != nil {
		l.k.t.Fatal(err)
	}
	return vals
}

func wantStatus(t testing.TB, rs []syncproto.PushResult, want ...string) {
	t.Helper()
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(rs), len(want), rs)
	}
	for i := range rs {
		if rs[i].Status != want[i] {
			t.Fatalf("result %d: %+v, want status %s", i, rs[i], want[i])
		}
	}
}

func (k *kit) head(tenant string) int64 {
	k.t.Helper()
	h, err := k.srv.HeadSeq(k.ctx, tenant)
	if err != nil {
		k.t.Fatal(err)
	}
	return h
}

func (k *kit) record(tenant, id string) RecordView {
	k.t.Helper()
	r, err := k.srv.Record(k.ctx, tenant, id)
	if err != nil {
		k.t.Fatal(err)
	}
	return r
}

// conflicts returns the conflict entries of a pull.
func conflicts(es []syncproto.Entry) []syncproto.Entry {
	var out []syncproto.Entry
	for _, e := range es {
		if e.RecordType == string(domain.TypeConflict) {
			out = append(out, e)
		}
	}
	return out
}

func plainNew(e syncproto.Entry) map[string]string {
	m := map[string]string{}
	for k, v := range e.Plain {
		m[k] = v.New
	}
	return m
}
