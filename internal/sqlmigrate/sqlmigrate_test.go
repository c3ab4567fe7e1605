package sqlmigrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/buergerkoffer/kit/internal/sqlitedsn"
	"github.com/buergerkoffer/kit/internal/sqlmigrate"
)

// threeSteps creates one table per step; a step applied twice fails
// (CREATE TABLE without IF NOT EXISTS).
var threeSteps = fstest.MapFS{
	"migrations/0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER);`)},
	"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
	"migrations/0003_c.sql": {Data: []byte(`CREATE TABLE c (x INTEGER); INSERT INTO c VALUES (1);`)},
	"migrations/README":     {Data: []byte(`not a step`)},
}

func TestLoad_OrdersByName(t *testing.T) {
	steps, err := sqlmigrate.Load(threeSteps, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.Name)
	}
	if got, want := strings.Join(got, " "), "0001_a.sql 0002_b.sql 0003_c.sql"; got != want {
		t.Errorf("names = %q, want %q", got, want)
	}
	if got, want := steps[1].SQL, `CREATE TABLE b (x INTEGER);`; got != want {
		t.Errorf("step 2 = %q, want %q", got, want)
	}
}

func TestLoad_Refuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fsys    fstest.MapFS
		pattern string
	}{
		{"no files", fstest.MapFS{}, "migrations/*.sql"},
		{"bad pattern", threeSteps, "migrations/[*.sql"},
		{"gap", fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, "m/*.sql"},
		{"two of one number", fstest.MapFS{"m/0001_a.sql": {}, "m/0002_b.sql": {}, "m/0002_c.sql": {}}, "m/*.sql"},
		{"not numbered", fstest.MapFS{"m/init.sql": {}}, "m/*.sql"},
		{"short name", fstest.MapFS{"m/1.sql": {}}, "m/*.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if steps, err := sqlmigrate.Load(tc.fsys, tc.pattern); err == nil {
				t.Errorf("Load = %d steps, want an error", len(steps))
			}
		})
	}
}

func load(t *testing.T) []sqlmigrate.Step {
	t.Helper()
	steps, err := sqlmigrate.Load(threeSteps, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

// open opens a writer on path as the field store and the server do.
func open(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlitedsn.DSN(path, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

func version(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func tables(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}

// Up goes step by step to the target, resumes from where a database is,
// and leaves one at or past the target alone.
func TestUp_StepByStep(t *testing.T) {
	ctx := context.Background()
	steps := load(t)
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	for _, tc := range []struct {
		target      int
		wantVersion int
		wantTables  string
	}{
		{0, 0, ""},
		{1, 1, "a"},
		{1, 1, "a"}, // again: nothing to do
		{3, 3, "a b c"},
		{2, 3, "a b c"}, // past the target: left alone
		{3, 3, "a b c"},
	} {
		if err := sqlmigrate.Up(ctx, db, steps, tc.target); err != nil {
			t.Fatalf("Up(%d): %v", tc.target, err)
		}
		if got := version(t, db); got != tc.wantVersion {
			t.Errorf("Up(%d): version %d, want %d", tc.target, got, tc.wantVersion)
		}
		if got := tables(t, db); got != tc.wantTables {
			t.Errorf("Up(%d): tables %q, want %q", tc.target, got, tc.wantTables)
		}
	}
}

// A database of a newer program is refused and left as it is.
func TestUp_TooNew(t *testing.T) {
	ctx := context.Background()
	steps := load(t)
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	if _, err := db.Exec(`PRAGMA user_version = 4`); err != nil {
		t.Fatal(err)
	}
	for _, target := range []int{0, 3} {
		err := sqlmigrate.Up(ctx, db, steps, target)
		if !errors.Is(err, sqlmigrate.ErrTooNew) {
			t.Errorf("Up(%d) = %v, want ErrTooNew", target, err)
		}
	}
	if got := version(t, db); got != 4 {
		t.Errorf("version %d, want 4 untouched", got)
	}
	if got := tables(t, db); got != "" {
		t.Errorf("tables %q, want none", got)
	}
}

// A step that fails leaves the database at the version before it, with
// nothing of the step kept, and says which step failed.
func TestUp_FailedStepRollsBack(t *testing.T) {
	ctx := context.Background()
	fsys := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER);`)},
		"m/0002_b.sql": {Data: []byte(`CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);`)},
	}
	steps, err := sqlmigrate.Load(fsys, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	err = sqlmigrate.Up(ctx, db, steps, 2)
	if err == nil || !strings.Contains(err.Error(), "step 2 (0002_b.sql)") {
		t.Fatalf("Up = %v, want an error naming step 2", err)
	}
	if got := version(t, db); got != 1 {
		t.Errorf("version %d, want 1", got)
	}
	if got := tables(t, db); got != "a" {
		t.Errorf("tables %q, want %q", got, "a")
	}
}

func TestUp_RefusesBadTargetAndVersion(t *testing.T) {
	ctx := context.Background()
	steps := load(t)
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	for _, target := range []int{-1, 4} {
		if err := sqlmigrate.Up(ctx, db, steps, target); err == nil {
			t.Errorf("Up(%d) = nil, want an error", target)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = -1`); err != nil {
		t.Fatal(err)
	}
	if err := sqlmigrate.Up(ctx, db, steps, 3); err == nil || errors.Is(err, sqlmigrate.ErrTooNew) {
		t.Errorf("Up on version -1 = %v, want an error other than ErrTooNew", err)
	}
}

func TestUp_Cancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	db := open(t, filepath.Join(t.TempDir(), "x.db"))
	if err := sqlmigrate.Up(ctx, db, load(t), 3); !errors.Is(err, context.Canceled) {
		t.Errorf("Up = %v, want context.Canceled", err)
	}
}

// Processes that open one new file at once each wait for the other's
// step and find it done: all succeed, and every step ran once (a second
// run of a step would fail on its CREATE TABLE).
func TestUp_ConcurrentOpenersApplyEachStepOnce(t *testing.T) {
	ctx := context.Background()
	steps := load(t)
	path := filepath.Join(t.TempDir(), "x.db")
	const openers = 4
	dbs := make([]*sql.DB, openers)
	for i := range dbs {
		dbs[i] = open(t, path)
	}
	var wg sync.WaitGroup
	errs := make([]error, openers)
	for i, db := range dbs {
		wg.Go(func() { errs[i] = sqlmigrate.Up(ctx, db, steps, len(steps)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
		}
	}
	if got := version(t, dbs[0]); got != 3 {
		t.Errorf("version %d, want 3", got)
	}
	var n int
	if err := dbs[0].QueryRow(`SELECT count(*) FROM c`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows in c = %d (%v), want 1", n, err)
	}
}

func ExampleLoad() {
	fsys := fstest.MapFS{"migrations/0001_init.sql": {Data: []byte(`CREATE TABLE t (x);`)}}
	steps, err := sqlmigrate.Load(fsys, "migrations/*.sql")
	fmt.Println(len(steps), steps[0].Name, err)
	// Output: 1 0001_init.sql <nil>
}
