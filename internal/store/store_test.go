package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

const (
	clerkName = "amueller"
	password  = "Feldtag-2026!"
)

func TestMain(m *testing.M) {
	if path := os.Getenv("BK_STORE_CHILD_DB"); path != "" {
		os.Exit(childWriter(path))
	}
	os.Exit(m.Run())
}

func open(t testing.TB, path string, opts ...store.Option) *store.Store {
	t.Helper()
	opts = append([]store.Option{store.WithKDFParams(crypto.TestKDFParams)}, opts...)
	s, err := store.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newSession gives a set-up store in a fresh file with the first clerk signed in.
func newSession(t testing.TB, opts ...store.Option) (*store.Session, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "field.db")
	s := open(t, path, opts...)
	ss, err := s.Setup(context.Background(), clerkName, "Anna Müller", []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return ss, path
}

func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", store.RawDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t testing.TB, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func sampleCase() domain.Case {
	return domain.Case{ServiceID: "anmeldung", VisitID: domain.NewID(), Form: domain.Fields{
		"surname": "Mustermann", "given_names": "Erika", "birth_date": "1964-08-12",
		"tax_id": "36574261809", "new_postal_code": "51147", "new_street": "Heidestraße 17",
	}}
}

func TestMigrate_UpgradesOldDatabaseInPlace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	if err := store.MigrateTo(ctx, path, 1); err != nil {
		t.Fatal(err)
	}
	// A laptop that ran schema 1 has an outbox entry waiting.
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO record_key(id, created_at) VALUES ('k', 'x');
		INSERT INTO change_log(id, record_id, record_type, op, fields, plain_values, key_id, base_version, hlc, device_id, clerk_id, created_at)
		VALUES ('c1', 'r1', 'case', 'create', '[]', '{}', 'k', 0, '001795433200000-0000000000', 'd', 'cl', 'x')`); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, `PRAGMA user_version`); got != 1 {
		t.Fatalf("old database at version %d, want 1", got)
	}
	db.Close()

	s := open(t, path)
	db = rawDB(t, path)
	if got, want := count(t, db, `PRAGMA user_version`), store.SchemaVersion(); got != want || want < 2 {
		t.Fatalf("after Open: version %d, want %d (>= 2)", got, want)
	}
	if got := count(t, db, `SELECT count(*) FROM sync_state`); got != 0 {
		t.Fatalf("new table not usable: %d rows", got)
	}
	n, _, err := s.Pending(ctx)
	if err != nil || n != 1 {
		t.Fatalf("pending after upgrade = %d, %v; want the old entry kept", n, err)
	}
}

func TestOpen_RefusesNewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	open(t, path).Close()
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, store.SchemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := store.Open(context.Background(), path)
	if !errors.Is(err, store.ErrTooNew) {
		t.Fatalf("Open = %v, want ErrTooNew", err)
	}
	if got := count(t, rawDB(t, path), `PRAGMA user_version`); got != store.SchemaVersion()+1 {
		t.Fatalf("refused database was changed to version %d", got)
	}
}

const childCases = 150

// childWriter is the second process: it opens the same file and writes
// cases while the test process writes too.
func childWriter(path string) int {
	ctx := context.Background()
	s, err := store.Open(ctx, path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	ss, err := s.Unlock(ctx, clerkName, []byte(password))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < childCases; i++ {
		if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// The app and `syncd agent` are two processes on one file.
func TestTwoProcessesWriteOneDatabase(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), "BK_STORE_CHILD_DB="+path)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("child: %v: %s", err, out)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < childCases; i++ {
			if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	want := 3 * childCases
	if got := count(t, db, `SELECT count(*) FROM record WHERE type = 'case'`); got != want {
		t.Errorf("cases = %d, want %d", got, want)
	}
	if got := count(t, db, `SELECT count(*) FROM change_log`); got != want {
		t.Errorf("change entries = %d, want %d", got, want)
	}
	if got := count(t, db, `SELECT count(DISTINCT hlc) FROM change_log`); got != want {
		t.Errorf("distinct HLC values = %d, want %d (a timestamp was reused)", got, want)
	}
	if n, err := ss.Store().VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after concurrent writers: %v (%d entries ok)", err, n)
	}
	cases, err := ss.List(ctx, domain.TypeCase, nil)
	if err != nil || len(cases) != want {
		t.Fatalf("the app reads %d cases, %v; want %d", len(cases), err, want)
	}
}

func TestOutbox_WrittenAtomicallyWithData(t *testing.T) {
	ctx := context.Background()
	for _, table := range []string{"change_log", "audit_log", "record"} {
		t.Run("failing "+table, func(t *testing.T) {
			ss, path := newSession(t)
			db := rawDB(t, path)
			before := map[string]int{}
			tables := []string{"record", "record_key", "change_log", "audit_log"}
			for _, tb := range tables {
				before[tb] = count(t, db, `SELECT count(*) FROM `+tb)
			}
			if _, err := db.Exec(`CREATE TRIGGER fail BEFORE INSERT ON ` + table +
				` BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`); err != nil {
				t.Fatal(err)
			}
			if _, err := ss.CreateCase(ctx, sampleCase()); err == nil {
				t.Fatal("write succeeded although one of its inserts failed")
			}
			for _, tb := range tables {
				if got := count(t, db, `SELECT count(*) FROM `+tb); got != before[tb] {
					t.Errorf("%s: %d rows after the failed write, want %d", tb, got, before[tb])
				}
			}
			if _, err := db.Exec(`DROP TRIGGER fail`); err != nil {
				t.Fatal(err)
			}
			c, err := ss.CreateCase(ctx, sampleCase())
			if err != nil {
				t.Fatal(err)
			}
			if got := count(t, db, `SELECT count(*) FROM change_log WHERE record_id = ?`, c.ID); got != 1 {
				t.Errorf("change entries for the new case = %d, want 1", got)
			}
		})
	}
}

func TestHLC_MonotonicAcrossRestartAndBackwardsClock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "field.db")
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := t0
	now := func() time.Time { return clock }

	s := open(t, path, store.WithClock(now))
	ss, err := s.Setup(ctx, clerkName, "Anna", []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	clock = t0.Add(-time.Hour) // the laptop's clock jumped back while it was off
	s = open(t, path, store.WithClock(now))
	ss, err = s.Unlock(ctx, clerkName, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
			t.Fatal(err)
		}
	}
	var prev string
	n := 0
	err = s.Changes(ctx, 0, 0, false, func(c store.Change) error {
		if c.HLC.String() <= prev {
			return fmt.Errorf("change %d has HLC %s, not after %s", c.Seq, c.HLC, prev)
		}
		prev = c.HLC.String()
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("%d changes, want 6", n)
	}
}

func TestAudit_VerifyNamesFirstBrokenEntry(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*store.Session, *sql.DB) {
		ss, path := newSession(t)
		for i := 0; i < 5; i++ {
			if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
				t.Fatal(err)
			}
		}
		n, err := ss.Store().VerifyAudit(ctx)
		if err != nil || n != 6 {
			t.Fatalf("intact chain: %d entries, %v; want 6, nil", n, err)
		}
		db := rawDB(t, path)
		// Someone with sqlite3 on the file drops the append-only triggers.
		if _, err := db.Exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete`); err != nil {
			t.Fatal(err)
		}
		return ss, db
	}
	cases := []struct {
		name   string
		tamper string
		want   int64
	}{
		{"modified", `UPDATE audit_log SET clerk_id = 'someone-else' WHERE seq = 3`, 3},
		{"deleted", `DELETE FROM audit_log WHERE seq = 3`, 4},
		{"inserted", "", 3}, // see forge below: without the key its MAC cannot hold
		{"appended with wrong link", `INSERT INTO audit_log SELECT 7, at, device_id, clerk_id, action, record_type, record_id, prev_hash, hash, key_id FROM audit_log WHERE seq = 2`, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ss, db := setup(t)
			if c.tamper == "" {
				forge(t, ss.Store(), db)
			} else if _, err := db.Exec(c.tamper); err != nil {
				t.Fatal(err)
			}
			_, err := ss.VerifyAudit(ctx)
			var br *store.AuditBreak
			if !errors.As(err, &br) || !errors.Is(err, store.ErrAuditBroken) {
				t.Fatalf("VerifyAudit = %v, want an AuditBreak", err)
			}
			if br.Seq != c.want {
				t.Errorf("first broken entry %d (%s), want %d", br.Seq, br.Reason, c.want)
			}
		})
	}
	t.Run("append-only without tampering", func(t *testing.T) {
		ss, path := newSession(t)
		db := rawDB(t, path)
		if _, err := db.Exec(`DELETE FROM audit_log WHERE seq = 1`); err == nil {
			t.Error("deleting an audit entry succeeded")
		}
		if _, err := db.Exec(`UPDATE audit_log SET action = 'x'`); err == nil {
			t.Error("updating an audit entry succeeded")
		}
		if _, err := ss.Store().VerifyAudit(ctx); err != nil {
			t.Error(err)
		}
	})
}

