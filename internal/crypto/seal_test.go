package crypto_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/buergerkoffer/kit/internal/crypto"
)

// protectedHeader decodes the first part of a compact JWE.
func protectedHeader(t *testing.T, compact string) map[string]any {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 5 {
		t.Fatalf("compact JWE has %d parts, want 5", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	return h
}

func TestSeal_RoundTrip(t *testing.T) {
	server, _ := testKeys(t)
	kid, _ := crypto.KeyID(&server.PublicKey)
	msg := []byte(`{"family_name":"Mustermann","given_names":"Erika"}`)
	compact, err := crypto.Seal(&server.PublicKey, msg, kid)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	h := protectedHeader(t, compact)
	if h["alg"] != "RSA-OAEP-256" || h["enc"] != "A256GCM" || h["kid"] != kid {
		t.Errorf("header = %v, want alg RSA-OAEP-256, enc A256GCM, kid %s", h, kid)
	}
	if _, ok := h["zip"]; ok {
		t.Error("header has zip")
	}
	if strings.Contains(compact, "Mustermann") {
		t.Error("JWE shows the plaintext")
	}
	got, err := crypto.Open(server, compact)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, want %q", got, msg)
	}
}

func TestOpen_WrongKey(t *testing.T) {
	server, device := testKeys(t)
	compact, _ := crypto.Seal(&server.PublicKey, []byte("Mustermann"), "")
	if _, err := crypto.Open(device, compact); !errors.Is(err, crypto.ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
}

func TestOpen_Tampered(t *testing.T) {
	server, _ := testKeys(t)
	compact, _ := crypto.Seal(&server.PublicKey, []byte("Mustermann"), "kid-1")
	parts := strings.Split(compact, ".")
	for i := range parts {
		p := bytes.Clone([]byte(compact))
		// Flip a character in the middle of part i.
		off := strings.Index(compact, parts[i]) + len(parts[i])/2
		if len(parts[i]) == 0 {
			continue
		}
		if p[off] == 'A' {
			p[off] = 'B'
		} else {
			p[off] = 'A'
		}
		if _, err := crypto.Open(server, string(p)); !errors.Is(err, crypto.ErrOpen) {
			t.Errorf("part %d altered: err = %v, want ErrOpen", i, err)
		}
	}
	for _, bad := range []string{"", "a.b.c.d", "....", compact + ".x"} {
		if _, err := crypto.Open(server, bad); !errors.Is(err, crypto.ErrOpen) {
			t.Errorf("Open(%q): err = %v, want ErrOpen", bad, err)
		}
	}
}

// Only RSA-OAEP-256 with A256GCM and no compression is accepted.
func TestOpen_OtherAlgorithms(t *testing.T) {
	server, _ := testKeys(t)
	seal := func(alg jose.KeyAlgorithm, enc jose.ContentEncryption, opts *jose.EncrypterOptions) string {
		e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: alg, Key: &server.PublicKey}, opts)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := e.Encrypt([]byte("Mustermann"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := map[string]string{
		"RSA-OAEP":      seal(jose.RSA_OAEP, jose.A256GCM, nil),
		"RSA1_5":        seal(jose.RSA1_5, jose.A256GCM, nil),
		"A128GCM":       seal(jose.RSA_OAEP_256, jose.A128GCM, nil),
		"A256CBC-HS512": seal(jose.RSA_OAEP_256, jose.A256CBC_HS512, nil),
		"zip":           seal(jose.RSA_OAEP_256, jose.A256GCM, &jose.EncrypterOptions{Compression: jose.DEFLATE}),
	}
	for name, compact := range tests {
		if _, err := crypto.Open(server, compact); !errors.Is(err, crypto.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

// A case is sealed with one RSA operation: the content key is sealed for
// the server, the values under the content key.
func TestContentKey_RoundTrip(t *testing.T) {
	server, _ := testKeys(t)
	kid, _ := crypto.KeyID(&server.PublicKey)
	ck, err := crypto.NewContentKey()
	if err != nil {
		t.Fatalf("NewContentKey: %v", err)
	}
	sealedKey, err := crypto.SealKey(&server.PublicKey, ck, kid)
	if err != nil {
		t.Fatalf("SealKey: %v", err)
	}
	h := protectedHeader(t, sealedKey)
	if h["alg"] != "RSA-OAEP-256" || h["enc"] != "A256GCM" || h["kid"] != kid || h["cty"] != "buergerkoffer-content-key" {
		t.Errorf("header = %v", h)
	}

	values := map[string]string{
		"change/0190a1b2/family_name": "Mustermann",
		"change/0190a1b2/given_names": "Erika",
		"change/0190a1b2/birth_date":  "1964-08-12",
	}
	sealed := map[string][]byte{}
	for aad, v := range values {
		if sealed[aad], err = crypto.SealValue(ck, []byte(v), []byte(aad)); err != nil {
			t.Fatalf("SealValue: %v", err)
		}
	}
	ck.Zero()

	// On the server.
	opened, err := crypto.OpenKey(server, sealedKey)
	if err != nil {
		t.Fatalf("OpenKey: %v", err)
	}
	for aad, blob := range sealed {
		got, err := crypto.OpenValue(opened, blob, []byte(aad))
		if err != nil {
			t.Fatalf("OpenValue(%s): %v", aad, err)
		}
		if string(got) != values[aad] {
			t.Errorf("OpenValue(%s) = %q, want %q", aad, got, values[aad])
		}
	}
	// A value moved to another field does not open.
	if _, err := crypto.OpenValue(opened, sealed["change/0190a1b2/family_name"], []byte("change/0190a1b2/given_names")); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("moved value: err = %v, want ErrDecrypt", err)
	}
}

func TestOpenKey_Rejects(t *testing.T) {
	server, device := testKeys(t)
	ck, _ := crypto.NewContentKey()
	sealedKey, _ := crypto.SealKey(&server.PublicKey, ck, "")
	if _, err := crypto.OpenKey(device, sealedKey); !errors.Is(err, crypto.ErrOpen) {
		t.Errorf("wrong private key: err = %v, want ErrOpen", err)
	}
	// A sealed message of 32 bytes is not a content key.
	msg, _ := crypto.Seal(&server.PublicKey, ck[:], "")
	if _, err := crypto.OpenKey(server, msg); !errors.Is(err, crypto.ErrOpen) {
		t.Errorf("sealed message: err = %v, want ErrOpen", err)
	}
	if _, err := crypto.OpenKey(nil, sealedKey); !errors.Is(err, crypto.ErrKey) {
		t.Errorf("nil key: err = %v, want ErrKey", err)
	}
}

// Values sealed for the server are not device data, even if the keys were
// equal.
func TestSealValue_SeparateFromData(t *testing.T) {
	ck, _ := crypto.NewContentKey()
	blob, _ := crypto.SealValue(ck, []byte("Mustermann"), aadRow)
	if _, err := crypto.Decrypt(crypto.DataKey(ck), blob, aadRow); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("err = %v, want ErrDecrypt", err)
	}
	if _, err := crypto.OpenValue(ck, blob[:5], aadRow); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("truncated: err = %v, want ErrDecrypt", err)
	}
}

func BenchmarkSealValue200B(b *testing.B) {
	ck, _ := crypto.NewContentKey()
	pt := make([]byte, 200)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.SealValue(ck, pt, aadRow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealKey(b *testing.B) {
	server, _ := testKeys(b)
	ck, _ := crypto.NewContentKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.SealKey(&server.PublicKey, ck, "kid"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenKey(b *testing.B) {
	server, _ := testKeys(b)
	ck, _ := crypto.NewContentKey()
	sealedKey, _ := crypto.SealKey(&server.PublicKey, ck, "kid")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.OpenKey(server, sealedKey); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSealedKeyID(t *testing.T) {
	server, _ := testKeys(t)
	kid, _ := crypto.KeyID(&server.PublicKey)
	ck, err := crypto.NewContentKey()
	if err != nil {
		t.Fatal(err)
	}
	compact, err := crypto.SealKey(&server.PublicKey, ck, kid)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := crypto.SealedKeyID(compact); err != nil || got != kid {
		t.Errorf("SealedKeyID = %q, %v; want %q", got, err, kid)
	}
	if _, err := crypto.SealedKeyID("not.a.jwe"); !errors.Is(err, crypto.ErrOpen) {
		t.Errorf("SealedKeyID of garbage: %v, want ErrOpen", err)
	}
}
