package crypto_test

import (
	"errors"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

func TestHashPassword(t *testing.T) {
	h, err := crypto.HashPassword([]byte("Rathaus-2026"), crypto.TestKDFParams())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := crypto.VerifyPassword(h, []byte("Rathaus-2026")); err != nil || !ok {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := crypto.VerifyPassword(h, []byte("rathaus-2026")); err != nil || ok {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	if _, err := crypto.VerifyPassword("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA", []byte("x")); !errors.Is(err, crypto.ErrKDFParams) {
		t.Fatalf("malformed: %v", err)
	}
	if _, err := crypto.HashPassword(nil, crypto.TestKDFParams()); !errors.Is(err, crypto.ErrEmptyPassword) {
		t.Fatalf("empty: %v", err)
	}
}
