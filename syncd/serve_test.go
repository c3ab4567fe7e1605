package main

// What `syncd serve` refuses to start with: a master key that others can
// read or that lies beside the database, and plain HTTP on an address
// other machines can reach. And what it answers to someone guessing
// enrolment codes.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// envMasterKey names the master key file when --master-key does not.
const envMasterKey = "BK_MASTER_KEY_FILE"

// serveOnce runs `syncd serve` with args until it says where it listens
// (then stops it) or exits. It returns whether it started, its exit code
// when it did not, and what it wrote to stderr.
func serveOnce(t *testing.T, args ...string) (started bool, code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWriter{first: make(chan string, 1)}
	errOut := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), out, errOut) }()
	select {
	case <-out.first:
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
		}
		return true, 0, errOut.String()
	case code := <-done:
		return false, code, errOut.String()
	case <-time.After(30 * time.Second):
		t.Fatal("serve neither started nor exited")
	}
	return false, 0, ""
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func TestServe_MasterKeyBesideDB(t *testing.T) {
	sqliteOnly(t, "a PostgreSQL database has no directory for the key to lie in")
	t.Setenv(envMasterKey, "")
	dir, keyDir := t.TempDir(), t.TempDir()
	db := filepath.Join(dir, "central.db")

	// No --master-key: the default <db>.key would lie beside the database.
	started, code, stderr := serveOnce(t, "--db", db, "--listen", "127.0.0.1:0")
	if started || code == 0 {
		t.Fatalf("serve started with its master key beside the database (exit %d): %s", code, stderr)
	}
	if !strings.Contains(stderr, "--master-key") || !strings.Contains(stderr, envMasterKey) {
		t.Errorf("the refusal does not say what to do: %s", stderr)
	}
	if _, err := os.Stat(db + ".key"); err == nil {
		t.Error("a refused start left a master key beside the database")
	}

	// Named by the environment, in the database's directory: refused too.
	t.Setenv(envMasterKey, filepath.Join(dir, "master.key"))
	if started, code, stderr := serveOnce(t, "--db", db, "--listen", "127.0.0.1:0"); started || code == 0 {
		t.Fatalf("serve started with %s beside the database: %s", envMasterKey, stderr)
	}
	// Named by the environment, elsewhere: starts.
	t.Setenv(envMasterKey, filepath.Join(keyDir, "master.key"))
	if started, code, stderr := serveOnce(t, "--db", db, "--listen", "127.0.0.1:0"); !started {
		t.Fatalf("serve with %s on another path: exit %d: %s", envMasterKey, code, stderr)
	}
	// Named explicitly with --master-key (here: beside another database):
	// the operator's choice, accepted.
	t.Setenv(envMasterKey, "")
	db2 := filepath.Join(dir, "second.db")
	if started, code, stderr := serveOnce(t, "--db", db2, "--listen", "127.0.0.1:0", "--master-key", db2+".key"); !started {
		t.Fatalf("serve with an explicit --master-key: exit %d: %s", code, stderr)
	}
}

func TestServe_MasterKeyReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not permissions on Windows")
	}
	t.Setenv(envMasterKey, "")
	db, _ := newServerDB(t, t.TempDir())
	key := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(key, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	started, code, stderr := serveOnce(t, "--db", db, "--listen", "127.0.0.1:0", "--master-key", key)
	if started || code == 0 {
		t.Fatalf("serve started with a master key of mode 0644 (exit %d): %s", code, stderr)
	}
	if !strings.Contains(stderr, key) {
		t.Errorf("the refusal does not name the file: %s", stderr)
	}
	// The same file, made private: starts.
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	if started, code, stderr := serveOnce(t, "--db", db, "--listen", "127.0.0.1:0", "--master-key", key); !started {
		t.Fatalf("serve with a private master key: exit %d: %s", code, stderr)
	}
}

func TestServe_PlainHTTPOnlyOnLoopback(t *testing.T) {
	t.Setenv(envMasterKey, "")
	db, key := newServerDB(t, t.TempDir())
	for _, listen := range []string{"0.0.0.0:0", ":0"} {
		started, code, stderr := serveOnce(t, "--db", db, "--master-key", key, "--listen", listen)
		if started || code == 0 {
			t.Errorf("--listen %s: plain HTTP on every interface (exit %d): %s", listen, code, stderr)
			continue
		}
		if !strings.Contains(stderr, "--insecure-http") {
			t.Errorf("--listen %s: the refusal does not name --insecure-http: %s", listen, stderr)
		}
	}
	started, code, stderr := serveOnce(t, "--db", db, "--master-key", key, "--listen", "0.0.0.0:0", "--insecure-http")
	if !started {
		t.Fatalf("--insecure-http: exit %d: %s", code, stderr)
	}
	if !strings.Contains(strings.ToLower(stderr), "insecure") {
		t.Errorf("--insecure-http started without a warning: %s", stderr)
	}
	for _, listen := range []string{"127.0.0.1:0", "localhost:0"} {
		if started, code, stderr := serveOnce(t, "--db", db, "--master-key", key, "--listen", listen); !started {
			t.Errorf("--listen %s: exit %d: %s", listen, code, stderr)
		}
	}
}

func TestServe_EnrolThrottled(t *testing.T) {
	k := startKit(t)
	code := k.admin("enrol", "--tenant", "musterstadt")
	priv, err := crypto.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var throttled int
	for i := range 30 {
		// Half of the guesses without a usable key: a wrong code is
		// answered (and counted) before the key is looked at.
		key := string(pub)
		if i%2 == 1 {
			key = "not a key"
		}
		body, _ := json.Marshal(syncproto.EnrolRequest{Code: fmt.Sprintf("AAAA-BBBB-%04d", 1000+i), Name: "Koffer",
			LocalID: domain.NewID(), PublicKey: key})
		resp, err := http.Post(k.url+"/v1/enrol", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			throttled++
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
				t.Errorf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
			}
		default:
			t.Errorf("wrong code %d: status %d", i, resp.StatusCode)
		}
	}
	if throttled < 15 {
		t.Fatalf("30 wrong codes in a row: %d answered 429", throttled)
	}
	// While throttled, even a good code waits: it is not used up.
	body, _ := json.Marshal(syncproto.EnrolRequest{Code: code, Name: "Koffer", LocalID: domain.NewID(), PublicKey: string(pub)})
	resp, err := http.Post(k.url+"/v1/enrol", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a good code while throttled: %d", resp.StatusCode)
	}
}
