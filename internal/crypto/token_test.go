package crypto_test

import (
	"encoding/base64"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

func TestSHA256Hex(t *testing.T) {
	// FIPS 180-2 test vector.
	got := crypto.SHA256Hex([]byte("abc"))
	want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got != want {
		t.Fatalf("SHA256Hex(abc) = %s, want %s", got, want)
	}
}

func TestNewToken(t *testing.T) {
	a, err := crypto.NewToken()
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	b, _ := crypto.NewToken()
	if a == b {
		t.Fatal("two tokens are equal")
	}
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", a, len(raw), err)
	}
}
