//go:build unix

package main

// PostgreSQL itself restarted under a running `syncd serve`: an immediate
// shutdown (pg_ctl stop -m immediate: no checkpoint, crash recovery at the
// next start) while agents push a backlog, pull it and upload
// attachments, and the clerks keep writing. Meanwhile the server keeps
// running and answers 503 with Retry-After (never 500); the agents retry.
// Afterwards nothing is lost, nothing is there twice, and every laptop's
// export equals the server's. PostgreSQL only (BK_TEST_SERVER_DB=postgres).

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/pgtest"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// restartLaptop is a laptop of the test with what its clerk made.
type restartLaptop struct {
	*soakDevice
	visits      []string          // ids of visits made here
	sealed      []string          // ids of cases sealed here
	attachments map[string]string // sha256 -> the case it belongs to
}

func TestPostgresRestart_MidSync(t *testing.T) {
	if !onPostgres() {
		t.Skip("PostgreSQL only: restarts the PostgreSQL server under syncd serve (BK_TEST_SERVER_DB=postgres)")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PGRESTART_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PGRESTART_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce with PGRESTART_SEED=%d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := time.Now()
	k := startKit(t)
	pg := pgtest.Shared(t)
	// Whatever happens, PostgreSQL is up again for the cleanups (serve's
	// shutdown, dropping the database) and for the next tests.
	t.Cleanup(func() {
		if err := pg.Start(); err != nil {
			t.Errorf("start PostgreSQL again: %v", err)
		}
	})

	// a has a backlog to push and attachments to upload; b pulls it all.
	a := &restartLaptop{soakDevice: &soakDevice{l: k.laptop("a", "musterstadt")}, attachments: map[string]string{}}
	b := &restartLaptop{soakDevice: &soakDevice{l: k.laptop("b", "musterstadt")}, attachments: map[string]string{}}
	laptops := []*restartLaptop{a, b}
	for range 3 {
		a.addVisits(t, rng, 1000)
	}
	for i := range 3 {
		a.addCase(t, rng, 2<<20, i%2 == 0)
	}
	b.addVisits(t, rng, 200)
	for _, l := range laptops {
		l.startAgent()
	}
	defer func() {
		for _, l := range laptops {
			if l.cancel != nil {
				l.stopAgent()
			}
		}
	}()

	// Each restart waits for an agent to be in the middle of what it
	// names, so that the restarts land in pushes, uploads and pulls.
	targets := []string{"pushing", "uploading", "pulling", "pushing", "uploading", "pulling"}
	var landed []string
	downFor := time.Duration(0)
	for round, target := range targets {
		// The clerks write while the agents run: new visits and a case
		// with an attachment on a, edits of each other's visits.
		a.addVisits(t, rng, 200+rng.IntN(300))
		a.addCase(t, rng, 1<<20, rng.IntN(2) == 0)
		b.addVisits(t, rng, 20+rng.IntN(50))
		for _, l := range laptops {
			other := a
			if l == a {
				other = b
			}
			l.edit(t, rng, other.visits, round)
		}
		at := waitPhase(t, laptops, target, 5*time.Second)
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		t0 := time.Now()
		if err := pg.Stop(); err != nil {
			t.Fatalf("stop PostgreSQL: %v", err)
		}
		k.checkUnavailable(t, a.l)
		time.Sleep(time.Duration(200+rng.IntN(500)) * time.Millisecond)
		if err := pg.Start(); err != nil {
			t.Fatalf("start PostgreSQL: %v", err)
		}
		downFor += time.Since(t0)
		landed = append(landed, at)
		select {
		case <-k.serveExited:
			t.Fatalf("round %d: syncd serve exited when PostgreSQL restarted:\n%s", round+1, k.serveLog.String())
		default:
		}
	}

	// The agents catch up by themselves; then each laptop syncs once more.
	converged := waitSynced(t, k, laptops, 60*time.Second)
	for _, l := range laptops {
		l.stopAgent()
		l.cancel = nil
	}
	for _, l := range laptops {
		l.l.sync()
	}
	select {
	case <-k.serveExited:
		t.Fatalf("syncd serve exited:\n%s", k.serveLog.String())
	default:
	}
	checkRestarted(t, k, laptops)
	if logs := k.serveLog.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("syncd serve failed requests other than with 503 while PostgreSQL restarted:\n%s", errorLines(logs))
	}
	t.Logf("pgrestart: seed %d: %d restarts of PostgreSQL (down %v in all) with the agents at %s; agents caught up in %v; took %v",
		seed, len(targets), downFor.Round(time.Millisecond), strings.Join(landed, " "), converged.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
}

func (l *restartLaptop) name() string {
	return strings.TrimSuffix(filepath.Base(l.l.path), ".db")
}

// addVisits creates n visits in one transaction.
func (l *restartLaptop) addVisits(t *testing.T, rng *rand.Rand, n int) {
	t.Helper()
	fs := make([]domain.Fields, n)
	for i := range fs {
		fs[i] = domain.Fields{"place": "Ort " + strconv.Itoa(rng.IntN(1000)), "day": "2026-11-23",
			"venue_address": "Marktplatz " + strconv.Itoa(i)}
	}
	rs, err := l.l.ss.CreateBatch(l.l.k.ctx, domain.TypeVisit, fs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		l.visits = append(l.visits, r.ID)
	}
}

// addCase creates a case with an attachment of size random bytes;
// sealed takes it through signed to sealed.
func (l *restartLaptop) addCase(t *testing.T, rng *rand.Rand, size int, sealed bool) {
	t.Helper()
	ctx := l.l.k.ctx
	c, err := l.l.ss.CreateCase(ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	var s [32]byte
	for i := range s {
		s[i] = byte(rng.Uint32())
	}
	rand.NewChaCha8(s).Read(data)
	att, v, err := l.l.ss.PutAttachment(ctx, c.ID, store.AnyVersion, domain.AttachmentPadRaw, data)
	if err != nil {
		t.Fatal(err)
	}
	l.attachments[att.SHA256] = c.ID
	if !sealed {
		return
	}
	if v, err = l.l.ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	if _, err = l.l.ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSealed); err != nil {
		t.Fatal(err)
	}
	l.sealed = append(l.sealed, c.ID)
}

// edit changes ten visits of from that this laptop has (pulled, for the
// other laptop's).
func (l *restartLaptop) edit(t *testing.T, rng *rand.Rand, from []string, round int) {
	t.Helper()
	for range 10 {
		id := from[rng.IntN(len(from))]
		_, err := l.l.ss.Update(l.l.k.ctx, id, store.AnyVersion, domain.Fields{"venue_address": "Saal " + strconv.Itoa(round)})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s edits visit %s: %v", l.name(), id, err)
		}
	}
}

