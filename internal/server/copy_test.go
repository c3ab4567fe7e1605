package server

// Moving a town to another database (copy.go): from the backend the tests
// run on to the other one (SQLite to PostgreSQL, or back with
// BK_TEST_SERVER_DB=postgres), every row of the tenant arrives unchanged
// and its laptops carry on as if nothing had happened.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// otherDB returns a new database of the backend the tests do not run on.
func otherDB(t *testing.T, dir string) string {
	t.Helper()
	if onPostgres() {
		return filepath.Join(dir, "moved.db")
	}
	return newPGDB(t)
}

// openAt opens a server on db with the kit's master key and serves it as
// a kit of its own; the laptops move to it by setting their kit.
func (k *kit) openAt(db string) *kit {
	k.t.Helper()
	srv, err := Open(k.ctx, Config{DBPath: db, MasterKeyFile: filepath.Join(k.dir, "central.db.key"), Now: k.clock.Now,
		Log: k.srv.log})
	if err != nil {
		k.t.Fatal(err)
	}
	n := &kit{t: k.t, ctx: k.ctx, srv: srv, ts: httptest.NewServer(srv.Handler()), clock: k.clock, dir: k.dir, db: db,
		logs: k.logs}
	k.t.Cleanup(func() {
		n.ts.Close()
		srv.Close()
	})
	return n
}

// dump returns every row of a tenant as ExportTenant gives it.
func dump(t *testing.T, st Store, tenant string) []CopyRow {
	t.Helper()
	var rows []CopyRow
	if err := st.ExportTenant(context.Background(), tenant, func(r CopyRow) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

func exportOf(t *testing.T, s *Server, tenant string) string {
	t.Helper()
	var b bytes.Buffer
	if err := s.Export(context.Background(), tenant, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// town fills tenantA with one of everything a copy must carry: two server
// keys, a four-eyes policy, records with a conflict, a central record, an
// audit head, a complete and an unfinished upload, a revoked device and
// an unused enrolment code. tenantB gets a device and no changes.
type town struct {
	a, b, c     *laptop
	code        string // unused enrolment code of tenantA
	partial     []byte // sealed bytes of the unfinished upload
	partRecord  string
	partSHA     string
	visit       string
	headBefore  int64
	exportA     string
	completeSHA string
}

func fillTown(t *testing.T, k *kit) *town {
	t.Helper()
	w := &town{}
	k.srv.genKey = func() (*rsa.PrivateKey, error) { return poolKey(t, 5), nil }
	if _, err := k.srv.RotateTenantKey(k.ctx, tenantA); err != nil {
		t.Fatal(err)
	}
	if err := k.srv.SetFourEyes(k.ctx, tenantA, true); err != nil {
		t.Fatal(err)
	}
	w.a, w.b, w.c = k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3), k.enrol("c", tenantB, 4)

	// A record edited on two laptops at once: a conflict record.
	v, key := w.a.create(domain.TypeVisit, domain.Fields{"place": "Oberweiler", "day": "2026-11-23"})
	wantStatus(t, w.a.push([]syncproto.RecordKey{key}, v), syncproto.StatusApplied)
	w.visit = v.RecordID
	w.b.pullAll()
	w.b.push(nil, w.b.change("update", domain.TypeVisit, v.RecordID, 1, domain.Fields{"place": "Oberweiler"},
		domain.Fields{"place": "Unterweiler"}))
	w.a.push(nil, w.a.change("update", domain.TypeVisit, v.RecordID, 1, domain.Fields{"place": "Oberweiler"},
		domain.Fields{"place": "Mittelweiler"}))
	// Cases with personal values, and a record made centrally (its key
	// wrapped under the master key).
	for range 3 {
		c, key := w.a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft",
			"surname": "Mustermann", "given_names": "Erika"})
		wantStatus(t, w.a.push([]syncproto.RecordKey{key}, c), syncproto.StatusApplied)
	}
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordType: domain.TypeAppointment, Op: "create",
		BaseVersion: -1, Clerk: "admin", Set: domain.Fields{"visit_id": v.RecordID, "starts_at": "2026-11-23T09:00:00Z",
			"minutes": "15", "service_id": "anmeldung", "status": "booked", "citizen_name": "Erika Mustermann"}}); err != nil {
		t.Fatal(err)
	}
	// An audit head.
	if st, _ := w.a.pushHead(&syncproto.AuditHead{Count: 4, Hash: mac("a", 4)}); st != http.StatusOK {
		t.Fatalf("audit head: %d", st)
	}
	// A complete upload and an unfinished one (1 MiB of 2.5).
	done := []byte("\x89PNG a signature")
	w.completeSHA = sha256hex([]byte("plain signature"))
	upload(t, w.a, w.completeSHA, w.visit, done, sha256hex(done))
	w.partial = make([]byte, 5<<19)
	rand.Read(w.partial)
	w.partRecord, w.partSHA = domain.NewID(), sha256hex([]byte("plain raw pad data"))
	st, b, _ := k.do("PATCH", attPath(w.a, w.partRecord, w.partSHA), w.a.token, w.partial[:1<<20],
		patchHeaders(0, len(w.partial), sha256hex(w.partial), w.partRecord))
	if st != http.StatusNoContent {
		t.Fatalf("first piece: %d %s", st, b)
	}
	// b is lost and revoked; a code is issued and not used yet.
	if err := k.srv.Revoke(k.ctx, w.b.id); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.code, err = k.srv.IssueEnrolment(k.ctx, tenantA, time.Hour); err != nil {
		t.Fatal(err)
	}
	w.headBefore = k.head(tenantA)
	w.exportA = exportOf(t, k.srv, tenantA)
	return w
}

