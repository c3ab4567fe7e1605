//go:build unix

package server

// Tests of what only PostgreSQL has: several server processes on one
// database (here several Servers, each with its own pool and listener, as
// separate processes would be), the feed order under concurrent writers,
// the migration lock, connection loss. They run with
// BK_TEST_SERVER_DB=postgres (make test does).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/pgtest"
	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/jackc/pgx/v5"
)

func pgOnly(tb testing.TB) {
	tb.Helper()
	if !onPostgres() {
		tb.Skip("PostgreSQL only: run with BK_TEST_SERVER_DB=postgres")
	}
}

// startKits opens n servers on one database, sharing its master key file
// and the test clock; the first has made the tenants.
func startKits(tb testing.TB, n int) []*kit {
	tb.Helper()
	first := startKit(tb)
	ks := []*kit{first}
	for range n - 1 {
		k := &kit{t: tb, ctx: first.ctx, dir: first.dir, db: first.db, clock: first.clock, logs: first.logs}
		k.open()
		ks = append(ks, k)
	}
	return ks
}

func (k *kit) pg() *pgStore { return k.srv.st.(*pgStore) }

// pushBody is a push of n new cases of laptop l.
func pushBody(tb testing.TB, l *laptop, n int) ([]byte, []string) {
	tb.Helper()
	var keys []syncproto.RecordKey
	var changes []syncproto.Change
	var ids []string
	for i := range n {
		c, k := l.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft",
			"form.given_names": fmt.Sprintf("Name %d", i)})
		keys, changes, ids = append(keys, k), append(changes, c), append(ids, c.ID)
	}
	body, err := json.Marshal(l.request(keys, changes...))
	if err != nil {
		tb.Fatal(err)
	}
	l.sealSent = true
	return body, ids
}

// tryPull pulls one page after a checkpoint, without failing the test (it
// runs in goroutines): the entries' ids and seqs, and the page's end.
func tryPull(l *laptop, after int64, limit int) (ids []string, seqs []int64, end syncproto.End, err error) {
	url := fmt.Sprintf("%s/v1/tenants/%s/pull?after=%d&limit=%d", l.k.ts.URL, l.tenant, after, limit)
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, nil, end, err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	resp, err := l.k.ts.Client().Do(req)
	if err != nil {
		return nil, nil, end, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, end, fmt.Errorf("pull: %d", resp.StatusCode)
	}
	dec := json.NewDecoder(resp.Body)
	gotEnd := false
	for {
		var pl syncproto.PullLine
		if err := dec.Decode(&pl); err != nil {
			if gotEnd {
				return ids, seqs, end, nil
			}
			return nil, nil, end, fmt.Errorf("pull: %w", err)
		}
		switch {
		case pl.Entry != nil:
			ids, seqs = append(ids, pl.Entry.ID), append(seqs, pl.Entry.Seq)
		case pl.End != nil:
			end, gotEnd = *pl.End, true
		}
	}
}

