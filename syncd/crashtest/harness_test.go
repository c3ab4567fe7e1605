//go:build unix

package crashtest

// The harness: a server and laptop agents as real processes in their own
// process groups, killed with SIGKILL and started again on the same files
// and port; the checks run after every kill and at the end.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"

	_ "modernc.org/sqlite" // the "sqlite" driver for the checks
)

const (
	tenant   = "musterstadt"
	password = "Feldtag-2026!"
)

// cluster is one server and its laptops, all on files in one directory.
type cluster struct {
	t       *testing.T
	ctx     context.Context
	seed    uint64
	rng     *rand.Rand
	dir     string
	addr    string // host:port, the same after every restart
	url     string
	srvDB   string // SQLite file or PostgreSQL URL (serverdb_test.go)
	srvKey  string // its master key file
	server  *proc
	laptops []*laptop
	nlog    int

	kills  map[string]int  // by what was killed
	stuck  map[string]bool // uploads found stuck (a failure)
	phases map[string]int  // by what the victim was doing (sync_state phase, server: "server")
}

// laptop is a field store and its agent process.
type laptop struct {
	name   string
	path   string
	clerk  string
	agent  *proc
	sealed []string // ids of cases sealed on this laptop
	// attachments made on this laptop: sha256 → the case it belongs to
	attachments map[string]string
}