func TestCopy_TenantMovesWithEverything(t *testing.T) {
	k := startKit(t)
	w := fillTown(t, k)
	src := dump(t, k.srv.st, tenantA)
	var conflictsSeen int
	for _, r := range src {
		if r.Table == "record" && r.Values[2] == string(domain.TypeConflict) {
			conflictsSeen++
		}
	}
	if conflictsSeen == 0 {
		t.Fatal("the town has no conflict record to copy")
	}

	n := k.openAt(otherDB(t, k.dir))
	stats, err := CopyTenants(k.ctx, k.srv, n.srv, tenantA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].HeadSeq != w.headBefore || stats[0].Rows["change"] == 0 {
		t.Fatalf("stats %+v, want head %d", stats, w.headBefore)
	}

	// Every row arrived as it was, and nothing of the other tenant.
	if got := dump(t, n.srv.st, tenantA); !reflect.DeepEqual(got, src) {
		t.Errorf("the copy differs from the source:\n%s", diffRows(src, got))
	}
	if got := exportOf(t, n.srv, tenantA); got != w.exportA {
		t.Errorf("export of the copy differs:\n%s\nwant\n%s", got, w.exportA)
	}
	if ts, _ := n.srv.Tenants(k.ctx); len(ts) != 1 || ts[0].ID != tenantA {
		t.Errorf("destination tenants %+v, want %s only", ts, tenantA)
	}
	if n.head(tenantA) != w.headBefore {
		t.Errorf("head %d after the copy, want %d", n.head(tenantA), w.headBefore)
	}
	for _, key := range []string{metaClock, policyFourEyesKey(tenantA)} {
		was, _ := k.srv.st.Meta(k.ctx, key)
		got, _ := n.srv.st.Meta(k.ctx, key)
		if got != was || got == "" {
			t.Errorf("meta %s: %q, want %q", key, got, was)
		}
	}

	// The laptops go on at the new server.
	a, b := w.a, w.b
	a.k, b.k = n, n
	if p := a.pull(w.headBefore, 0); len(p.entries) != 0 || p.end.LastSeq != w.headBefore {
		t.Errorf("a's next pull: %d entries, last seq %d; want none at %d", len(p.entries), p.end.LastSeq, w.headBefore)
	}
	c, key := a.create(domain.TypeCase, domain.Fields{"service_id": "meldebescheinigung", "status": "draft"})
	rs := a.push([]syncproto.RecordKey{key}, c)
	wantStatus(t, rs, syncproto.StatusApplied)
	if rs[0].Seq <= w.headBefore {
		t.Errorf("new change at seq %d, not after %d", rs[0].Seq, w.headBefore)
	}
	if p := a.pull(w.headBefore, 0); len(p.entries) != 1 || p.entries[0].ID != c.ID {
		t.Errorf("pull after the new push: %d entries", len(p.entries))
	}
	// Everything pulled before still opens: the keys came along.
	for _, e := range a.pullAll() {
		a.open(e)
	}
	if st, _ := b.pushHead(&syncproto.AuditHead{Count: 1, Hash: mac("b", 1)}); st != http.StatusUnauthorized {
		t.Errorf("revoked b pushes at the new server: %d, want 401", st)
	}
	if got := n.chain(a); got.Count != 4 || got.Hash != mac("a", 4) {
		t.Errorf("a's audit head at the new server: %+v", got)
	}
	if p, err := n.srv.Policy(k.ctx, tenantA); err != nil || !p.FourEyes {
		t.Errorf("policy at the new server: %+v, %v", p, err)
	}

	// The unfinished upload goes on from its offset; the complete one is
	// there.
	if off := headOffset(t, a, w.partRecord, w.partSHA); off != 1<<20 {
		t.Fatalf("unfinished upload at %d at the new server, want %d", off, 1<<20)
	}
	path := attPath(a, w.partRecord, w.partSHA)
	for off := int64(1 << 20); off < int64(len(w.partial)); off += 1 << 20 {
		end := min(off+1<<20, int64(len(w.partial)))
		st, body, _ := n.do("PATCH", path, a.token, w.partial[off:end], patchHeaders(off, len(w.partial), sha256hex(w.partial),
			w.partRecord))
		if st != http.StatusNoContent {
			t.Fatalf("piece at %d: %d %s", off, st, body)
		}
	}
	if st, got, _ := n.do("GET", path, a.token, nil, nil); st != http.StatusOK || !bytes.Equal(got, w.partial) {
		t.Errorf("finished upload: %d, %d bytes", st, len(got))
	}
	if st, _, _ := n.do("GET", attPath(a, w.visit, w.completeSHA), a.token, nil, nil); st != http.StatusOK {
		t.Errorf("complete upload at the new server: %d", st)
	}

	// The unused code enrols once.
	enrol := func() int {
		body, _ := json.Marshal(syncproto.EnrolRequest{Code: w.code, Name: "d", LocalID: domain.NewID(),
			PublicKey: pemOf(t, 6)})
		st, _, _ := n.do("POST", "/v1/enrol", "", body, nil)
		return st
	}
	if st := enrol(); st != http.StatusOK {
		t.Errorf("unused code at the new server: %d", st)
	}
	if st := enrol(); st == http.StatusOK {
		t.Error("the code enrolled twice")
	}

	// No merging: the tenant is there now.
	if _, err := CopyTenants(k.ctx, k.srv, n.srv, tenantA, nil); !errors.Is(err, ErrExists) {
		t.Errorf("second copy: %v, want ErrExists", err)
	}
}

