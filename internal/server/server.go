// Package server is the central sync server of the kit (`syncd serve`): it
// enrols laptops, takes their pushed changes into each tenant's feed,
// merging concurrent edits (package merge) and writing conflict records,
// serves the feed to pulls, stores attachments resumably, and lets the
// town hall change records centrally.
//
// It never holds a citizen's data in clear at rest: personal values stay
// sealed as the devices sent them, under per-record content keys that are
// wrapped under seal keys (which only the tenant's private key opens) or,
// for records made centrally, under the server's master key. The master
// key (32 random bytes in a file that must not lie beside the database,
// masterkey.go) also wraps every tenant's private key.
//
// Persistence goes through the Store interface (store.go), implemented on
// SQLite (sqlite.go) and on PostgreSQL (postgres.go). On PostgreSQL several
// server processes may share one database: what must hold across them
// lives in the database, never in one process's memory.
package server

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Config configures Open.
type Config struct {
	// DBPath is the database: an SQLite file, or a PostgreSQL URL
	// (postgres://… or postgresql://…, see IsPostgresURL).
	DBPath string
	// MasterKeyFile holds the master key: 32 random bytes, created 0600
	// if missing, refused if its group or others may read it (Unix).
	// "" means $BK_MASTER_KEY_FILE (EnvMasterKeyFile), or DBPath+".key"
	// when that is unset too; with a PostgreSQL URL one of the first two
	// is required (ErrMasterKeyRequired), as there is no database folder.
	MasterKeyFile string
	// KeyApart refuses a master key file in the database's directory
	// unless MasterKeyFile names it: a backup of that directory would
	// hold the key beside all it protects. `syncd serve` sets it.
	KeyApart bool
	Now      func() time.Time // default time.Now
	Log      *slog.Logger     // default slog.Default(); never given personal data
	Catalog  *catalog.Catalog // default catalog.LoadEmbedded()
	// MaxClockLead is how far ahead of the server's clock a pushed
	// change's clock may be before the server restamps it (default
	// hlc.DefaultMaxLead).
	MaxClockLead time.Duration
	// MetricsToken, if not "", is the bearer token /metrics asks for;
	// "" serves /metrics to anyone who reaches the server (metrics.go).
	MetricsToken string
	// Protocol is the range of syncproto revisions served (default
	// syncproto.Revisions(); tests set it to play another release).
	Protocol syncproto.Range
}

// Server is an open sync server. It is safe for concurrent use.
type Server struct {
	st      Store
	master  crypto.DataKey
	now     func() time.Time
	maxLead time.Duration
	log     *slog.Logger
	cat     *catalog.Catalog
	handler http.Handler

	// genKey makes tenant key pairs (tests swap in a pool of keys).
	genKey func() (*rsa.PrivateKey, error)

	keyMu      sync.Mutex
	tenantKeys map[string]*rsa.PrivateKey // opened tenant private keys
	seals      *lru                       // opened seal keys, by tenant+"/"+seal id

	seenMu sync.Mutex
	seen   map[string]time.Time // when a device's last_seen_at was last written

	enrolLimit *enrolLimiter // wrong enrolment codes per client address

	db dbState // whether the readiness probe found the database (ready.go)

	metrics      *metrics // served at /metrics (metrics.go)
	metricsToken string
	protocol     syncproto.Range // the revisions served (version.go)
}

// sealCacheSize bounds the opened seal keys kept in memory. A device makes
// one seal key per 10,000 records or per session, so this covers many.
const sealCacheSize = 4096

// Meta keys.
const (
	metaClock       = "hlc"
	metaMasterCheck = "master_key_check"
)

// masterCheck is wrapped under the master key and stored, so that opening
// the database with another key fails at once instead of later.
var masterCheck = []byte("buergerkoffer central master key")

