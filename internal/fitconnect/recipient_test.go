package fitconnect_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

func TestRecipient_AcceptsAGoodKey(t *testing.T) {
	w := newWorld(t)
	r, err := w.c.Recipient(context.Background(), w.f.destID(), testService)
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationID != w.f.destID() || r.Kid != encKid || r.Service != testService {
		t.Fatalf("recipient = %+v", r)
	}
	if !r.Accepts("https://example.org/hund.schema.json", "application/json") ||
		r.Accepts("https://example.org/katze.schema.json", "application/json") ||
		r.Accepts("https://example.org/hund.schema.json", "application/xml") {
		t.Fatalf("schemas = %+v", r.Schemas)
	}
}

func TestRecipient_RefusesKeys(t *testing.T) {
	w := newWorld(t)
	enc := &w.keys.enc.PublicKey
	other := newCA(t, "fremde PKI")
	cases := []struct {
		name string
		jwk  map[string]any
		want error
	}{
		{"2048 bits", publicJWK(&w.keys.short.PublicKey, encKid, "RSA-OAEP-256", []string{"wrapKey"},
			w.ca.x5c(t, &w.keys.short.PublicKey)), fitconnect.ErrKeyTooShort},
		{"no wrapKey", publicJWK(enc, encKid, "RSA-OAEP-256", []string{"encrypt"}, w.ca.x5c(t, enc)), fitconnect.ErrKeyOps},
		{"alg RSA-OAEP", publicJWK(enc, encKid, "RSA-OAEP", []string{"wrapKey"}, w.ca.x5c(t, enc)), fitconnect.ErrKeyAlg},
		{"alg missing", publicJWK(enc, encKid, "", []string{"wrapKey"}, w.ca.x5c(t, enc)), fitconnect.ErrKeyAlg},
		{"chain to another root", publicJWK(enc, encKid, "RSA-OAEP-256", []string{"wrapKey"}, other.x5c(t, enc)), fitconnect.ErrKeyChain},
		{"no x5c", publicJWK(enc, encKid, "RSA-OAEP-256", []string{"wrapKey"}, nil), fitconnect.ErrKeyChain},
		{"leaf holds another key", publicJWK(enc, encKid, "RSA-OAEP-256", []string{"wrapKey"},
			w.ca.x5c(t, &w.keys.sig.PublicKey)), fitconnect.ErrKeyMismatch},
		{"not RSA", map[string]any{"kty": "EC", "kid": encKid, "alg": "RSA-OAEP-256", "key_ops": []string{"wrapKey"}},
			fitconnect.ErrKeyMalformed},
		{"kid of another key", publicJWK(enc, "enc-2", "RSA-OAEP-256", []string{"wrapKey"}, w.ca.x5c(t, enc)),
			fitconnect.ErrKeyMalformed},
	}
	for _, tc := range cases {
		w.f.keys[encKid] = tc.jwk
		_, err := w.c.Recipient(context.Background(), w.f.destID(), testService)
		if !errors.Is(err, tc.want) || !errors.Is(err, fitconnect.ErrKeyRefused) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestRecipient_RefusesExpiredCertificate(t *testing.T) {
	w := newWorld(t)
	w.f.clock.Advance(48 * time.Hour) // the test certificates are valid for 24 hours
	w.f.tokenLifetime = 100 * time.Hour
	_, err := w.c.Recipient(context.Background(), w.f.destID(), testService)
	if !errors.Is(err, fitconnect.ErrKeyChain) {
		t.Fatalf("err = %v, want ErrKeyChain", err)
	}
}

func TestRecipient_RefusesDestination(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.c.Recipient(ctx, w.f.destID(), fitconnect.ServiceType{Identifier: "urn:de:fim:leika:leistung:99000000000000"})
	if !errors.Is(err, fitconnect.ErrServiceNotOffered) {
		t.Fatalf("other service: err = %v, want ErrServiceNotOffered", err)
	}
	w.f.destination["metadataVersions"] = []string{"1.2.0"}
	if _, err := w.c.Recipient(ctx, w.f.destID(), testService); !errors.Is(err, fitconnect.ErrMetadataVersion) {
		t.Fatalf("metadata 1.2.0 only: err = %v, want ErrMetadataVersion", err)
	}
	w.f.destination["metadataVersions"] = []string{fitconnect.MetadataVersion}
	for _, status := range []string{"created", "inactive", "archived", ""} {
		w.f.destination["status"] = status
		_, err := w.c.Recipient(ctx, w.f.destID(), testService)
		if !errors.Is(err, fitconnect.ErrDestinationInactive) {
			t.Fatalf("status %q: err = %v, want ErrDestinationInactive", status, err)
		}
	}
}

func TestEncrypt_DecryptsWithThePrivateKey(t *testing.T) {
	w := newWorld(t)
	r, err := w.c.Recipient(context.Background(), w.f.destID(), testService)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"hund":{"name":"Bello"}}`)
	compact, err := r.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(compact, "."); n != 4 {
		t.Fatalf("not a compact JWE: %d dots", n)
	}
	var hdr map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(compact, ".", 2)[0])
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr["alg"] != "RSA-OAEP-256" || hdr["enc"] != "A256GCM" || hdr["kid"] != encKid {
		t.Fatalf("header = %v", hdr)
	}
	if _, zip := hdr["zip"]; zip {
		t.Fatalf("header has zip: %v", hdr)
	}
	obj, err := jose.ParseEncrypted(compact, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	got, err := obj.Decrypt(w.keys.enc)
	if err != nil || string(got) != string(plain) {
		t.Fatalf("decrypt = %q, %v", got, err)
	}
	if _, err := obj.Decrypt(w.keys.sig); err == nil {
		t.Fatal("another private key decrypts the JWE")
	}
	empty, err := r.Encrypt(nil)
	if err != nil {
		t.Fatalf("empty attachment: %v", err)
	}
	obj, err = jose.ParseEncrypted(empty, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := obj.Decrypt(w.keys.enc); err != nil || len(got) != 0 {
		t.Fatalf("empty attachment decrypts to %q, %v", got, err)
	}
}

func TestEncrypt_RefusesUncheckedRecipient(t *testing.T) {
	if _, err := (fitconnect.Recipient{Kid: "x"}).Encrypt([]byte("x")); err == nil {
		t.Fatal("a recipient that did not pass the key checks encrypts")
	}
}