// All tenants go when none is named; copied back, the town is as it was.
func TestCopy_AllTenantsThereAndBack(t *testing.T) {
	k := startKit(t)
	w := fillTown(t, k)
	n := k.openAt(otherDB(t, k.dir))
	stats, err := CopyTenants(k.ctx, k.srv, n.srv, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("copied %d tenants, want 2", len(stats))
	}
	back := k.openAt(testDB(t, t.TempDir()))
	if _, err := CopyTenants(k.ctx, n.srv, back.srv, "", nil); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{tenantA, tenantB} {
		want := dump(t, k.srv.st, tenant)
		for name, s := range map[string]*Server{"there": n.srv, "back": back.srv} {
			if got := dump(t, s.st, tenant); !reflect.DeepEqual(got, want) {
				t.Errorf("%s, tenant %s:\n%s", name, tenant, diffRows(want, got))
			}
		}
	}
	if got := exportOf(t, back.srv, tenantA); got != w.exportA {
		t.Error("export after there and back differs")
	}
}

// failingSource ends its export with an error after n rows.
type failingSource struct {
	Store
	n int
}

func (f failingSource) ExportTenant(ctx context.Context, tenant string, fn func(CopyRow) error) error {
	i := 0
	err := f.Store.ExportTenant(ctx, tenant, func(r CopyRow) error {
		if i++; i > f.n {
			return errors.New("disk gone")
		}
		return fn(r)
	})
	return err
}

// A copy that fails midway leaves the destination without the tenant,
// and a later copy goes through.
func TestCopy_FailedCopyLeavesNothing(t *testing.T) {
	k := startKit(t)
	fillTown(t, k)
	n := k.openAt(otherDB(t, k.dir))
	rows := len(dump(t, k.srv.st, tenantA))
	for _, at := range []int{1, rows / 2, rows - 1} {
		_, err := copyTenant(k.ctx, failingSource{Store: k.srv.st, n: at}, n.srv.st, tenantA)
		if err == nil || !strings.Contains(err.Error(), "disk gone") {
			t.Fatalf("copy failing after %d of %d rows: %v", at, rows, err)
		}
		if got := dump(t, n.srv.st, tenantA); len(got) > 1 || (len(got) == 1 && got[0].Table != "meta") {
			t.Fatalf("after a copy failing at row %d, the destination holds %d rows of the tenant", at, len(got))
		}
	}
	if _, err := CopyTenants(k.ctx, k.srv, n.srv, tenantA, nil); err != nil {
		t.Fatalf("copy after the failures: %v", err)
	}
}

