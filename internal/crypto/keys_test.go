package crypto_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

func TestGenerateKeyPair_Size(t *testing.T) {
	server, _ := testKeys(t)
	if got := server.N.BitLen(); got != 3072 {
		t.Fatalf("modulus has %d bits, want 3072", got)
	}
}

func TestPublicKey_PEMRoundTrip(t *testing.T) {
	server, _ := testKeys(t)
	b, err := crypto.MarshalPublicKeyPEM(&server.PublicKey)
	if err != nil {
		t.Fatalf("MarshalPublicKeyPEM: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Errorf("PEM starts %q", b[:30])
	}
	pub, err := crypto.ParsePublicKeyPEM(b)
	if err != nil {
		t.Fatalf("ParsePublicKeyPEM: %v", err)
	}
	if !pub.Equal(&server.PublicKey) {
		t.Fatal("parsed public key differs")
	}
}

func TestPrivateKey_PEMAndDERRoundTrip(t *testing.T) {
	_, device := testKeys(t)
	b, err := crypto.MarshalPrivateKeyPEM(device)
	if err != nil {
		t.Fatalf("MarshalPrivateKeyPEM: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("PEM does not start with a PKCS#8 header")
	}
	priv, err := crypto.ParsePrivateKeyPEM(b)
	if err != nil {
		t.Fatalf("ParsePrivateKeyPEM: %v", err)
	}
	if !priv.Equal(device) {
		t.Fatal("parsed private key differs")
	}

	der, _ := crypto.MarshalPrivateKeyDER(device)
	if priv, err = crypto.ParsePrivateKeyDER(der); err != nil || !priv.Equal(device) {
		t.Fatalf("DER round trip: %v", err)
	}
}

// The device private key is kept wrapped under the device data key.
func TestPrivateKey_WrappedUnderDataKey(t *testing.T) {
	_, device := testKeys(t)
	dk := mustDataKey(t)
	der, _ := crypto.MarshalPrivateKeyDER(device)
	w, err := crypto.WrapKey(dk, der, []byte("device-key"))
	if err != nil {
		t.Fatalf("WrapKey: %v", err)
	}
	der2, err := crypto.UnwrapKey(dk, w, []byte("device-key"))
	if err != nil {
		t.Fatalf("UnwrapKey: %v", err)
	}
	priv, err := crypto.ParsePrivateKeyDER(der2)
	if err != nil || !priv.Equal(device) {
		t.Fatalf("unwrapped key: %v", err)
	}
}

func TestParseKey_Rejects(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	small, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	smallPKCS8, _ := x509.MarshalPKCS8PrivateKey(small)
	server, _ := testKeys(t)
	pubPEM, _ := crypto.MarshalPublicKeyPEM(&server.PublicKey)

	pubs := map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("not a key"),
		"ecdsa":          pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}),
		"rsa-2048":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER}),
		"wrong pem type": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&server.PublicKey)}),
	}
	for name, b := range pubs {
		if _, err := crypto.ParsePublicKeyPEM(b); !errors.Is(err, crypto.ErrKey) {
			t.Errorf("ParsePublicKeyPEM(%s): err = %v, want ErrKey", name, err)
		}
	}
	privs := map[string][]byte{
		"empty":      nil,
		"public key": pubPEM,
		"ecdsa":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8}),
		"rsa-2048":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: smallPKCS8}),
	}
	for name, b := range privs {
		if _, err := crypto.ParsePrivateKeyPEM(b); !errors.Is(err, crypto.ErrKey) {
			t.Errorf("ParsePrivateKeyPEM(%s): err = %v, want ErrKey", name, err)
		}
	}
	if _, err := crypto.Seal(&small.PublicKey, []byte("x"), ""); !errors.Is(err, crypto.ErrKey) {
		t.Errorf("Seal to RSA-2048: err = %v, want ErrKey", err)
	}
	if _, err := crypto.MarshalPublicKeyDER(nil); !errors.Is(err, crypto.ErrKey) {
		t.Errorf("MarshalPublicKeyDER(nil): err = %v, want ErrKey", err)
	}
}

func TestKeyID(t *testing.T) {
	server, device := testKeys(t)
	a, err := crypto.KeyID(&server.PublicKey)
	if err != nil {
		t.Fatalf("KeyID: %v", err)
	}
	again, _ := crypto.KeyID(&server.PublicKey)
	other, _ := crypto.KeyID(&device.PublicKey)
	if a != again || a == other || len(a) != 43 {
		t.Fatalf("KeyID: %q, again %q, other key %q", a, again, other)
	}
}
