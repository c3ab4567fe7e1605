package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/store"
)

// A store from before the chain was keyed keeps its old entries (plain
// SHA-256); what is written after is keyed, and unkeyed entries may not
// follow keyed ones.
func TestAudit_LegacyEntriesPrecedeKeyedOnes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "field.db")
	if err := store.MigrateTo(ctx, path, 4); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	prev := ""
	for seq := int64(1); seq <= 2; seq++ {
		e := store.AuditEntry{Seq: seq, At: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), DeviceID: "d",
			Action: "session.unlock_failed", RecordType: "clerk", PrevHash: prev}
		if seq == 1 {
			e.PrevHash = "0000000000000000000000000000000000000000000000000000000000000000"
		}
		e.Hash = store.HashEntry(e)
		if _, err := db.Exec(`INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Seq,
			e.At.Format(time.RFC3339Nano), e.DeviceID, e.ClerkID, e.Action, e.RecordType, e.RecordID, e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	s := open(t, path)
	ss, err := s.Setup(ctx, clerkName, "Anna Müller", []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.CreateCase(ctx, sampleCase()); err != nil {
		t.Fatal(err)
	}
	if n, err := ss.VerifyAudit(ctx); err != nil || n != 4 {
		t.Fatalf("VerifyAudit = %d, %v; want 4 entries", n, err)
	}
	sum, err := s.CheckAudit(ctx, store.AuditCheck{Username: clerkName, Password: []byte(password)})
	if err != nil || sum.Legacy != 2 || sum.Unchecked != 0 || sum.Head.Count != 4 {
		t.Fatalf("CheckAudit = %+v, %v", sum, err)
	}
	if _, err := s.CheckAudit(ctx, store.AuditCheck{Username: clerkName, Password: []byte("falsch-falsch")}); !errors.Is(err, store.ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
}

// What the agent writes (no session, no data key) is keyed by the agent's
// key: verifiable without a password, and a modified entry is named.
func TestAudit_AgentEntriesAreKeyed(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	s := ss.Store()
	priv, err := crypto.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := crypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err := s.SaveEnrolment(ctx, store.Enrolment{ServerURL: "https://example.org", Tenant: "t", DeviceID: "x",
		Token: "tok", ServerPublicKey: string(pub)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unlock(ctx, clerkName, []byte("falsch-falsch")); !errors.Is(err, store.ErrWrongPassword) {
		t.Fatal(err)
	}
	var keys []string
	s.AuditEntries(ctx, func(e store.AuditEntry) error { keys = append(keys, e.KeyID); return nil })
	if len(keys) != 3 || keys[0] != store.AuditKeyDevice || keys[1] != store.AuditKeyAgent || keys[2] != store.AuditKeyAgent {
		t.Fatalf("key ids %v, want device, agent, agent", keys)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET record_id = 'y' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	_, err = s.VerifyAudit(ctx)
	var br *store.AuditBreak
	if !errors.As(err, &br) || br.Seq != 2 {
		t.Fatalf("VerifyAudit = %v, want a break at entry 2", err)
	}
}