// An importer refuses rows that are not the tenant's, whatever the
// exporter says.
func TestCopy_ImportRefusesAnotherTenantsRows(t *testing.T) {
	k := startKit(t)
	fillTown(t, k)
	n := k.openAt(otherDB(t, k.dir))
	rows := dump(t, k.srv.st, tenantA)
	for i, r := range rows {
		if r.Table == "change" {
			bad := append([]any(nil), r.Values...)
			bad[1] = tenantB
			rows[i] = CopyRow{Table: r.Table, Values: bad}
			break
		}
	}
	seq := func(yield func(CopyRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
	if err := n.srv.st.ImportTenant(k.ctx, tenantA, iter.Seq2[CopyRow, error](seq)); err == nil ||
		!strings.Contains(err.Error(), "another tenant") {
		t.Fatalf("import of a foreign row: %v", err)
	}
	if ts, _ := n.srv.Tenants(k.ctx); len(ts) != 0 {
		t.Errorf("destination has tenants %+v", ts)
	}
}

// SQLite numbers all tenants' changes in one sequence; PostgreSQL counts
// per tenant. Two tenants from PostgreSQL whose positions overlap do not
// both fit into one SQLite file: the second is refused whole.
func TestCopy_OverlappingPositionsIntoSQLiteRefused(t *testing.T) {
	if !onPostgres() {
		t.Skip("the source must be PostgreSQL (BK_TEST_SERVER_DB=postgres)")
	}
	k := startKit(t)
	fillTown(t, k)
	c := k.enrol("c2", tenantB, 4)
	v, key := c.create(domain.TypeVisit, domain.Fields{"place": "Andersdorf"})
	wantStatus(t, c.push([]syncproto.RecordKey{key}, v), syncproto.StatusApplied)
	n := k.openAt(filepath.Join(k.dir, "one.db"))
	_, err := CopyTenants(k.ctx, k.srv, n.srv, "", nil)
	if !errors.Is(err, ErrSeqTaken) || !strings.Contains(err.Error(), "copied before: "+tenantB) {
		t.Fatalf("copy of overlapping tenants into one SQLite file: %v", err)
	}
	if ts, _ := n.srv.Tenants(k.ctx); len(ts) != 1 || ts[0].ID != tenantB {
		t.Errorf("destination tenants %+v, want %s only", ts, tenantB)
	}
}

func pemOf(t *testing.T, i int) string {
	t.Helper()
	b, err := crypto.MarshalPublicKeyPEM(&poolKey(t, i).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func diffRows(want, got []CopyRow) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		var w, g CopyRow
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if !reflect.DeepEqual(w, g) {
			fmt.Fprintf(&b, "row %d:\n  want %s %v\n  got  %s %v\n", i, w.Table, short(w.Values), g.Table, short(g.Values))
		}
		if b.Len() > 4000 {
			break
		}
	}
	return b.String()
}

func short(vs []any) string {
	var parts []string
	for _, v := range vs {
		s := fmt.Sprintf("%T:%v", v, v)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestCopy_Timing copies a tenant of 20,000 changes to the other backend
// and reports how long it took and the most heap in use meanwhile (the
// copy streams: the heap must not grow with the feed). A measurement, not
// a timed test: it runs with BK_COPY_TIMING=1 only.
func TestCopy_Timing(t *testing.T) {
	if os.Getenv("BK_COPY_TIMING") == "" {
		t.Skip("a measurement: set BK_COPY_TIMING=1")
	}
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	const batches, per = 20, 1000
	for range batches {
		benchPost(t, a, benchBatch(t, a, per))
	}
	n := k.openAt(otherDB(t, k.dir))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()
	start := time.Now()
	stats, err := CopyTenants(k.ctx, k.srv, n.srv, tenantA, nil)
	took := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	from, to := "SQLite", "PostgreSQL"
	if onPostgres() {
		from, to = to, from
	}
	t.Logf("%s to %s: %d changes (%d rows in all) in %s, %.0f changes/s; heap %d MiB before, at most %d MiB during",
		from, to, stats[0].Rows["change"], sumRows(stats[0]), took.Round(time.Millisecond),
		float64(stats[0].Rows["change"])/took.Seconds(), before.HeapAlloc>>20, peak.Load()>>20)
	if stats[0].Rows["change"] != batches*per {
		t.Errorf("copied %d changes, want %d", stats[0].Rows["change"], batches*per)
	}
}

func sumRows(st CopyStats) int64 {
	var n int64
	for _, v := range st.Rows {
		n += v
	}
	return n
}