// proc is a running syncd process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// newCluster starts `syncd serve` on a free port. The seed comes from
// CRASHTEST_SEED or the clock and is printed when the test fails.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("crash tests run real processes for a minute; skipped with -short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASHTEST_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CRASHTEST_SEED=%q: %v", s, err)
		}
		seed = n
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{t: t, ctx: ctx, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		dir: t.TempDir(), kills: map[string]int{}, phases: map[string]int{}, stuck: map[string]bool{}}
	c.srvDB, c.srvKey = newServerDB(t, c.dir)
	c.addr = freeAddr(t)
	c.url = "http://" + c.addr
	t.Cleanup(func() {
		for _, l := range c.laptops {
			l.agent.kill()
		}
		c.server.kill()
		cancel()
		if t.Failed() {
			t.Logf("seed %d: rerun with CRASHTEST_SEED=%d", c.seed, c.seed)
			c.dumpLogs()
		}
	})
	c.startServer()
	return c
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// start runs syncd with args in its own process group, its output in a
// log file of its own.
func (c *cluster) start(name string, args ...string) *proc {
	c.t.Helper()
	c.nlog++
	p := &proc{name: name, log: filepath.Join(c.dir, fmt.Sprintf("%03d-%s.log", c.nlog, name)), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	p.cmd = exec.Command(syncdBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// running reports whether the process is still alive.
func (p *proc) running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the process group and waits for the process.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (c *cluster) startServer() {
	c.t.Helper()
	c.server = c.start("serve", append(append([]string{"serve"}, c.dbArgs()...), "--listen", c.addr, "--tenant", tenant)...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(c.server.log)
		if bytes.Contains(b, []byte("listening on")) {
			return
		}
		if !c.server.running() {
			c.t.Fatalf("syncd serve exited (%v):\n%s", c.server.err, b)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("syncd serve did not start:\n%s", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run runs a short syncd command to its end and returns its stdout, its
// stderr and its exit code.
func (c *cluster) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, syncdBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		c.t.Fatalf("syncd %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

func (c *cluster) mustRun(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("syncd %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// addLaptop sets up a field store in this process (a clerk, the device
// key), enrols it through `syncd admin enrol` and `syncd agent enroll`,
// and runs fill with an unlocked session before the store is closed.
func (c *cluster) addLaptop(name string, fill func(l *laptop, ss *store.Session)) *laptop {
	c.t.Helper()
	l := &laptop{name: name, path: filepath.Join(c.dir, name+".db"), clerk: "clerk-" + name, attachments: map[string]string{}}
	st, err := store.Open(c.ctx, l.path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Setup(c.ctx, l.clerk, "Clerk "+name, []byte(password))
	if err != nil {
		c.t.Fatal(err)
	}
	defer ss.Lock()
	if _, err := ss.DeviceKey(c.ctx); err != nil {
		c.t.Fatal(err)
	}
	code := strings.TrimSpace(c.mustRun(append(append([]string{"admin", "enrol"}, c.dbArgs()...), "--tenant", tenant)...))
	c.mustRun("agent", "enroll", "--db", l.path, "--server", c.url, "--code", code, "--name", name)
	if fill != nil {
		fill(l, ss)
	}
	c.laptops = append(c.laptops, l)
	return l
}

// work opens the laptop's store in this process, as the app would while
// the agent runs, and lets fn write with an unlocked session.
func (c *cluster) work(l *laptop, fn func(ss *store.Session)) {
	c.t.Helper()
	st, err := store.Open(c.ctx, l.path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	ss, err := st.Unlock(c.ctx, l.clerk, []byte(password))
	if err != nil {
		c.t.Fatal(err)
	}
	defer ss.Lock()
	fn(ss)
}

func (c *cluster) startAgent(l *laptop) {
	c.t.Helper()
	l.agent = c.start("agent-"+l.name, "agent", "--db", l.path, "--interval", "200ms")
}

// visits creates n visits in one transaction (n changes in the outbox)
// and returns their ids.
func (c *cluster) visits(ss *store.Session, n int) []string {
	c.t.Helper()
	fs := make([]domain.Fields, n)
	for i := range fs {
		fs[i] = domain.Fields{"place": "Ort " + strconv.Itoa(c.rng.IntN(1000)), "day": "2026-11-23",
			"venue_address": "Marktplatz " + strconv.Itoa(i)}
	}
	rs, err := ss.CreateBatch(c.ctx, domain.TypeVisit, fs)
	if err != nil {
		c.t.Fatal(err)
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// randomBytes returns n bytes from the seeded generator (attachments that
// do not compress).
func (c *cluster) randomBytes(n int) []byte {
	var s [32]byte
	for i := range s {
		s[i] = byte(c.rng.Uint32())
	}
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// caseWith creates a case with an attachment of size bytes; sealed takes
// it through signed to sealed, after which the laptop must shred it once
// the server has all of it.
func (c *cluster) caseWith(l *laptop, ss *store.Session, size int, sealed bool) string {
	c.t.Helper()
	cs, err := ss.CreateCase(c.ctx, domain.Case{ServiceID: "anmeldung", Form: domain.Fields{"surname": "Mustermann",
		"given_names": "Erika", "birth_date": "1964-08-12", "new_street": "Lindenweg " + strconv.Itoa(c.rng.IntN(99)+1),
		"new_postal_code": "53111"}})
	if err != nil {
		c.t.Fatal(err)
	}
	a, v, err := ss.PutAttachment(c.ctx, cs.ID, store.AnyVersion, domain.AttachmentPadRaw, c.randomBytes(size))
	if err != nil {
		c.t.Fatal(err)
	}
	l.attachments[a.SHA256] = cs.ID
	if !sealed {
		return cs.ID
	}
	if v, err = ss.SetCaseStatus(c.ctx, cs.ID, v, domain.StatusSigned); err != nil {
		c.t.Fatal(err)
	}
	if _, err = ss.SetCaseStatus(c.ctx, cs.ID, v, domain.StatusSealed); err != nil {
		c.t.Fatal(err)
	}
	l.sealed = append(l.sealed, cs.ID)
	return cs.ID
}

// openSQL opens a database file on its own connection pool, apart from
// the store's.
func openSQL(path string) (*sql.DB, error) {
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
}

// integrity runs PRAGMA integrity_check and foreign_key_check.
func integrity(ctx context.Context, path string) error {
	db, err := openSQL(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var res []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		res = append(res, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return fmt.Errorf("integrity_check: %q", res)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&n); err != nil {
		return fmt.Errorf("foreign_key_check: %w", err)
	}
	if n != 0 {
		return fmt.Errorf("foreign_key_check: %d violations", n)
	}
	return nil
}

// queryStrings returns the first column of every row.
func queryStrings(ctx context.Context, db querier, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// phase returns what the laptop's agent last recorded it was doing.
func (c *cluster) phase(l *laptop) string {
	db, err := openSQL(l.path)
	if err != nil {
		return "?"
	}
	defer db.Close()
	var p string
	if err := db.QueryRowContext(c.ctx, `SELECT value FROM sync_state WHERE key = 'phase'`).Scan(&p); err != nil {
		return "none"
	}
	return p
}

// killAndCheck kills what is named (the server, laptops' agents), notes
// what each victim was doing, and checks every database file.
func (c *cluster) killAndCheck(round int, server bool, victims []*laptop) {
	c.t.Helper()
	var names []string
	for _, l := range victims {
		if !l.agent.running() {
			continue
		}
		ph := c.phase(l)
		c.phases["agent@"+ph]++
		names = append(names, l.name+"("+ph+")")
		l.agent.kill()
		c.kills["agent"]++
	}
	if server && c.server.running() {
		// What the agents were doing when the server went away.
		var doing []string
		for _, l := range c.laptops {
			if l.agent.running() {
				ph := c.phase(l)
				c.phases["server@"+ph]++
				doing = append(doing, l.name+":"+ph)
			}
		}
		c.server.kill()
		c.kills["server"]++
		names = append(names, "server["+strings.Join(doing, ",")+"]")
	}
	t0 := time.Now()
	c.check(fmt.Sprintf("after round %d", round))
	took := time.Since(t0)
	partial := c.partialUploads()
	if partial > 0 {
		c.kills["partial"]++
	}
	c.t.Logf("round %d: killed %s; uploads cut short at the server: %d; checked in %v", round, strings.Join(names, " "),
		partial, took.Round(time.Millisecond))
}

// partialUploads counts the server's attachments begun and not complete.
func (c *cluster) partialUploads() int {
	c.t.Helper()
	db := c.mustServerSQL()
	defer db.Close()
	var n int
	if err := db.QueryRowContext(c.ctx, `SELECT count(*) FROM attachment WHERE NOT complete AND received > 0`).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// check checks every database file: each field store opens, passes
// integrity_check and its audit chain holds; the server's passes
// integrity_check, its attachments are whole, and everything a laptop
// holds as acknowledged is at the server.
func (c *cluster) check(when string) {
	c.t.Helper()
	// The laptops first, then the server: what a laptop holds as
	// acknowledged must be at the server however far a running agent got
	// in between.
	type acked struct {
		l                *laptop
		name             string
		pushed, uploaded []string
		checkpoint       int64
	}
	var acks []acked
	for _, l := range c.laptops {
		st, err := store.Open(c.ctx, l.path)
		if err != nil {
			c.t.Fatalf("%s: %s: store.Open: %v", when, l.name, err)
		}
		n, err := st.VerifyAudit(c.ctx)
		if err != nil {
			st.Close()
			c.t.Fatalf("%s: %s: audit chain (%d entries): %v", when, l.name, n, err)
		}
		a := acked{l: l, name: l.name}
		a.checkpoint, err = st.Checkpoint(c.ctx)
		st.Close()
		if err != nil {
			c.t.Fatalf("%s: %s: checkpoint: %v", when, l.name, err)
		}
		if err := integrity(c.ctx, l.path); err != nil {
			c.t.Fatalf("%s: %s: %v", when, l.name, err)
		}
		db, err := openSQL(l.path)
		if err != nil {
			c.t.Fatal(err)
		}
		a.pushed, err = queryStrings(c.ctx, db, `SELECT id FROM change_log WHERE pushed_at IS NOT NULL`)
		if err == nil {
			// Uploaded and not shredded: shredding sets uploaded_at of
			// what was never uploaded too (checked at the end instead).
			a.uploaded, err = queryStrings(c.ctx, db, `SELECT sha256 FROM attachment WHERE uploaded_at IS NOT NULL AND data IS NOT NULL`)
		}
		db.Close()
		if err != nil {
			c.t.Fatalf("%s: %s: %v", when, l.name, err)
		}
		acks = append(acks, a)
	}

	if err := c.serverIntegrity(); err != nil {
		c.t.Fatalf("%s: server: %v", when, err)
	}
	srv := c.mustServerSQL()
	defer srv.Close()
	if err := checkServerAttachments(c.ctx, srv, false); err != nil {
		c.t.Fatalf("%s: server: %v", when, err)
	}
	ids, err := queryStrings(c.ctx, srv, `SELECT id FROM change WHERE tenant = ?`, tenant)
	if err != nil {
		c.t.Fatal(err)
	}
	atServer := make(map[string]bool, len(ids))
	for _, id := range ids {
		atServer[id] = true
	}
	complete, err := queryStrings(c.ctx, srv, `SELECT sha256 FROM attachment WHERE tenant = ? AND complete`, tenant)
	if err != nil {
		c.t.Fatal(err)
	}
	whole := map[string]bool{}
	for _, s := range complete {
		whole[s] = true
	}
	var head int64
	if err := srv.QueryRowContext(c.ctx, `SELECT coalesce(max(seq), 0) FROM change`).Scan(&head); err != nil {
		c.t.Fatal(err)
	}
	for _, a := range acks {
		if a.checkpoint > head {
			c.t.Fatalf("%s: %s: checkpoint %d is past the server's head %d", when, a.name, a.checkpoint, head)
		}
		for _, id := range a.pushed {
			if !atServer[id] {
				c.t.Fatalf("%s: %s: change %s is marked pushed but the server does not have it", when, a.name, id)
			}
		}
		for _, s := range a.uploaded {
			if !whole[s] && !c.stuckUpload(a.l, s) {
				c.t.Fatalf("%s: %s: attachment %s is marked uploaded but the server does not have it whole", when, a.name, s)
			}
		}
	}
}

// stuckUpload reports whether sha is an upload a laptop marked uploaded
// that the server holds in full but never completed: a server killed
// between storing the last piece and completing the upload used to leave
// it so for ever (TestUpload_CompletedAfterKillAtFullOffset). The server
// now completes such an upload when asked for its offset; one found here
// fails the test.
func (c *cluster) stuckUpload(l *laptop, sha string) bool {
	c.t.Helper()
	db := c.mustServerSQL()
	var length, received int64
	var complete bool
	err := db.QueryRowContext(c.ctx, `SELECT length, received, complete FROM attachment
		WHERE tenant = ? AND sha256 = ?`, tenant, sha).Scan(&length, &received, &complete)
	db.Close()
	if err != nil || complete || received != length || !c.server.running() {
		return false
	}
	c.stuck[sha] = true
	c.t.Errorf("%s: attachment %s marked uploaded, at the server all %d bytes but not complete", l.name, sha, length)
	return false
}

// unstick looks for stuck uploads on every laptop.
func (c *cluster) unstick() {
	c.t.Helper()
	for _, l := range c.laptops {
		db, err := openSQL(l.path)
		if err != nil {
			c.t.Fatal(err)
		}
		shas, err := queryStrings(c.ctx, db, `SELECT sha256 FROM attachment WHERE uploaded_at IS NOT NULL AND data IS NOT NULL`)
		db.Close()
		if err != nil {
			c.t.Fatal(err)
		}
		for _, s := range shas {
			c.stuckUpload(l, s)
		}
	}
}

// checkServerAttachments checks that every attachment's pieces follow one
// another without gap or overlap up to its offset, that a complete one has
// all its bytes, and with content also that they hash to the sealed
// SHA-256 the agent announced.
func checkServerAttachments(ctx context.Context, srv *serverSQL, content bool) error {
	type att struct {
		sha, sealed      string
		length, received int64
		complete         bool
	}
	rows, err := srv.QueryContext(ctx, `SELECT sha256, sealed_sha256, length, received, complete FROM attachment WHERE tenant = ?`, tenant)
	if err != nil {
		return err
	}
	var as []att
	for rows.Next() {
		var a att
		if err := rows.Scan(&a.sha, &a.sealed, &a.length, &a.received, &a.complete); err != nil {
			rows.Close()
			return err
		}
		as = append(as, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range as {
		prows, err := srv.QueryContext(ctx, `SELECT pos, length(data) FROM attachment_piece WHERE tenant = ? AND sha256 = ? ORDER BY pos`, tenant, a.sha)
		if err != nil {
			return err
		}
		var at int64
		for prows.Next() {
			var pos, n int64
			if err := prows.Scan(&pos, &n); err != nil {
				prows.Close()
				return err
			}
			if pos != at {
				prows.Close()
				return fmt.Errorf("attachment %s: piece at %d, want %d", a.sha, pos, at)
			}
			at += n
		}
		prows.Close()
		if err := prows.Err(); err != nil {
			return err
		}
		if at != a.received {
			return fmt.Errorf("attachment %s: pieces hold %d bytes, offset says %d", a.sha, at, a.received)
		}
		if a.complete && a.received != a.length {
			return fmt.Errorf("attachment %s: complete at %d of %d bytes", a.sha, a.received, a.length)
		}
		if content && a.complete {
			h := sha256.New()
			data, err := queryBlobs(ctx, srv, `SELECT data FROM attachment_piece WHERE tenant = ? AND sha256 = ? ORDER BY pos`, tenant, a.sha)
			if err != nil {
				return err
			}
			for _, d := range data {
				h.Write(d)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != a.sealed {
				return fmt.Errorf("attachment %s: stored bytes hash to %s, the agent sealed %s", a.sha, got, a.sealed)
			}
		}
	}
	return nil
}

func queryBlobs(ctx context.Context, db querier, q string, args ...any) ([][]byte, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// syncState is a laptop's progress as the checks see it.
type syncState struct {
	pending, uploads, checkpoint int64
}

func (c *cluster) state(l *laptop) syncState {
	c.t.Helper()
	db, err := openSQL(l.path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	var s syncState
	err = db.QueryRowContext(c.ctx, `SELECT
		(SELECT count(*) FROM change_log WHERE pushed_at IS NULL AND rejected IS NULL),
		(SELECT count(*) FROM attachment WHERE uploaded_at IS NULL AND data IS NOT NULL),
		coalesce((SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = 'checkpoint'), 0)`).
		Scan(&s.pending, &s.uploads, &s.checkpoint)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func (c *cluster) head() int64 {
	c.t.Helper()
	db := c.mustServerSQL()
	defer db.Close()
	var h int64
	if err := db.QueryRowContext(c.ctx, `SELECT coalesce(max(seq), 0) FROM change WHERE tenant = ?`, tenant).Scan(&h); err != nil {
		c.t.Fatal(err)
	}
	return h
}

// synced reports whether every laptop has pushed and uploaded everything
// and pulled up to the server's head.
func (c *cluster) synced() (bool, string) {
	h := c.head()
	ok := true
	var b strings.Builder
	fmt.Fprintf(&b, "head %d", h)
	for _, l := range c.laptops {
		s := c.state(l)
		fmt.Fprintf(&b, "; %s: pending %d, uploads %d, checkpoint %d", l.name, s.pending, s.uploads, s.checkpoint)
		ok = ok && s.pending == 0 && s.uploads == 0 && s.checkpoint == h
	}
	return ok, b.String()
}

// converge starts whatever is down, lets the agents run until everything
// is synced (within wait), then stops the agents; if they did not get
// there, `syncd agent sync` is run for each laptop until they do.
func (c *cluster) converge(wait time.Duration) {
	c.t.Helper()
	if !c.server.running() {
		c.startServer()
	}
	for _, l := range c.laptops {
		if !l.agent.running() {
			c.startAgent(l)
		}
	}
	start := time.Now()
	var why string
	for time.Since(start) < wait {
		var ok bool
		if ok, why = c.synced(); ok {
			break
		}
		c.unstick()
		time.Sleep(200 * time.Millisecond)
	}
	for _, l := range c.laptops {
		l.agent.kill() // idle by now, or not: one more kill
	}
	ok, why := c.synced()
	if ok {
		c.t.Logf("agents converged in %v", time.Since(start).Round(time.Millisecond))
	} else {
		c.t.Logf("agents not converged after %v (%s); running `syncd agent sync`", wait, why)
		for round := 0; !ok; round++ {
			if round == 5 {
				c.t.Fatalf("not converged after %d rounds of `syncd agent sync`: %s", round, why)
			}
			c.unstick()
			for _, l := range c.laptops {
				if _, errOut, code := c.run("agent", "sync", "--db", l.path); code != 0 {
					c.t.Logf("agent sync %s: exit %d: %s", l.name, code, errOut)
				}
			}
			ok, why = c.synced()
		}
	}
	c.check("after convergence")
}

// assertConverged checks the end state: every change of every laptop is
// at the server exactly once and nothing else is, each laptop's export
// equals the server's byte for byte, every attachment is whole at the
// server, and every sealed case is sealed at the server and shredded on
// its laptop.
func (c *cluster) assertConverged() {
	c.t.Helper()
	srv := c.mustServerSQL()
	defer srv.Close()
	count := map[string]int{}
	rows, err := srv.QueryContext(c.ctx, `SELECT id, count(*) FROM change WHERE tenant = ? GROUP BY id`, tenant)
	if err != nil {
		c.t.Fatal(err)
	}
	total := 0
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			c.t.Fatal(err)
		}
		count[id] = n
		total += n
	}
	rows.Close()
	// The server writes a conflict record (a central change) for every
	// field two laptops changed concurrently; the clerks' edits of each
	// other's visits make those now and then. They are changes no laptop
	// made; any other central change would be one too many.
	var conflicts, central int
	err = srv.QueryRowContext(c.ctx, `SELECT count(*), coalesce(sum(CASE WHEN record_type = 'conflict' THEN 1 ELSE 0 END), 0) FROM change
		WHERE tenant = ? AND device = ?`, tenant, syncproto.CentralDevice).Scan(&central, &conflicts)
	if err != nil {
		c.t.Fatal(err)
	}
	if central != conflicts {
		c.t.Errorf("server has %d central changes that are not conflict records", central-conflicts)
	}
	if err := checkServerAttachments(c.ctx, srv, true); err != nil {
		c.t.Error(err)
	}

	want := c.mustRun(append(append([]string{"export"}, c.dbArgs()...), "--tenant", tenant)...)
	own := 0
	for _, l := range c.laptops {
		db, err := openSQL(l.path)
		if err != nil {
			c.t.Fatal(err)
		}
		ids, err := queryStrings(c.ctx, db, `SELECT id FROM change_log`)
		if err != nil {
			c.t.Fatal(err)
		}
		rejected, err := queryStrings(c.ctx, db, `SELECT id || ': ' || rejected FROM change_log WHERE rejected IS NOT NULL`)
		if err != nil {
			c.t.Fatal(err)
		}
		if len(rejected) > 0 {
			c.t.Errorf("%s: %d changes rejected, e.g. %s", l.name, len(rejected), rejected[0])
		}
		own += len(ids)
		missing, twice := 0, 0
		for _, id := range ids {
			switch n := count[id]; {
			case n == 0:
				missing++
			case n > 1:
				twice++
			}
		}
		if missing > 0 || twice > 0 {
			c.t.Errorf("%s: of %d changes, %d are not at the server and %d are there more than once", l.name, len(ids), missing, twice)
		}
		for _, id := range l.sealed {
			var shredded bool
			err := db.QueryRowContext(c.ctx, `SELECT k.shredded_at IS NOT NULL FROM record r JOIN record_key k ON k.id = r.key_id
				WHERE r.id = ?`, id).Scan(&shredded)
			if err != nil || !shredded {
				c.t.Errorf("%s: sealed case %s not shredded (%v)", l.name, id, err)
			}
		}
		for sha, rec := range l.attachments {
			var complete bool
			err := srv.QueryRowContext(c.ctx, `SELECT complete FROM attachment WHERE tenant = ? AND sha256 = ?`, tenant, sha).Scan(&complete)
			if err != nil || !complete {
				c.t.Errorf("%s: attachment %s of case %s not complete at the server (%v)", l.name, sha, rec, err)
				continue
			}
			var local []byte
			if err := db.QueryRowContext(c.ctx, `SELECT data FROM attachment WHERE sha256 = ?`, sha).Scan(&local); err != nil {
				c.t.Fatal(err)
			}
			if local == nil {
				continue // shredded; checked against the sealed SHA-256 above
			}
			pieces, err := queryBlobs(c.ctx, srv, `SELECT data FROM attachment_piece WHERE tenant = ? AND sha256 = ? ORDER BY pos`, tenant, sha)
			if err != nil {
				c.t.Fatal(err)
			}
			if got := bytes.Join(pieces, nil); !bytes.Equal(got, local) {
				c.t.Errorf("%s: attachment %s: server holds %d bytes that differ from the laptop's %d", l.name, sha, len(got), len(local))
			}
		}
		db.Close()

		got := c.mustRun("export", "--db", l.path)
		if got != want {
			c.t.Errorf("%s: export differs from the server's: %s", l.name, firstDiff(want, got))
		}
		for _, id := range l.sealed {
			line := exportLine(want, id)
			if !strings.Contains(line, `"status":"sealed"`) {
				c.t.Errorf("sealed case %s of %s: server has %q", id, l.name, line)
			}
		}
	}
	if total != own+conflicts {
		c.t.Errorf("server has %d changes, the laptops made %d and the server wrote %d conflict records", total, own, conflicts)
	}
	c.t.Logf("converged: %d changes (%d conflict records), %d records, %d attachments", total, conflicts, strings.Count(want, "\n"), c.attachmentCount())
}

func (c *cluster) attachmentCount() int {
	n := 0
	for _, l := range c.laptops {
		n += len(l.attachments)
	}
	return n
}

// exportLine returns the export line of record id.
func exportLine(exp, id string) string {
	for _, line := range strings.Split(exp, "\n") {
		if strings.Contains(line, `"`+id+`"`) {
			return line
		}
	}
	return ""
}

// firstDiff describes where two exports part.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("%d vs %d lines; first difference at line %d:\nserver %s\nlaptop %s", len(w), len(g), i+1, wl, gl)
		}
	}
	return "equal"
}

// report logs the kills and where they landed.
func (c *cluster) report(start time.Time) {
	var ph []string
	for k, n := range c.phases {
		ph = append(ph, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(ph)
	backend := "sqlite"
	if onPostgres() {
		backend = "postgres"
	}
	c.t.Logf("crash: seed %d, %s: %d agent kills, %d server kills (%d rounds left an upload cut short at the server, "+
		"%d stuck uploads); victim@phase of each agent: %s; took %v", c.seed, backend, c.kills["agent"],
		c.kills["server"], c.kills["partial"], len(c.stuck), strings.Join(ph, " "), time.Since(start).Round(time.Millisecond))
}

// dumpLogs shows the end of every process log.
func (c *cluster) dumpLogs() {
	logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	for _, f := range logs {
		b, _ := os.ReadFile(f)
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		c.t.Logf("--- %s\n%s", filepath.Base(f), b)
	}
}
