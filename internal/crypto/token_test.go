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

func TestVerifyToken(t *testing.T) {
	tok, _ := crypto.NewToken()
	other, _ := crypto.NewToken()
	h := crypto.HashToken(tok)
	if h != crypto.SHA256Hex([]byte(tok)) || len(h) != 64 {
		t.Fatalf("HashToken = %s", h)
	}
	if !crypto.VerifyToken(tok, h) {
		t.Error("VerifyToken rejects the token")
	}
	if crypto.VerifyToken(other, h) || crypto.VerifyToken("", h) || crypto.VerifyToken(tok, "") {
		t.Error("VerifyToken accepts a wrong token")
	}
}

func TestConstantTimeEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
	}
	for _, tt := range tests {
		if got := crypto.ConstantTimeEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("ConstantTimeEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
