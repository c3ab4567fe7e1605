package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/store"
)

// serverKey makes a server key pair: its public key (PEM) and kid.
func serverKey(t *testing.T) (string, string) {
	t.Helper()
	priv, err := crypto.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := crypto.KeyID(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pub), kid
}

// SetServerKey takes the key a pull announces after a rotation, only with
// its own kid and only once enrolled.
func TestSetServerKey(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "field.db"))
	pem1, kid1 := serverKey(t)
	pem2, kid2 := serverKey(t)
	if err := s.SetServerKey(ctx, pem2, kid2); !errors.Is(err, store.ErrNotEnrolled) {
		t.Fatalf("before enrolment: %v, want ErrNotEnrolled", err)
	}
	if err := s.SaveEnrolment(ctx, store.Enrolment{ServerURL: "https://127.0.0.1:1", Tenant: "musterstadt",
		DeviceID: "dev-1", Token: "tok", ServerPublicKey: pem1, ServerKeyID: kid1}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServerKey(ctx, pem2, kid1); err == nil {
		t.Error("a key under another key's kid was taken")
	}
	if err := s.SetServerKey(ctx, "not a key", kid2); err == nil {
		t.Error("a malformed key was taken")
	}
	if e, err := s.Enrolment(ctx); err != nil || e.ServerKeyID != kid1 || e.ServerPublicKey != pem1 {
		t.Fatalf("after refusals: %+v, %v", e, err)
	}
	for range 2 { // the same key twice: once is enough
		if err := s.SetServerKey(ctx, pem2, kid2); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.Enrolment(ctx)
	if err != nil || e.ServerKeyID != kid2 || e.ServerPublicKey != pem2 || e.Token != "tok" {
		t.Fatalf("after the new key: %+v, %v", e, err)
	}
}