// Open opens (creating if need be) the server's database and master key.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxClockLead <= 0 {
		cfg.MaxClockLead = hlc.DefaultMaxLead
	}
	if cfg.Catalog == nil {
		c, err := catalog.LoadEmbedded()
		if err != nil {
			return nil, fmt.Errorf("server: open: %w", err)
		}
		cfg.Catalog = c
	}
	keyFile, err := masterKeyFile(cfg)
	if err != nil {
		return nil, fmt.Errorf("server: open: %w", err)
	}
	st, err := openStore(ctx, cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{st: st, now: cfg.Now, maxLead: cfg.MaxClockLead, log: cfg.Log, cat: cfg.Catalog, genKey: crypto.GenerateKeyPair,
		tenantKeys: map[string]*rsa.PrivateKey{}, seals: newLRU(sealCacheSize), seen: map[string]time.Time{},
		protocol: protocolOf(cfg)}
	s.enrolLimit = newEnrolLimiter(enrolAddrs)
	s.metrics, s.metricsToken = newMetrics(s.now, s.poolStats), cfg.MetricsToken
	if err := s.loadMasterKey(ctx, keyFile); err != nil {
		st.Close()
		return nil, fmt.Errorf("server: open: %w", err)
	}
	if err := s.copySharedAttachments(ctx); err != nil {
		s.log.Error("attachments shared between records not copied yet; the next start tries again", "err", err)
	}
	s.handler = s.routes()
	return s, nil
}

// openStore opens the database DBPath names: PostgreSQL for a postgres://
// or postgresql:// URL, else an SQLite file.
func openStore(ctx context.Context, db string) (Store, error) {
	if IsPostgresURL(db) {
		return openPostgres(ctx, db)
	}
	return openSQLite(ctx, db)
}

// Close closes the database.
func (s *Server) Close() error {
	s.master.Zero()
	if err := s.st.Close(); err != nil {
		return fmt.Errorf("server: close: %w", err)
	}
	return nil
}

// Handler returns the HTTP handler of every /v1 endpoint and /metrics.
func (s *Server) Handler() http.Handler { return s.handler }

// tenantIDs returns the ids of every tenant.
func (s *Server) tenantIDs(ctx context.Context) ([]string, error) {
	ts, err := s.st.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids, nil
}

// poolStats returns the store's connection pool statistics, if it keeps
// any.
func (s *Server) poolStats() []PoolStats {
	if p, ok := s.st.(poolStatser); ok {
		return p.PoolStats()
	}
	return nil
}

// loadMasterKey reads the master key file, creating it if it is missing and
// the database has never had one, and checks it against the database.
func (s *Server) loadMasterKey(ctx context.Context, path string) error {
	check, err := s.st.Meta(ctx, metaMasterCheck)
	if err != nil {
		return err
	}
	b, err := readMasterKey(path)
	if errors.Is(err, os.ErrNotExist) {
		if check != "" {
			return fmt.Errorf("master key %s missing, but the database was made with one", path)
		}
		b, err = createMasterKey(path)
	}
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if len(b) != crypto.KeySize {
		return fmt.Errorf("master key %s: %d bytes, want %d", path, len(b), crypto.KeySize)
	}
	copy(s.master[:], b)
	clear(b)
	if check != "" {
		w, err := base64.StdEncoding.DecodeString(check)
		if err != nil {
			return fmt.Errorf("master key check: %w", err)
		}
		if _, err := crypto.UnwrapKey(s.master, w, []byte(metaMasterCheck)); err != nil {
			return fmt.Errorf("master key %s does not fit this database", path)
		}
		return nil
	}
	w, err := crypto.WrapKey(s.master, masterCheck, []byte(metaMasterCheck))
	if err != nil {
		return fmt.Errorf("master key check: %w", err)
	}
	return s.st.Update(ctx, "", func(tx Tx) error {
		return tx.SetMeta(ctx, metaMasterCheck, base64.StdEncoding.EncodeToString(w))
	})
}

// createMasterKey writes 32 random bytes to path, mode 0600, atomically: a
// temporary file linked into place, so that two processes starting at
// once end up with the same key.
func createMasterKey(path string) ([]byte, error) {
	k, err := crypto.NewDataKey()
	if err != nil {
		return nil, err
	}
	defer k.Zero()
	f, err := os.CreateTemp(filepath.Dir(path), ".masterkey-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(k[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return readMasterKey(path)
}
