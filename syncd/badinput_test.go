package main

// Bad input against a real `syncd serve`: bodies that are malformed, cut
// off, too big or for another tenant, a push that arrives twice, a token
// used after its revocation, two hundred devices at once, and a laptop
// whose disk fills up. Each must end in a clear answer and leave the data
// as it was.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/faultproxy"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// rawStatus sends body to path with token and returns the status and the
// error text of the answer.
func (k *kit) rawStatus(method, path, token string, body []byte) (int, string) {
	k.t.Helper()
	req, err := http.NewRequestWithContext(k.ctx, method, k.url+path, bytes.NewReader(body))
	if err != nil {
		k.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	var e syncproto.Error
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

// truncatedPost sends a request whose Content-Length promises more than
// the body has, then closes its side of the connection, and returns the
// answer's status (0 if there was none).
func (k *kit) truncatedPost(path, token string, body []byte, promised int) int {
	k.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(k.url, "http://"))
	if err != nil {
		k.t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: syncd\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, token, promised)
	c.Write(body)
	c.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pushBody is the laptop's next push as JSON, and the request itself.
func (l *laptop) pushBody() ([]byte, syncproto.PushRequest) {
	l.k.t.Helper()
	req, err := l.st.NextPush(l.k.ctx, 100)
	if err != nil || len(req.Changes) == 0 {
		l.k.t.Fatalf("next push: %d changes, %v", len(req.Changes), err)
	}
	b, err := json.Marshal(req)
	if err != nil {
		l.k.t.Fatal(err)
	}
	return b, req
}

func TestBadInput_RefusedAndNothingApplied(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	for range 2 {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	body, req := a.pushBody()
	token := a.enrolment().Token
	push := "/v1/tenants/musterstadt/push"
	before, beforeOther := k.export("musterstadt"), k.export("beispielheim")

	// A body of too many changes (ids need not be valid: the count is
	// checked first).
	many := syncproto.PushRequest{Seals: req.Seals, Keys: req.Keys}
	for range syncproto.MaxPushChanges + 1 {
		many.Changes = append(many.Changes, req.Changes[0])
	}
	manyBody, _ := json.Marshal(many)

	// A valid push with one extra member in a change and at the top.
	var generic map[string]any
	json.Unmarshal(body, &generic)
	generic["surplus"] = "x"
	generic["changes"].([]any)[0].(map[string]any)["surplus"] = "x"
	unknown, _ := json.Marshal(generic)

	// A change naming a field it has no values for.
	var bad syncproto.PushRequest
	json.Unmarshal(body, &bad)
	bad.Changes[1].Fields = append(bad.Changes[1].Fields, "status")
	badChange, _ := json.Marshal(bad)

	for _, tc := range []struct {
		name   string
		path   string
		token  string
		body   []byte
		status int
	}{
		{"malformed JSON", push, token, []byte(`{"changes": [{"id": `), http.StatusBadRequest},
		{"not JSON", push, token, []byte("changes=1"), http.StatusBadRequest},
		{"wrong types", push, token, []byte(`{"changes": "all of them"}`), http.StatusBadRequest},
		{"data after the body", push, token, append(bytes.Clone(body), []byte(`{"changes":[]}`)...), http.StatusBadRequest},
		{"empty body", push, token, nil, http.StatusBadRequest},
		{"oversized body", push, token, append([]byte(`{"changes":[],"pad":"`+strings.Repeat("x", syncproto.MaxBodyBytes)), `"}`...),
			http.StatusRequestEntityTooLarge},
		{"too many changes", push, token, manyBody, http.StatusRequestEntityTooLarge},
		{"an invalid change among valid ones", push, token, badChange, http.StatusBadRequest},
		{"another tenant", "/v1/tenants/beispielheim/push", token, body, http.StatusForbidden},
		{"an unknown tenant", "/v1/tenants/nirgendwo/push", token, body, http.StatusForbidden},
		{"no token", push, "", body, http.StatusUnauthorized},
		{"a made-up token", push, "bk_" + strings.Repeat("0", 40), body, http.StatusUnauthorized},
		{"pull after -1", "/v1/tenants/musterstadt/pull?after=-1", token, nil, http.StatusBadRequest},
		{"pull limit abc", "/v1/tenants/musterstadt/pull?limit=abc", token, nil, http.StatusBadRequest},
		{"malformed enrolment", "/v1/enrol", "", []byte(`{"code": 7}`), http.StatusBadRequest},
	} {
		method := http.MethodPost
		if strings.Contains(tc.path, "/pull") {
			method = http.MethodGet
		}
		status, msg := k.rawStatus(method, tc.path, tc.token, tc.body)
		if status != tc.status || msg == "" {
			t.Errorf("%s: %d %q, want %d with an error text", tc.name, status, msg, tc.status)
		}
	}

	// A body cut off in transit: the server must not take the part it
	// got for the whole.
	half := body[:len(body)/2]
	if s := k.truncatedPost(push, token, half, len(body)); s != http.StatusBadRequest {
		t.Errorf("truncated body: %d, want 400", s)
	}
	// A complete JSON value that is shorter than its Content-Length.
	if s := k.truncatedPost(push, token, body, len(body)+100); s != http.StatusBadRequest {
		t.Errorf("body shorter than its Content-Length: %d, want 400", s)
	}

	if got := k.export("musterstadt"); got != before {
		t.Errorf("refused requests changed the server:\nbefore %s\nafter  %s", before, got)
	}
	if got := k.export("beispielheim"); got != beforeOther {
		t.Errorf("the other tenant changed:\n%s", got)
	}

	// Unknown members are not an error in protocol v1: a newer agent may
	// send more than this server knows. The known part is applied as it
	// would be without them, and the laptop's own push then finds it
	// there.
	if status, msg := k.rawStatus(http.MethodPost, push, token, unknown); status != http.StatusOK {
		t.Errorf("push with unknown members: %d %q, want 200 (ignored)", status, msg)
	}
	rep := a.sync()
	if rep.Pushed != 0 || rep.Duplicates != 2 {
		t.Errorf("laptop's own push after the one with unknown members: %+v, want 2 duplicates", rep)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 0 {
		t.Errorf("%d changes still pending", n)
	}
	exp := k.export("musterstadt")
	if n := strings.Count(exp, "\n"); n != 2 || strings.Contains(exp, "surplus") {
		t.Errorf("server has %d records, want 2 without the unknown members:\n%s", n, exp)
	}
	if a.export() != exp {
		t.Errorf("laptop and server differ")
	}
}

func TestBadInput_DuplicatedPushAppliesOnce(t *testing.T) {
	k := startKit(t)
	p, err := faultproxy.Start(k.ctx, strings.TrimPrefix(k.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a := k.laptopVia("a", "musterstadt", p.URL())
	for range 3 {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	// Every connection's first request from now on reaches the server
	// twice.
	p.Set(faultproxy.Faults{Duplicate: 1})

	// A push that is the first request of its connection: both copies
	// reach the server, in either order.
	_, req := a.pushBody()
	e := a.enrolment()
	cl, err := agent.NewClient(agent.ClientConfig{BaseURL: p.URL(), Token: e.Token})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Push(k.ctx, e.Tenant, req)
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Results {
		if r.Status != syncproto.StatusApplied && r.Status != syncproto.StatusDuplicate {
			t.Errorf("change %d: %+v", i, r)
		}
	}
	// Two more, through the agent: its sync sees the replays too.
	for range 2 {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	rep := a.sync()
	if rep.Pushed+rep.Duplicates != 5 {
		t.Errorf("agent: %+v, want 5 changes pushed or found duplicate", rep)
	}
	// Close waits for the replayed requests' answers: the server has
	// handled both copies of everything.
	p.Close()
	if st := p.Stats(); st.Duplicated < 2 {
		t.Fatalf("proxy replayed %d requests, want the push and the agent's first: %+v", st.Duplicated, st)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 0 {
		t.Errorf("%d changes still pending", n)
	}
	exp := k.export("musterstadt")
	if n := strings.Count(exp, "\n"); n != 5 {
		t.Fatalf("server has %d records, want 5:\n%s", n, exp)
	}
	if strings.Count(exp, `"version":1,`) != 5 {
		t.Errorf("a record was applied twice (version above 1):\n%s", exp)
	}
	if a.export() != exp {
		t.Errorf("a differs from the server")
	}
	b := k.laptop("b", "musterstadt")
	if rep := b.sync(); rep.Pulled != 5 {
		t.Errorf("the feed holds %d changes, want 5", rep.Pulled)
	}
	if b.export() != exp {
		t.Errorf("b differs from the server")
	}
}

func TestBadInput_TokenAfterRevocation(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	body, _ := a.pushBody()
	e := a.enrolment()
	pull := "/v1/tenants/musterstadt/pull"
	if s := k.raw(http.MethodGet, pull, e.Token, nil); s != http.StatusOK {
		t.Fatalf("pull before revocation: %d", s)
	}
	k.admin("revoke", e.DeviceID)
	before := k.export("musterstadt")
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, pull},
		{http.MethodPost, "/v1/tenants/musterstadt/push"},
		{http.MethodHead, syncproto.AttachmentPath("musterstadt", domain.NewID(), strings.Repeat("a", 64))},
	} {
		var rb io.Reader
		if tc.method == http.MethodPost {
			rb = bytes.NewReader(body)
		}
		if s := k.raw(tc.method, tc.path, e.Token, rb); s != http.StatusUnauthorized {
			t.Errorf("%s %s with a revoked token: %d, want 401", tc.method, tc.path, s)
		}
	}
	ag, err := agent.New(agent.Config{}, a.st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ag.SyncOnce(k.ctx); agent.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("agent sync with a revoked token: %v, want a 401", err)
	}
	if got := k.export("musterstadt"); got != before || before != "" {
		t.Errorf("the revoked device changed the server: %q", got)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 1 {
		t.Errorf("%d pending after the refused sync, want 1 kept", n)
	}
}

func TestBadInput_TwoHundredDevicesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("enrols ten laptops")
	}
	const laptops, perLaptop = 10, 20 // 200 goroutines
	k := startKit(t)
	type device struct {
		l   *laptop
		cl  *agent.Client
		e   store.Enrolment
		req syncproto.PushRequest
	}
	devs := make([]device, laptops)
	for i := range devs {
		l := k.laptop(fmt.Sprintf("l%02d", i), "musterstadt")
		for range perLaptop {
			if _, err := l.ss.CreateCase(k.ctx, anmeldung()); err != nil {
				t.Fatal(err)
			}
		}
		_, req := l.pushBody()
		e := l.enrolment()
		cl, err := agent.NewClient(agent.ClientConfig{BaseURL: e.ServerURL, Token: e.Token})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		devs[i] = device{l: l, cl: cl, e: e, req: req}
	}

	// Each goroutine pushes one change of its laptop, pulls the whole
	// feed, and pushes its laptop's whole batch again (which nineteen
	// others do at the same time).
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		failed, retryable int
	)
	report := func(g int, what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if s := agent.StatusOf(err); s == http.StatusTooManyRequests || s >= 500 || agent.IsNetwork(err) {
			retryable++
			return
		}
		failed++
		t.Errorf("goroutine %d: %s: %v", g, what, err)
	}
	for g := range laptops * perLaptop {
		d := devs[g%laptops]
		wg.Add(1)
		go func() {
			defer wg.Done()
			one := syncproto.PushRequest{Seals: d.req.Seals, Keys: d.req.Keys, Changes: d.req.Changes[g/laptops : g/laptops+1]}
			res, err := d.cl.Push(k.ctx, d.e.Tenant, one)
			if err != nil {
				report(g, "push one", err)
				return
			}
			if s := res.Results[0].Status; s != syncproto.StatusApplied && s != syncproto.StatusDuplicate {
				report(g, "push one", fmt.Errorf("status %s: %s", s, res.Results[0].Reason))
			}
			var last int64
			err = d.cl.Pull(k.ctx, d.e.Tenant, 0, syncproto.MaxPullLimit, func(line syncproto.PullLine) error {
				if line.Entry != nil {
					if line.Entry.Seq <= last {
						return fmt.Errorf("seq %d after %d", line.Entry.Seq, last)
					}
					last = line.Entry.Seq
				}
				return nil
			})
			if err != nil {
				report(g, "pull", err)
				return
			}
			res, err = d.cl.Push(k.ctx, d.e.Tenant, d.req)
			if err != nil {
				report(g, "push all", err)
				return
			}
			for _, r := range res.Results {
				if r.Status != syncproto.StatusApplied && r.Status != syncproto.StatusDuplicate {
					report(g, "push all", fmt.Errorf("change %s: status %s: %s", r.ID, r.Status, r.Reason))
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d goroutines: %d retryable answers, %d failures", laptops*perLaptop, retryable, failed)

	// Every laptop finishes with an ordinary sync; all agree with the
	// server, which holds each change once.
	for _, d := range devs {
		d.l.sync()
	}
	exp := k.export("musterstadt")
	if n := strings.Count(exp, "\n"); n != laptops*perLaptop {
		t.Errorf("server has %d records, want %d", n, laptops*perLaptop)
	}
	if strings.Count(exp, `"version":1,`) != laptops*perLaptop {
		t.Errorf("some record was applied more than once")
	}
	for _, d := range devs {
		if n, _, _ := d.l.st.Pending(k.ctx); n != 0 {
			t.Errorf("%s: %d pending", d.l.path, n)
		}
		if d.l.export() != exp {
			t.Errorf("%s differs from the server", d.l.path)
		}
	}
}

// diskFullEnv names the directory, a small tmpfs, in which the child
// process of TestBadInput_DiskFullOnLaptop runs it.
const diskFullEnv = "BK_TEST_DISKFULL_DIR"

// TestBadInput_DiskFullOnLaptop fills the laptop's disk for real: it runs
// itself again in a user and mount namespace (unshare) with the field
// store on a 4 MB tmpfs, and skips where that is not allowed.
func TestBadInput_DiskFullOnLaptop(t *testing.T) {
	if dir := os.Getenv(diskFullEnv); dir != "" {
		diskFull(t, dir)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux namespaces for a small tmpfs")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1): cannot mount a small tmpfs")
	}
	dir := t.TempDir()
	const mountFailed = 97
	cmd := exec.CommandContext(t.Context(), unshare, "--map-root-user", "--mount", "sh", "-c",
		`mount -t tmpfs -o size=4m tmpfs "$0" || exit 97; exec "$@"`,
		dir, os.Args[0], "-test.run=^TestBadInput_DiskFullOnLaptop$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), diskFullEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil && bytes.Contains(out, []byte("--- PASS")):
		t.Logf("in a 4 MB tmpfs:\n%s", out)
	case errors.As(err, &ee) && ee.ExitCode() == mountFailed,
		!bytes.Contains(out, []byte("=== RUN")):
		t.Skipf("cannot mount a small tmpfs here (%v):\n%s", err, out)
	default:
		t.Fatalf("in a 4 MB tmpfs: %v\n%s", err, out)
	}
}

// diskFull is the body of TestBadInput_DiskFullOnLaptop, in a directory
// on a small file system.
func diskFull(t *testing.T, dir string) {
	ctx := t.Context()
	path := filepath.Join(dir, "field.db")
	st, err := store.Open(ctx, path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	ss, err := st.Setup(ctx, "clerk-a", "Clerk a", []byte("Feldtag-2026!"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := ss.CreateCase(ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	// Fill what the store leaves of the file system.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	// Writes go on while the WAL has room; one of them fails.
	pad := make([]byte, 128<<10)
	var writeErr error
	var pending int64
	for i := 0; i < 200 && writeErr == nil; i++ {
		pending, _, err = st.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var c domain.Case
		if c, writeErr = ss.CreateCase(ctx, anmeldung()); writeErr == nil {
			rand.Read(pad)
			_, _, writeErr = ss.PutAttachment(ctx, c.ID, store.AnyVersion, domain.AttachmentPadRaw, pad)
			if writeErr != nil {
				pending++ // the case went in; the attachment did not
			}
		}
	}
	if writeErr == nil {
		t.Fatal("200 writes on a full disk all succeeded")
	}
	t.Logf("write on a full disk: %v", writeErr)
	if !errors.Is(writeErr, store.ErrDiskFull) {
		t.Errorf("error %q is not store.ErrDiskFull", writeErr)
	}
	if n, _, err := st.Pending(ctx); err != nil || n != pending {
		t.Errorf("after the failed write: %d pending, %v; want %d", n, err, pending)
	}
	if got, _, err := ss.Case(ctx, first.ID); err != nil || got.Form["surname"] != "Mustermann" {
		t.Errorf("earlier case: %+v, %v", got, err)
	}

	// Room again: the store works, and reopens with its audit intact.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.CreateCase(ctx, anmeldung()); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = store.Open(ctx, path, store.WithKDFParams(crypto.TestKDFParams)); err != nil {
		t.Fatal(err)
	}
	if n, _, err := st.Pending(ctx); err != nil || n != pending+1 {
		t.Errorf("after reopening: %d pending, %v; want %d", n, err, pending+1)
	}
	if n, err := st.VerifyAudit(ctx); err != nil || n == 0 {
		t.Errorf("audit after a full disk: %d entries, %v", n, err)
	}
}