// TestFeedOrder_LateCommitNotOvertaken holds one pusher's transaction open
// after it took its feed position, on one server, while another pusher on
// a second server pushes and a reader on the second server pulls. With
// the tenant lock the second push waits, so the reader cannot pass over
// the first change; with the lock off and a plain sequence (as a
// BIGSERIAL feed), the reader's checkpoint passes the first change's seq
// before it commits, and it never gets it: the test must see that.
func TestFeedOrder_LateCommitNotOvertaken(t *testing.T) {
	pgOnly(t)
	for _, unordered := range []bool{false, true} {
		name := "tenant lock"
		if unordered {
			name = "plain sequence"
		}
		t.Run(name, func(t *testing.T) {
			ks := startKits(t, 2)
			if unordered {
				if _, err := ks[0].pg().w.Exec(ks[0].ctx, `CREATE SEQUENCE test_unordered_seq`); err != nil {
					t.Fatal(err)
				}
				ks[0].pg().unordered, ks[1].pg().unordered = true, true
			}
			a, b, reader := ks[0].enrol("a", tenantA, 2), ks[1].enrol("b", tenantA, 3), ks[1].enrol("r", tenantA, 4)
			bodyA, idsA := pushBody(t, a, 1)
			bodyB, idsB := pushBody(t, b, 1)

			held, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			ks[0].pg().afterSeqs = func(string) { once.Do(func() { close(held); <-release }) }
			aDone, bDone := make(chan error, 1), make(chan error, 1)
			go func() { aDone <- tryPost(a, bodyA) }()
			<-held // a's change has its seq; its transaction is open
			go func() { bDone <- tryPost(b, bodyB) }()
			// Without the lock nothing holds b up: wait for it, so that
			// the reader's pull comes after b's commit however slow the
			// machine. With the lock b must still be waiting a while on.
			wait := 500 * time.Millisecond
			if unordered {
				wait = 30 * time.Second
			}
			bFinished := false
			select {
			case err := <-bDone:
				if err != nil {
					t.Fatal(err)
				}
				bFinished = true
			case <-time.After(wait):
				if unordered {
					t.Fatal("without the lock the second push did not finish")
				}
			}
			var got []string
			ids, _, end, err := tryPull(reader, 0, 100)
			got = append(got, ids...)
			close(release)
			if err := <-aDone; err != nil {
				t.Fatal(err)
			}
			if !bFinished {
				if err := <-bDone; err != nil {
					t.Fatal(err)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for {
				ids, _, next, err := tryPull(reader, end.LastSeq, 100)
				if err != nil {
					t.Fatal(err)
				}
				got, end = append(got, ids...), next
				if !end.More {
					break
				}
			}
			missing := missingIDs(got, append(idsA, idsB...))
			switch {
			case unordered && len(missing) == 0:
				t.Errorf("with a plain sequence the reader got every change (%d): the test no longer shows the late commit being overtaken", len(got))
			case unordered:
				t.Logf("as expected without the lock, the reader never got %d change(s)", len(missing))
			case len(missing) > 0:
				t.Errorf("the reader never got %v (got %v)", missing, got)
			}
			if !unordered && bFinished {
				t.Error("the second push committed while the first held its tenant's lock")
			}
		})
	}
}

func missingIDs(got, want []string) []string {
	have := map[string]bool{}
	for _, id := range got {
		have[id] = true
	}
	var out []string
	for _, id := range want {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

// TestFeedOrder_ConcurrentPushersAndPullers runs pushers on three servers
// and a puller on each, all at once; every puller must receive every
// change exactly once, at gapless positions 1, 2, 3, …, in the order a
// fresh full pull shows.
func TestFeedOrder_ConcurrentPushersAndPullers(t *testing.T) {
	pgOnly(t)
	const servers, pushersPer, pushes, perPush = 3, 2, 12, 3
	ks := startKits(t, servers)
	var pushers, pullers []*laptop
	for i, k := range ks {
		for j := range pushersPer {
			pushers = append(pushers, k.enrol(fmt.Sprintf("p%d%d", i, j), tenantA, 2+j))
		}
		pullers = append(pullers, k.enrol(fmt.Sprintf("r%d", i), tenantA, 4))
	}
	bodies := make([][][]byte, len(pushers))
	var want []string
	for i, l := range pushers {
		for range pushes {
			b, ids := pushBody(t, l, perPush)
			bodies[i] = append(bodies[i], b)
			want = append(want, ids...)
		}
	}

	var pushWG, pullWG sync.WaitGroup
	pushed := make(chan struct{})
	errs := make(chan error, len(pushers)+len(pullers))
	for i, l := range pushers {
		pushWG.Add(1)
		go func() {
			defer pushWG.Done()
			for _, b := range bodies[i] {
				if err := tryPost(l, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	type seen struct {
		ids  []string
		seqs []int64
	}
	results := make([]seen, len(pullers))
	for i, l := range pullers {
		pullWG.Add(1)
		go func() {
			defer pullWG.Done()
			var after int64
			for {
				done := false
				select {
				case <-pushed:
					done = true
				default:
				}
				ids, seqs, end, err := tryPull(l, after, 7)
				if err != nil {
					errs <- err
					return
				}
				results[i].ids = append(results[i].ids, ids...)
				results[i].seqs = append(results[i].seqs, seqs...)
				after = end.LastSeq
				// Done once a pull that began after the last push ended
				// reaches the head.
				if done && !end.More && end.LastSeq == end.HeadSeq {
					return
				}
			}
		}()
	}
	pushWG.Wait()
	close(pushed)
	pullWG.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var full []string
	fresh := ks[0].enrol("fresh", tenantA, 5)
	for after := int64(0); ; {
		ids, _, end, err := tryPull(fresh, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		full, after = append(full, ids...), end.LastSeq
		if !end.More {
			break
		}
	}
	if m := missingIDs(full, want); len(m) > 0 {
		t.Fatalf("%d pushed changes are not in the feed", len(m))
	}
	for i, r := range results {
		for j, seq := range r.seqs {
			if seq != int64(j+1) {
				t.Fatalf("puller %d: entry %d has seq %d, want %d (a gap or a change twice)", i, j, seq, j+1)
			}
		}
		if strings.Join(r.ids, ",") != strings.Join(full, ",") {
			t.Fatalf("puller %d got %d entries, the feed has %d; missing %d", i, len(r.ids), len(full),
				len(missingIDs(r.ids, full)))
		}
	}
}

// TestSeveralServers_StateInTheDatabase: what one server did, every other
// server knows at once: a revoked device, a push retried on another
// server, an upload resumed on another server, an enrolment code issued
// on one and used on another, once.
func TestSeveralServers_StateInTheDatabase(t *testing.T) {
	pgOnly(t)
	ks := startKits(t, 2)
	a := ks[0].enrol("a", tenantA, 2)

	// A push retried on the other server, even at the same time: applied
	// once, the other a duplicate.
	body, _ := pushBody(t, a, 3)
	statuses := make(chan string, 6)
	var wg sync.WaitGroup
	for _, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := postAs(k, a, body)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range rs {
				statuses <- r.Status
			}
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[string]int{}
	for s := range statuses {
		count[s]++
	}
	if count[syncproto.StatusApplied] != 3 || count[syncproto.StatusDuplicate] != 3 {
		t.Errorf("the same push on two servers at once: %v, want 3 applied and 3 duplicates", count)
	}

	// An upload begun on one server resumes on the other.
	c, ck := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft"})
	wantStatus(t, a.push([]syncproto.RecordKey{ck}, c), syncproto.StatusApplied)
	plain := []byte("\x89PNG a signature, in two pieces")
	sha := sha256hex(plain)
	sealed, err := crypto.SealValue(a.keys[c.RecordID], plain, []byte("attachment:"+sha))
	if err != nil {
		t.Fatal(err)
	}
	half := len(sealed) / 2
	a.k = ks[0]
	st, b, _ := ks[0].do("PATCH", attPath(a, c.RecordID, sha), a.token, sealed[:half],
		patchHeaders(0, len(sealed), sha256hex(sealed), c.RecordID))
	if st/100 != 2 {
		t.Fatalf("first piece on server 0: %d %s", st, b)
	}
	a.k = ks[1]
	if off := headOffset(t, a, c.RecordID, sha); off != int64(half) {
		t.Fatalf("server 1 sees the upload at %d, want %d", off, half)
	}
	st, b, _ = ks[1].do("PATCH", attPath(a, c.RecordID, sha), a.token, sealed[half:],
		patchHeaders(int64(half), len(sealed), sha256hex(sealed), c.RecordID))
	if st/100 != 2 {
		t.Fatalf("second piece on server 1: %d %s", st, b)
	}
	_, got, _ := ks[0].do("GET", attPath(a, c.RecordID, sha), a.token, nil, nil)
	if !bytes.Equal(got, sealed) {
		t.Errorf("server 0 serves %d bytes, want the %d uploaded through both", len(got), len(sealed))
	}

	// An enrolment code issued by one server is used on the other, once.
	code, err := ks[0].srv.IssueEnrolment(ks[0].ctx, tenantA, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := crypto.MarshalPublicKeyPEM(&poolKey(t, 3).PublicKey)
	if st, b, _ := ks[1].do("POST", "/v1/enrol", "", enrolBody(t, code, pub), nil); st != http.StatusOK {
		t.Fatalf("enrol on server 1 with a code of server 0: %d %s", st, b)
	}
	if st, _, _ := ks[0].do("POST", "/v1/enrol", "", enrolBody(t, code, pub), nil); st == http.StatusOK {
		t.Error("the code worked a second time on the other server")
	}

	// Revoked through one server, refused by the other at once.
	a.k = ks[1]
	if _, _, end, err := tryPull(a, 0, 10); err != nil || end.HeadSeq == 0 {
		t.Fatalf("pull on server 1 before revocation: %v, %+v", err, end)
	}
	if err := ks[0].srv.Revoke(ks[0].ctx, a.id); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tryPull(a, 0, 10); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("pull on server 1 after revocation on server 0: %v, want 401", err)
	}
}

// postAs pushes body as laptop l through server k.
func postAs(k *kit, l *laptop, body []byte) ([]syncproto.PushResult, error) {
	req, err := http.NewRequest("POST", k.ts.URL+"/v1/tenants/"+l.tenant+"/push", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	resp, err := k.ts.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var pr syncproto.PushResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("push through %s: %d, %v", k.ts.URL, resp.StatusCode, err)
	}
	return pr.Results, nil
}

// TestPostgres_MigrateConcurrently: servers starting at once on a new
// database all find one schema; a database newer than the program is
// refused.
func TestPostgres_MigrateConcurrently(t *testing.T) {
	pgOnly(t)
	ctx := context.Background()
	url := pgtest.DB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := openPostgres(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			st.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("open at once: %v", err)
	}
	steps, err := loadPGMigrations()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v, rows int
	if err := conn.QueryRow(ctx, `SELECT max(version), count(*) FROM schema_version`).Scan(&v, &rows); err != nil {
		t.Fatal(err)
	}
	if v != len(steps) || rows != 1 {
		t.Fatalf("schema_version %d in %d rows, want %d in 1", v, rows, len(steps))
	}
	if _, err := conn.Exec(ctx, `UPDATE schema_version SET version = $1`, len(steps)+1); err != nil {
		t.Fatal(err)
	}
	if st, err := openPostgres(ctx, url); err == nil || !strings.Contains(err.Error(), "newer than this program") {
		if st != nil {
			st.Close()
		}
		t.Fatalf("opened a database of a newer schema: %v", err)
	}
}

// TestPostgres_Unavailable: while PostgreSQL is down, the store's errors
// say so (ErrUnavailable, for a 503), the server keeps running, and once
// PostgreSQL is back the same server works again.
func TestPostgres_Unavailable(t *testing.T) {
	pgOnly(t)
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c, ck := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	wantStatus(t, a.push([]syncproto.RecordKey{ck}, c), syncproto.StatusApplied)

	cl := pgtest.Shared(t)
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			cl.Start()
		}
	}()
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	if err := k.srv.st.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping with PostgreSQL down: %v, want ErrUnavailable", err)
	}
	if _, err := k.srv.st.DeviceByToken(ctx, crypto.HashToken(a.token)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("DeviceByToken with PostgreSQL down: %v, want ErrUnavailable", err)
	}
	err := k.srv.st.Update(ctx, tenantA, func(tx Tx) error { return tx.SetMeta(ctx, "x", "y") })
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Update with PostgreSQL down: %v, want ErrUnavailable", err)
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := k.srv.st.Ping(ctx); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	c2, ck2 := a.create(domain.TypePerson, domain.Fields{"surname": "Musterfrau"})
	wantStatus(t, a.push([]syncproto.RecordKey{ck2}, c2), syncproto.StatusApplied)
	if es := a.pullAll(); len(es) != 2 {
		t.Errorf("pulled %d entries after the restart, want 2", len(es))
	}
}

// TestOpen_PostgresNeedsMasterKey: a PostgreSQL database has no folder to
// keep the key beside or apart from, so the key file must be named; the
// URL's password appears in no error.
func TestOpen_PostgresNeedsMasterKey(t *testing.T) {
	t.Setenv(EnvMasterKeyFile, "")
	url := "postgres://syncd:s3cret-pw@127.0.0.1:1/central"
	_, err := Open(context.Background(), Config{DBPath: url, KeyApart: true})
	if !errors.Is(err, ErrMasterKeyRequired) {
		t.Fatalf("Open without a master key file: %v, want ErrMasterKeyRequired", err)
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error shows the password: %v", err)
	}
	if got := RedactDB(url); strings.Contains(got, "s3cret-pw") || !strings.Contains(got, "127.0.0.1:1/central") {
		t.Errorf("RedactDB(%q) = %q", url, got)
	}
	if got := RedactDB("postgresql:///central?host=/run/pg&password=s3cret-pw"); strings.Contains(got, "s3cret-pw") {
		t.Errorf("RedactDB left the password in the query: %q", got)
	}
	// Unreachable: refused with ErrUnavailable, without the password.
	_, err = Open(context.Background(), Config{DBPath: url, MasterKeyFile: t.TempDir() + "/master.key"})
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Open of an unreachable database: %v, want ErrUnavailable without the password", err)
	}
}

// TestPostgres_WriteThatReadsDoesNotStarve: a central change to a laptop's
// record opens the tenant key inside its write transaction, through the
// store's read side. With one connection per pool that read must not wait
// for the connection the transaction holds (it did with one pool for
// both: a hang, here a deadline).
func TestPostgres_WriteThatReadsDoesNotStarve(t *testing.T) {
	pgOnly(t)
	first := startKit(t)
	a := first.enrol("a", tenantA, 2)
	c, ck := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	wantStatus(t, a.push([]syncproto.RecordKey{ck}, c), syncproto.StatusApplied)

	sep := "?"
	if strings.Contains(first.db, "?") {
		sep = "&"
	}
	// A second server, as a fresh process: no key opened yet.
	k := &kit{t: t, ctx: first.ctx, dir: first.dir, db: first.db + sep + "pool_max_conns=1", clock: first.clock, logs: first.logs}
	k.open()
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	_, err := k.srv.Central(ctx, tenantA, CentralChange{RecordID: c.RecordID, RecordType: domain.TypePerson, Op: "update",
		BaseVersion: -1, Set: domain.Fields{"surname": "Musterfrau"}, Clerk: "clerk-1"})
	if err != nil {
		t.Fatalf("central change on a server with one connection per pool: %v", err)
	}
}

// TestSeveralServers_OneRecordMergedInTurn: two laptops on two servers
// edit one record at once. Each server merges under the tenant's lock,
// so every applied change finds the record as the one before left it:
// the record's versions in the feed run 1, 2, 3, … with none twice, and
// the record ends at the newest.
func TestSeveralServers_OneRecordMergedInTurn(t *testing.T) {
	pgOnly(t)
	ks := startKits(t, 2)
	a, b := ks[0].enrol("a", tenantA, 2), ks[1].enrol("b", tenantA, 3)
	visit, vkey := a.create(domain.TypeVisit, domain.Fields{"place": "Oberweiler", "venue_address": "Dorfstr. 1"})
	wantStatus(t, a.push([]syncproto.RecordKey{vkey}, visit), syncproto.StatusApplied)
	b.pullAll()
	const edits = 10
	var bodies [2][][]byte
	for i, l := range []*laptop{a, b} {
		for j := range edits {
			ch := l.change("update", domain.TypeVisit, visit.RecordID, 1, nil,
				domain.Fields{"venue_address": fmt.Sprintf("Saal %s%d", l.name, j)})
			body, err := json.Marshal(l.request(nil, ch))
			if err != nil {
				t.Fatal(err)
			}
			bodies[i] = append(bodies[i], body)
		}
	}
	var wg sync.WaitGroup
	for i, l := range []*laptop{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range bodies[i] {
				rs, err := postAs(l.k, l, body)
				if err != nil {
					t.Error(err)
					return
				}
				if rs[0].Status != syncproto.StatusApplied {
					t.Errorf("%s: %+v", l.name, rs[0])
				}
			}
		}()
	}
	wg.Wait()
	var versions []int64
	for _, e := range a.pullAll() {
		if e.RecordID == visit.RecordID {
			versions = append(versions, e.Version)
		}
	}
	for i, v := range versions {
		if v != int64(i+1) {
			t.Fatalf("versions of the record in the feed: %v, want 1..%d", versions, len(versions))
		}
	}
	if len(versions) != 1+2*edits {
		t.Errorf("%d changes of the record in the feed, want %d", len(versions), 1+2*edits)
	}
	r := ks[1].record(tenantA, visit.RecordID)
	if r.Version != int64(len(versions)) {
		t.Errorf("record at version %d, the feed's last change made %d", r.Version, len(versions))
	}
}
