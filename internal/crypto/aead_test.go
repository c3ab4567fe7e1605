package crypto_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

var aadRow = []byte("persons/family_name/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")

func TestEncrypt_RoundTrip(t *testing.T) {
	key := mustDataKey(t)
	for _, pt := range [][]byte{nil, {}, []byte("Mustermann"), bytes.Repeat([]byte{0xAB}, 1<<16)} {
		blob, err := crypto.Encrypt(key, pt, aadRow)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if got, want := len(blob), 1+12+len(pt)+16; got != want {
			t.Errorf("len(blob) = %d, want %d", got, want)
		}
		if blob[0] != 0x01 {
			t.Errorf("version byte = %#x, want 0x01", blob[0])
		}
		got, err := crypto.Decrypt(key, blob, aadRow)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Decrypt = %q, want %q", got, pt)
		}
	}
}

func TestEncrypt_FreshNonce(t *testing.T) {
	key := mustDataKey(t)
	a, _ := crypto.Encrypt(key, []byte("x"), nil)
	b, _ := crypto.Encrypt(key, []byte("x"), nil)
	if bytes.Equal(a[1:13], b[1:13]) || bytes.Equal(a, b) {
		t.Fatal("two encryptions share a nonce")
	}
}

func TestDecrypt_OtherAAD(t *testing.T) {
	key := mustDataKey(t)
	blob, _ := crypto.Encrypt(key, []byte("Mustermann"), aadRow)
	for _, aad := range [][]byte{
		nil,
		[]byte("persons/family_name/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"), // another record
		[]byte("persons/birth_name/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),  // another column
	} {
		if _, err := crypto.Decrypt(key, blob, aad); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("Decrypt with aad %q: err = %v, want ErrDecrypt", aad, err)
		}
	}
}

func TestDecrypt_WrongKey(t *testing.T) {
	blob, _ := crypto.Encrypt(mustDataKey(t), []byte("Mustermann"), aadRow)
	if _, err := crypto.Decrypt(mustDataKey(t), blob, aadRow); !errors.Is(err, crypto.ErrDecrypt) {
		t.Fatalf("err = %v, want ErrDecrypt", err)
	}
}

func TestDecrypt_Tampered(t *testing.T) {
	key := mustDataKey(t)
	blob, _ := crypto.Encrypt(key, []byte("Mustermann"), aadRow)
	for i := range blob {
		bad := bytes.Clone(blob)
		bad[i] ^= 0x01
		if _, err := crypto.Decrypt(key, bad, aadRow); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("byte %d flipped: err = %v, want ErrDecrypt", i, err)
		}
	}
}

func TestDecrypt_Truncated(t *testing.T) {
	key := mustDataKey(t)
	blob, _ := crypto.Encrypt(key, []byte("Mustermann"), aadRow)
	for n := range len(blob) {
		if _, err := crypto.Decrypt(key, blob[:n], aadRow); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("first %d bytes: err = %v, want ErrDecrypt", n, err)
		}
	}
	if _, err := crypto.Decrypt(key, nil, nil); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("nil blob: err = %v, want ErrDecrypt", err)
	}
}

func TestWrapKey_RoundTrip(t *testing.T) {
	kek := mustDataKey(t)
	inner := mustDataKey(t)
	w, err := crypto.WrapKey(kek, inner[:], []byte("case/42"))
	if err != nil {
		t.Fatalf("WrapKey: %v", err)
	}
	got, err := crypto.UnwrapKey(kek, w, []byte("case/42"))
	if err != nil {
		t.Fatalf("UnwrapKey: %v", err)
	}
	if !bytes.Equal(got, inner[:]) {
		t.Fatal("UnwrapKey returned another key")
	}
	if _, err := crypto.UnwrapKey(kek, w, []byte("case/43")); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("other aad: err = %v, want ErrDecrypt", err)
	}
}

// A wrapped key is not data, and data is not a wrapped key, even under the
// same key and AAD.
func TestWrapKey_SeparateFromData(t *testing.T) {
	kek := mustDataKey(t)
	w, _ := crypto.WrapKey(kek, []byte("secret"), aadRow)
	if _, err := crypto.Decrypt(kek, w, aadRow); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("Decrypt of a wrapped key: err = %v, want ErrDecrypt", err)
	}
	blob, _ := crypto.Encrypt(kek, []byte("secret"), aadRow)
	if _, err := crypto.UnwrapKey(kek, blob, aadRow); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("UnwrapKey of data: err = %v, want ErrDecrypt", err)
	}
}

func TestDataKey_Zero(t *testing.T) {
	k := mustDataKey(t)
	k.Zero()
	if k != (crypto.DataKey{}) {
		t.Fatal("Zero left key bytes")
	}
}

func TestNewDataKey_Distinct(t *testing.T) {
	if mustDataKey(t) == mustDataKey(t) {
		t.Fatal("two data keys are equal")
	}
}

func FuzzDecrypt(f *testing.F) {
	var key crypto.DataKey // fixed key, so that seeds can be valid
	key[0] = 1
	valid, _ := crypto.Encrypt(key, []byte("Mustermann"), []byte("aad"))
	f.Add(valid, []byte("aad"))
	f.Add(valid[:len(valid)-1], []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x01}, []byte{})
	f.Add(bytes.Repeat([]byte{0x01}, 29), []byte{})
	f.Fuzz(func(t *testing.T, blob, aad []byte) {
		pt, err := crypto.Decrypt(key, blob, aad)
		if err != nil {
			if !errors.Is(err, crypto.ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
			return
		}
		// Only a genuine ciphertext may decrypt. The fuzzing workers run
		// this function anew, each with its own nonce, so compare what it
		// holds rather than the blob.
		if string(pt) != "Mustermann" || string(aad) != "aad" {
			t.Fatalf("forged blob decrypted: %x", blob)
		}
	})
}

func BenchmarkEncrypt1KiB(b *testing.B) {
	key := mustDataKey(b)
	pt := make([]byte, 1024)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.Encrypt(key, pt, aadRow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt1KiB(b *testing.B) {
	key := mustDataKey(b)
	blob, _ := crypto.Encrypt(key, make([]byte, 1024), aadRow)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.Decrypt(key, blob, aadRow); err != nil {
			b.Fatal(err)
		}
	}
}