// forge inserts an entry after entry 2 with a hash as correct as an
// attacker with the source code but without a clerk's password can make
// it, and renumbers the rest.
func forge(t *testing.T, s *store.Store, db *sql.DB) {
	t.Helper()
	var two store.AuditEntry
	s.AuditEntries(context.Background(), func(e store.AuditEntry) error {
		if e.Seq == 2 {
			two = e
		}
		return nil
	})
	f := two
	f.Seq, f.Action, f.PrevHash = 3, "case.delete", two.Hash
	f.Hash = store.HashEntry(f)
	if _, err := db.Exec(`UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3;
		UPDATE audit_log SET seq = seq - 99 WHERE seq >= 103`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO audit_log(seq, at, device_id, clerk_id, action, record_type, record_id,
		prev_hash, hash, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.Seq,
		f.At.UTC().Format(time.RFC3339Nano), f.DeviceID, f.ClerkID, f.Action, f.RecordType, f.RecordID, f.PrevHash, f.Hash,
		store.AuditKeyDevice); err != nil {
		t.Fatal(err)
	}
}

func TestUnlock_WrongPasswordChangesNothing(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	s := ss.Store()
	db := rawDB(t, path)
	var keyBefore string
	db.QueryRow(`SELECT wrapped_key FROM clerk`).Scan(&keyBefore)

	for _, try := range []struct{ user, pw string }{{clerkName, "falsch-falsch"}, {clerkName, ""}, {"nobody", password}} {
		if _, err := s.Unlock(ctx, try.user, []byte(try.pw)); !errors.Is(err, store.ErrWrongPassword) {
			t.Errorf("Unlock(%q, …) = %v, want ErrWrongPassword", try.user, err)
		}
	}
	var keyAfter string
	db.QueryRow(`SELECT wrapped_key FROM clerk`).Scan(&keyAfter)
	if keyAfter != keyBefore {
		t.Error("a wrong password changed the wrapped key")
	}
	if got := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'session.unlock_failed'`); got != 3 {
		t.Errorf("failed unlocks audited: %d, want 3", got)
	}
	// The right password still opens the data.
	ss2, err := s.Unlock(ctx, clerkName, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ss2.Case(ctx, c.ID)
	if err != nil || got.Form["surname"] != "Mustermann" {
		t.Fatalf("case after unlock: %v, %v", got.Form, err)
	}
}

func TestChangePassword_RewrapsKeyNotData(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	var secretBefore []byte
	db.QueryRow(`SELECT secret FROM record WHERE id = ?`, c.ID).Scan(&secretBefore)

	if err := ss.ChangePassword(ctx, []byte("nicht-das-alte"), []byte("Neues-Passwort-1")); !errors.Is(err, store.ErrWrongPassword) {
		t.Fatalf("change with wrong old password = %v, want ErrWrongPassword", err)
	}
	if err := ss.ChangePassword(ctx, []byte(password), []byte("Neues-Passwort-1")); err != nil {
		t.Fatal(err)
	}
	s := ss.Store()
	if _, err := s.Unlock(ctx, clerkName, []byte(password)); !errors.Is(err, store.ErrWrongPassword) {
		t.Errorf("old password still unlocks: %v", err)
	}
	ss2, err := s.Unlock(ctx, clerkName, []byte("Neues-Passwort-1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := ss2.Case(ctx, c.ID); err != nil || got.Form["given_names"] != "Erika" {
		t.Fatalf("data after password change: %v, %v", got.Form, err)
	}
	var secretAfter []byte
	db.QueryRow(`SELECT secret FROM record WHERE id = ?`, c.ID).Scan(&secretAfter)
	if string(secretAfter) != string(secretBefore) {
		t.Error("changing a password re-encrypted the data")
	}
}

func TestSecondClerkUnlocksSameData(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.AddClerk(ctx, "bschmidt", "Bernd Schmidt", []byte("Zweiter-Schluessel")); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.AddClerk(ctx, "bschmidt", "Bernd", []byte("Zweiter-Schluessel")); !errors.Is(err, store.ErrClerkExists) {
		t.Errorf("duplicate clerk: %v, want ErrClerkExists", err)
	}
	ss2, err := ss.Store().Unlock(ctx, "bschmidt", []byte("Zweiter-Schluessel"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ss2.Case(ctx, c.ID)
	if err != nil || got.Form["surname"] != "Mustermann" {
		t.Fatalf("second clerk reads %v, %v", got.Form, err)
	}
	ss2.Lock()
	if _, _, err := ss2.Case(ctx, c.ID); !errors.Is(err, store.ErrLocked) {
		t.Errorf("locked session reads: %v, want ErrLocked", err)
	}
}

// Personal data is not readable by someone who copies the file and opens it
// with sqlite3, nor by the agent reading the outbox.
func TestEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	p, err := ss.CreatePerson(ctx, domain.Person{Surname: "Mustermann", GivenNames: "Erika",
		BirthDate: "1964-08-12", DocumentNumber: "T22000129"})
	if err != nil {
		t.Fatal(err)
	}
	c := sampleCase()
	c.PersonID = p.ID
	c, err = ss.CreateCase(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.PutAttachment(ctx, c.ID, 1, domain.AttachmentSignaturePNG, []byte("PNG Erika Mustermann signature")); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"Mustermann", "Erika", "1964-08-12", "T22000129", "36574261809", "Heidestra"}

	err = ss.Store().Changes(ctx, 0, 0, true, func(ch store.Change) error {
		for _, sec := range secrets {
			if strings.Contains(string(ch.SecretValues), sec) || strings.Contains(fmt.Sprint(ch.PlainValues), sec) {
				return fmt.Errorf("outbox entry %d shows %q to the agent", ch.Seq, sec)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ss.Store().Close()

	var dumps []string
	if sqlite, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command(sqlite, path, ".dump").CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3 .dump: %v: %s", err, out)
		}
		if !strings.Contains(string(out), "anmeldung") {
			t.Fatalf("sqlite3 dump does not show even the plain fields: %.300s", out)
		}
		dumps = append(dumps, string(out))
	} else {
		t.Log("sqlite3 not installed (make deps installs it); checking the raw files only")
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err == nil {
			dumps = append(dumps, string(b))
		}
	}
	for i, d := range dumps {
		for _, sec := range secrets {
			if strings.Contains(d, sec) {
				t.Errorf("dump %d contains %q in clear", i, sec)
			}
		}
	}
}

func TestCase_RulesOfTheStatusMachine(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.UpdateCaseForm(ctx, c.ID, 1, domain.Fields{"new_postal_code": "51149"})
	if err != nil || v != 2 {
		t.Fatalf("edit draft: version %d, %v", v, err)
	}
	if _, err := ss.UpdateCaseForm(ctx, c.ID, 1, domain.Fields{"new_postal_code": "51143"}); !errors.Is(err, store.ErrStale) {
		t.Errorf("edit on an old version: %v, want ErrStale", err)
	}
	if _, err := ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSealed); !errors.Is(err, domain.ErrTransition) {
		t.Errorf("sealing a draft: %v, want ErrTransition", err)
	}
	if v, err = ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.UpdateCaseForm(ctx, c.ID, v, domain.Fields{"surname": "Musterfrau"}); !errors.Is(err, store.ErrImmutable) {
		t.Errorf("editing a signed case: %v, want ErrImmutable", err)
	}
	if err := ss.Delete(ctx, c.ID, v); !errors.Is(err, store.ErrImmutable) {
		t.Errorf("deleting a signed case: %v, want ErrImmutable", err)
	}
	if v, err = ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSealed); err != nil {
		t.Fatal(err)
	}
	got, gotV, err := ss.Case(ctx, c.ID)
	if err != nil || got.Status != domain.StatusSealed || got.SignedBy != ss.Clerk().ID || got.SealedAt.IsZero() || gotV != v {
		t.Fatalf("sealed case: %+v v%d, %v", got, gotV, err)
	}
	// Every step is in the outbox, in order, based on the server version
	// this laptop has integrated: none yet, as it never synced.
	var bases []string
	ss.Store().Changes(ctx, 0, 0, true, func(ch store.Change) error {
		if ch.RecordID == c.ID {
			bases = append(bases, string(ch.Op)+"@"+strconv.FormatInt(ch.BaseVersion, 10)+":"+strings.Join(ch.Fields, ","))
		}
		return nil
	})
	if len(bases) != 4 || !strings.HasPrefix(bases[0], "create@0:") || bases[1] != "update@0:form.new_postal_code" ||
		bases[2] != "update@0:signed_at,signed_by,status" || bases[3] != "update@0:sealed_at,sealed_by,status" {
		t.Errorf("outbox of the case:\n%s", strings.Join(bases, "\n"))
	}
}

func TestAttachment_ContentAddressedAndReferenced(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\n…a signature…")
	a, v, err := ss.PutAttachment(ctx, c.ID, 1, domain.AttachmentSignaturePNG, png)
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256 != crypto.SHA256Hex(png) || v != 2 {
		t.Fatalf("attachment %s at case version %d", a.SHA256, v)
	}
	got, err := ss.Attachment(ctx, c.ID, a.SHA256)
	if err != nil || string(got) != string(png) {
		t.Fatalf("read back %q, %v", got, err)
	}
	r, err := ss.Get(ctx, c.ID)
	if err != nil || r.Fields["attachment.signature_png"] != a.SHA256 {
		t.Fatalf("case does not reference the attachment: %v, %v", r.Fields, err)
	}
	var ref bool
	ss.Store().Changes(ctx, 0, 0, true, func(ch store.Change) error {
		if fc, ok := ch.PlainValues["attachment.signature_png"]; ok && fc.New == a.SHA256 {
			ref = true
		}
		return nil
	})
	if !ref {
		t.Error("no outbox entry references the attachment by its hash")
	}
	if v, err = ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.PutAttachment(ctx, c.ID, v, domain.AttachmentPadRaw, []byte("late")); !errors.Is(err, store.ErrImmutable) {
		t.Errorf("attachment on a signed case: %v, want ErrImmutable", err)
	}
}

// Two cases whose attachments have the same bytes (a signature replayed
// from the pad) each hold their own copy, sealed under their own key.
func TestAttachment_SameBytesInTwoCasesAreTwoAttachments(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	png := []byte("\x89PNG\r\n\x1a\n…the same signature…")
	var ids []string
	for range 2 {
		c, err := ss.CreateCase(ctx, sampleCase())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ss.PutAttachment(ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, png); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	sha := crypto.SHA256Hex(png)
	var sealed [][]byte
	for _, id := range ids {
		got, err := ss.Attachment(ctx, id, sha)
		if err != nil || string(got) != string(png) {
			t.Fatalf("case %s's attachment: %q, %v", id, got, err)
		}
		b, err := ss.Store().UploadData(ctx, id, sha)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, b)
	}
	if bytes.Equal(sealed[0], sealed[1]) {
		t.Error("both cases upload the same sealed bytes: one key for two cases")
	}
	// Uploading one leaves the other to upload.
	if err := ss.Store().MarkUploaded(ctx, ids[0], sha); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if n := count(t, db, `SELECT count(*) FROM attachment WHERE uploaded_at IS NULL AND record_id = ?`, ids[1]); n != 1 ||
		count(t, db, `SELECT count(*) FROM attachment WHERE uploaded_at IS NULL`) != 1 {
		t.Errorf("after the first case's upload, the second case's is not the one left")
	}
}

// A field store of schema 4, whose attachments were keyed by SHA-256
// alone, keeps them after the upgrade, each with its record; a second case
// can then take the same bytes.
func TestMigrate_AttachmentsKeepTheirRecord(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\n…a signature…")
	if _, _, err := ss.PutAttachment(ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, png); err != nil {
		t.Fatal(err)
	}
	ss.Store().Close()
	// The table as schema 4 had it (and the audit log without schema 6's key).
	db := rawDB(t, path)
	if _, err := db.Exec(`CREATE TABLE attachment_old (
			sha256      TEXT PRIMARY KEY,
			record_id   TEXT NOT NULL REFERENCES record(id),
			kind        TEXT NOT NULL,
			media_type  TEXT NOT NULL,
			size        INTEGER NOT NULL,
			data        BLOB,
			created_at  TEXT NOT NULL,
			uploaded_at TEXT
		) STRICT;
		INSERT INTO attachment_old SELECT sha256, record_id, kind, media_type, size, data, created_at, uploaded_at FROM attachment;
		DROP TABLE attachment;
		ALTER TABLE attachment_old RENAME TO attachment;
		CREATE INDEX attachment_by_record ON attachment(record_id);
		DROP TABLE audit_key;
		ALTER TABLE audit_log DROP COLUMN key_id;
		DROP INDEX change_log_in_flight;
		ALTER TABLE change_log DROP COLUMN push_batch;
		PRAGMA user_version = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, path)
	if got := count(t, rawDB(t, path), `PRAGMA user_version`); got < 5 {
		t.Fatalf("after Open: version %d", got)
	}
	ss, err = s.Unlock(ctx, clerkName, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	sha := crypto.SHA256Hex(png)
	if got, err := ss.Attachment(ctx, c.ID, sha); err != nil || string(got) != string(png) {
		t.Fatalf("attachment after the upgrade: %q, %v", got, err)
	}
	c2, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ss.PutAttachment(ctx, c2.ID, store.AnyVersion, domain.AttachmentSignaturePNG, png); err != nil {
		t.Fatal(err)
	}
	if got, err := ss.Attachment(ctx, c2.ID, sha); err != nil || string(got) != string(png) {
		t.Fatalf("second case's attachment after the upgrade: %q, %v", got, err)
	}
}

// A case that, from before schema 5, points at another case's copy of the
// same bytes gets its own copy at the next unlock, while the other's still
// opens; with no copy left that opens, unlocking still works.
func TestUnlock_CopiesAttachmentSharedFromBeforeSchema5(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	png := []byte("\x89PNG\r\n\x1a\n…a replayed signature…")
	sha := crypto.SHA256Hex(png)
	var ids []string
	for range 3 {
		c, err := ss.CreateCase(ctx, sampleCase())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ss.PutAttachment(ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, png); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	// What schema 4 left: one copy, of the first case, for all three.
	db := rawDB(t, path)
	if _, err := db.Exec(`DELETE FROM attachment WHERE record_id <> ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	ss.Lock()
	ss, err := ss.Store().Unlock(ctx, clerkName, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if got, err := ss.Attachment(ctx, id, sha); err != nil || !bytes.Equal(got, png) {
			t.Errorf("case %s after unlock: %q, %v", id, got, err)
		}
	}
	a, _ := ss.Store().UploadData(ctx, ids[0], sha)
	b, _ := ss.Store().UploadData(ctx, ids[1], sha)
	if bytes.Equal(a, b) {
		t.Error("the copy is sealed under the first case's key")
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'attachment.copied'`); n != 2 {
		t.Errorf("%d copies audited, want 2", n)
	}

	// No copy left that opens: nothing to copy, and the clerk gets in.
	if _, err := db.Exec(`DELETE FROM attachment WHERE record_id <> ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE attachment SET data = NULL`); err != nil {
		t.Fatal(err)
	}
	ss.Lock()
	if ss, err = ss.Store().Unlock(ctx, clerkName, []byte(password)); err != nil {
		t.Fatalf("unlock with nothing to copy from: %v", err)
	}
	if _, err := ss.Attachment(ctx, ids[1], sha); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("case without a copy: %v, want ErrNotFound", err)
	}
}
