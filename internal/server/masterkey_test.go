package server

// Where the master key may lie: not readable by anyone but its owner, and
// (for a server that asks for it, as `syncd serve` does) not in the
// database's directory unless the operator named it there.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOpen_MasterKeyReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not permissions on Windows")
	}
	ctx := context.Background()
	dir, keyDir := t.TempDir(), t.TempDir()
	db, key := testDB(t, dir), filepath.Join(keyDir, "master.key")
	srv, err := Open(ctx, Config{DBPath: db, MasterKeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		srv, err := Open(ctx, Config{DBPath: db, MasterKeyFile: key})
		if err == nil {
			srv.Close()
			t.Errorf("opened with a master key of mode %v", mode)
			continue
		}
		if !errors.Is(err, ErrMasterKeyExposed) {
			t.Errorf("mode %v: %v, want ErrMasterKeyExposed", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		srv, err := Open(ctx, Config{DBPath: db, MasterKeyFile: key})
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		srv.Close()
	}
}

func TestOpen_MasterKeyApart(t *testing.T) {
	sqliteOnly(t, "about the SQLite file's directory; TestOpen_PostgresNeedsMasterKey covers PostgreSQL")
	ctx := context.Background()
	dir, keyDir := t.TempDir(), t.TempDir()
	db := filepath.Join(dir, "central.db")
	t.Setenv(EnvMasterKeyFile, "")

	// The default, <db>.key, lies beside the database: refused, and the
	// database is not even made.
	if srv, err := Open(ctx, Config{DBPath: db, KeyApart: true}); err == nil {
		srv.Close()
		t.Fatal("opened with the master key beside the database")
	} else if !errors.Is(err, ErrMasterKeyBesideDB) {
		t.Fatalf("%v, want ErrMasterKeyBesideDB", err)
	}
	if _, err := os.Stat(db + ".key"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused open made the key file: %v", err)
	}
	// So is a file in that directory named by the environment.
	t.Setenv(EnvMasterKeyFile, filepath.Join(dir, "env.key"))
	if srv, err := Open(ctx, Config{DBPath: db, KeyApart: true}); !errors.Is(err, ErrMasterKeyBesideDB) {
		if err == nil {
			srv.Close()
		}
		t.Fatalf("key beside the database named by %s: %v", EnvMasterKeyFile, err)
	}
	// The environment naming a file elsewhere: used.
	t.Setenv(EnvMasterKeyFile, filepath.Join(keyDir, "env.key"))
	srv, err := Open(ctx, Config{DBPath: db, KeyApart: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if _, err := os.Stat(filepath.Join(keyDir, "env.key")); err != nil {
		t.Fatalf("no key where %s says: %v", EnvMasterKeyFile, err)
	}
	// Named explicitly, a file beside the database is the operator's
	// choice (another database, so that the key is new).
	t.Setenv(EnvMasterKeyFile, "")
	db2 := filepath.Join(dir, "second.db")
	srv, err = Open(ctx, Config{DBPath: db2, MasterKeyFile: db2 + ".key", KeyApart: true})
	if err != nil {
		t.Fatalf("explicit key beside the database: %v", err)
	}
	srv.Close()
	// Without KeyApart (tools, tests) the default still works.
	db3 := filepath.Join(dir, "third.db")
	srv, err = Open(ctx, Config{DBPath: db3})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}
