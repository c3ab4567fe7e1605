package server

// Where the master key may lie. It wraps every tenant's private key, so
// whoever holds the key and the database holds every case in clear: the
// key must not travel with a backup of the database's directory, and no
// other account on the machine may read it.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/buergerkoffer/kit/internal/crypto"
)

// EnvMasterKeyFile is the environment variable that names the master key
// file when Config.MasterKeyFile (`--master-key`) does not: a secret
// store or a service manager can set it.
const EnvMasterKeyFile = "BK_MASTER_KEY_FILE"

// Errors of the master key's location; test with errors.Is.
var (
	// ErrMasterKeyBesideDB: with Config.KeyApart, the master key file
	// lies in the database's directory without having been named.
	ErrMasterKeyBesideDB = errors.New("server: master key file in the database's directory")
	// ErrMasterKeyExposed: the master key file may be read by its group
	// or by others (Unix).
	ErrMasterKeyExposed = errors.New("server: master key file readable by group or others")
	// ErrMasterKeyRequired: the database is a PostgreSQL URL and neither
	// Config.MasterKeyFile nor $BK_MASTER_KEY_FILE names the key file.
	ErrMasterKeyRequired = errors.New("server: a master key file is required with a PostgreSQL database")
)

// masterKeyFile returns the master key file cfg asks for: MasterKeyFile,
// else $BK_MASTER_KEY_FILE, else DBPath+".key". With KeyApart, a file in
// the database's directory is refused unless MasterKeyFile named it. A
// PostgreSQL database has no directory to default to or to keep apart
// from: one of the first two must name the file.
func masterKeyFile(cfg Config) (string, error) {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile, nil
	}
	path, from := os.Getenv(EnvMasterKeyFile), EnvMasterKeyFile
	if IsPostgresURL(cfg.DBPath) {
		if path == "" {
			return "", fmt.Errorf("name the master key file with --master-key FILE or $%s (database %s): %w",
				EnvMasterKeyFile, RedactDB(cfg.DBPath), ErrMasterKeyRequired)
		}
		return path, nil
	}
	if path == "" {
		path, from = cfg.DBPath+".key", "the default"
	}
	if cfg.KeyApart && sameDir(path, cfg.DBPath) {
		return "", fmt.Errorf("%s (from %s) lies beside the database %s, so a backup of that directory would hold the key with the data: %w",
			path, from, cfg.DBPath, ErrMasterKeyBesideDB)
	}
	return path, nil
}

// sameDir reports whether two files lie in the same directory, by the
// directories' identity where both exist (links, case-insensitive file
// systems) and by their absolute paths otherwise.
func sameDir(a, b string) bool {
	da, db := filepath.Dir(a), filepath.Dir(b)
	fa, erra := os.Stat(da)
	fb, errb := os.Stat(db)
	if erra == nil && errb == nil {
		return os.SameFile(fa, fb)
	}
	aa, erra := filepath.Abs(da)
	ab, errb := filepath.Abs(db)
	return erra == nil && errb == nil && aa == ab
}

// readMasterKey reads the master key file, refusing it (on Unix) when its
// group or others may read it. A missing file is an os.ErrNotExist.
func readMasterKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// Windows keeps access in ACLs; its file modes say nothing about who
	// may read.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o; make it readable by its owner only (chmod 600): %w",
			path, fi.Mode().Perm(), ErrMasterKeyExposed)
	}
	// One byte more than a key, so that a longer file is noticed.
	b, err := io.ReadAll(io.LimitReader(f, crypto.KeySize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}