// waitPhase waits until one laptop's agent says it is doing what (for
// at most wait) and returns what each was doing then, as "a:pushing,b:idle".
func waitPhase(t *testing.T, laptops []*restartLaptop, what string, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var at []string
		found := false
		for _, l := range laptops {
			p := l.phase(t)
			found = found || p == what
			at = append(at, l.name()+":"+p)
		}
		if found || time.Now().After(deadline) {
			return strings.Join(at, ",")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// phase is what the laptop's agent last said it was doing.
func (l *restartLaptop) phase(t *testing.T) string {
	t.Helper()
	st, err := l.l.st.SyncState(l.l.k.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := st[store.StatePhase]; p != "" {
		return p
	}
	return "none"
}

// checkUnavailable checks what the server answers while its database is
// away: alive, not ready, and 503 with Retry-After for a device's pull,
// push and upload.
func (k *kit) checkUnavailable(t *testing.T, l *laptop) {
	t.Helper()
	token := l.enrolment().Token
	for _, c := range []struct {
		method, path, token string
		body                string
		want                int
	}{
		{"GET", "/v1/health", "", "", http.StatusOK},
		{"GET", "/v1/ready", "", "", http.StatusServiceUnavailable},
		{"GET", "/v1/tenants/musterstadt/pull", token, "", http.StatusServiceUnavailable},
		{"POST", "/v1/tenants/musterstadt/push", token, `{"changes":[]}`, http.StatusServiceUnavailable},
		{"HEAD", syncproto.AttachmentPath("musterstadt", domain.NewID(), strings.Repeat("a", 64)), token, "",
			http.StatusServiceUnavailable},
	} {
		req, err := http.NewRequestWithContext(k.ctx, c.method, k.url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s while PostgreSQL is down: %v", c.method, c.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s while PostgreSQL is down: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if c.want == http.StatusServiceUnavailable && c.token != "" && resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s while PostgreSQL is down: 503 without Retry-After", c.method, c.path)
		}
	}
}

// waitSynced waits until every laptop has pushed and uploaded everything
// and pulled up to the server's head, and returns how long that took.
func waitSynced(t *testing.T, k *kit, laptops []*restartLaptop, wait time.Duration) time.Duration {
	t.Helper()
	db := k.serverSQL()
	start := time.Now()
	var why string
	for time.Since(start) < wait {
		var head int64
		if err := db.queryRow(`SELECT coalesce(max(seq), 0) FROM change WHERE tenant = ?`, "musterstadt").Scan(&head); err != nil {
			t.Fatal(err)
		}
		ok := true
		why = fmt.Sprintf("head %d", head)
		for _, l := range laptops {
			pending, _, err := l.l.st.Pending(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			uploads := 0
			if err := l.l.st.PendingUploads(k.ctx, func(store.Upload) error { uploads++; return nil }); err != nil {
				t.Fatal(err)
			}
			cp, err := l.l.st.Checkpoint(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			why += fmt.Sprintf("; %s: pending %d, uploads %d, checkpoint %d", l.name(), pending, uploads, cp)
			ok = ok && pending == 0 && uploads == 0 && cp == head
		}
		if ok {
			return time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("the agents did not catch up within %v after PostgreSQL came back: %s", wait, why)
	return time.Since(start)
}

// checkRestarted checks the end state: every change of every laptop is
// at the server exactly once and nothing else is but conflict records,
// every attachment is there whole, every sealed case is sealed there and
// shredded on its laptop, and each laptop's export equals the server's.
func checkRestarted(t *testing.T, k *kit, laptops []*restartLaptop) {
	t.Helper()
	db := k.serverSQL()
	count := map[string]int{}
	rows, err := db.query(`SELECT id, count(*) FROM change WHERE tenant = ? GROUP BY id`, "musterstadt")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		count[id] = n
		total += n
	}
	rows.Close()
	var central, conflicts int
	if err := db.queryRow(`SELECT count(*), coalesce(sum(CASE WHEN record_type = 'conflict' THEN 1 ELSE 0 END), 0)
		FROM change WHERE tenant = ? AND device = ?`, "musterstadt", syncproto.CentralDevice).Scan(&central, &conflicts); err != nil {
		t.Fatal(err)
	}
	if central != conflicts {
		t.Errorf("server has %d central changes that are not conflict records", central-conflicts)
	}
	// The feed has no gap: positions 1..head, as feed_head counts them.
	var last, head int64
	if err := db.queryRow(`SELECT coalesce(max(seq), 0), coalesce((SELECT seq FROM feed_head WHERE tenant = ?), 0)
		FROM change WHERE tenant = ?`, "musterstadt", "musterstadt").Scan(&last, &head); err != nil {
		t.Fatal(err)
	}
	if last != int64(total) || head != last {
		t.Errorf("feed: %d changes up to seq %d, feed_head at %d: want positions 1..head without a gap", total, last, head)
	}

	want := k.export("musterstadt")
	own := 0
	for _, l := range laptops {
		ctx := k.ctx
		missing, twice := 0, 0
		err := l.l.st.Changes(ctx, 0, 0, false, func(c store.Change) error {
			own++
			switch n := count[c.ID]; {
			case n == 0:
				missing++
			case n > 1:
				twice++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if missing > 0 || twice > 0 {
			t.Errorf("%s: %d changes are not at the server and %d are there more than once", l.name(), missing, twice)
		}
		if n, _, _ := l.l.st.Pending(ctx); n != 0 {
			t.Errorf("%s: %d changes still pending", l.name(), n)
		}
		for _, id := range l.sealed {
			if _, _, err := l.l.ss.Case(ctx, id); !errors.Is(err, store.ErrShredded) {
				t.Errorf("%s: sealed case %s not shredded: %v", l.name(), id, err)
			}
			if st := k.serverStatus("musterstadt", id); st != string(domain.StatusSealed) {
				t.Errorf("%s: sealed case %s is %q at the server", l.name(), id, st)
			}
		}
		for sha, rec := range l.attachments {
			checkServerAttachment(t, db, rec, sha)
		}
		if got := l.l.export(); got != want {
			t.Errorf("%s: export differs from the server's: %s", l.name(), firstDiff(got, want))
		}
	}
	if total != own+conflicts {
		t.Errorf("server has %d changes, the laptops made %d and the server wrote %d conflict records", total, own, conflicts)
	}
	t.Logf("converged: %d changes (%d conflict records), %d records", total, conflicts, strings.Count(want, "\n"))
}

// checkServerAttachment checks that the server holds an attachment
// complete, its pieces without gap or overlap, hashing to the SHA-256 of
// the sealed bytes the agent announced.
func checkServerAttachment(t *testing.T, db *serverSQL, rec, sha string) {
	t.Helper()
	var length, received int64
	var complete bool
	var sealed string
	err := db.queryRow(`SELECT length, received, complete, sealed_sha256 FROM attachment
		WHERE tenant = ? AND record_id = ? AND sha256 = ?`, "musterstadt", rec, sha).Scan(&length, &received, &complete, &sealed)
	if err != nil || !complete || received != length {
		t.Errorf("attachment %s of case %s at the server: %d of %d bytes, complete %v, %v", sha, rec, received, length, complete, err)
		return
	}
	rows, err := db.query(`SELECT pos, data FROM attachment_piece WHERE tenant = ? AND record_id = ? AND sha256 = ? ORDER BY pos`,
		"musterstadt", rec, sha)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	var at int64
	for rows.Next() {
		var pos int64
		var data []byte
		if err := rows.Scan(&pos, &data); err != nil {
			t.Fatal(err)
		}
		if pos != at {
			t.Errorf("attachment %s: piece at %d, want %d", sha, pos, at)
			return
		}
		h.Write(data)
		at += int64(len(data))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); at != length || got != sealed {
		t.Errorf("attachment %s: pieces hold %d of %d bytes hashing to %s, the agent sealed %s", sha, at, length, got, sealed)
	}
}

// errorLines returns the lines of a log at level ERROR.
func errorLines(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
