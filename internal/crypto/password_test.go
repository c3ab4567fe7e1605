package crypto_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

var (
	password      = []byte("Korrekt Pferd Batterie Heftklammer")
	otherPassword = []byte("Sommer2026!")
)

func mustWrap(t *testing.T, dk crypto.DataKey) crypto.WrappedKey {
	t.Helper()
	w, err := crypto.WrapWithPassword(dk, password, crypto.TestKDFParams())
	if err != nil {
		t.Fatalf("WrapWithPassword: %v", err)
	}
	return w
}

func TestWrapWithPassword_RoundTrip(t *testing.T) {
	dk := mustDataKey(t)
	got, err := crypto.UnwrapWithPassword(mustWrap(t, dk), password)
	if err != nil {
		t.Fatalf("UnwrapWithPassword: %v", err)
	}
	if got != dk {
		t.Fatal("UnwrapWithPassword returned another key")
	}
}

func TestUnwrapWithPassword_WrongPassword(t *testing.T) {
	w := mustWrap(t, mustDataKey(t))
	for _, pw := range [][]byte{otherPassword, nil, password[:len(password)-1]} {
		_, err := crypto.UnwrapWithPassword(w, pw)
		if !errors.Is(err, crypto.ErrWrongPassword) {
			t.Fatalf("err = %v, want ErrWrongPassword", err)
		}
		if len(pw) > 0 && strings.Contains(err.Error(), string(pw)) {
			t.Errorf("error %q reveals the password", err)
		}
	}
}

func TestUnwrapWithPassword_TamperedParams(t *testing.T) {
	tests := map[string]func(*crypto.KDFParams){
		"time":    func(p *crypto.KDFParams) { p.Time++ },
		"memory":  func(p *crypto.KDFParams) { p.MemoryKiB += 8 },
		"threads": func(p *crypto.KDFParams) { p.Threads++ },
		"salt":    func(p *crypto.KDFParams) { p.Salt[0] ^= 1 },
		"alg":     func(p *crypto.KDFParams) { p.Alg = "argon2i" },
		"huge":    func(p *crypto.KDFParams) { p.MemoryKiB = 1 << 30 },
		"no salt": func(p *crypto.KDFParams) { p.Salt = nil },
		"no time": func(p *crypto.KDFParams) { p.Time = 0 },
	}
	for name, tamper := range tests {
		t.Run(name, func(t *testing.T) {
			w := mustWrap(t, mustDataKey(t))
			tamper(&w.KDF)
			_, err := crypto.UnwrapWithPassword(w, password)
			if !errors.Is(err, crypto.ErrWrongPassword) && !errors.Is(err, crypto.ErrKDFParams) {
				t.Fatalf("err = %v, want ErrWrongPassword or ErrKDFParams", err)
			}
		})
	}
}

func TestUnwrapWithPassword_TamperedCiphertext(t *testing.T) {
	w := mustWrap(t, mustDataKey(t))
	for i := range w.Ciphertext {
		bad := w
		bad.Ciphertext = bytes.Clone(w.Ciphertext)
		bad.Ciphertext[i] ^= 0x80
		if _, err := crypto.UnwrapWithPassword(bad, password); !errors.Is(err, crypto.ErrWrongPassword) {
			t.Fatalf("byte %d flipped: err = %v, want ErrWrongPassword", i, err)
		}
	}
	bad := w
	bad.Ciphertext = w.Ciphertext[:10]
	if _, err := crypto.UnwrapWithPassword(bad, password); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Fatalf("truncated: err = %v, want ErrWrongPassword", err)
	}
}

func TestWrappedKey_JSON(t *testing.T) {
	dk := mustDataKey(t)
	w := mustWrap(t, dk)
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var fields struct {
		KDF        map[string]any `json:"kdf"`
		Ciphertext string         `json:"ciphertext"`
	}
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	for _, k := range []string{"alg", "time", "memory_kib", "threads", "salt"} {
		if _, ok := fields.KDF[k]; !ok {
			t.Errorf("JSON %s lacks kdf.%s", b, k)
		}
	}
	if fields.KDF["alg"] != "argon2id" || fields.Ciphertext == "" {
		t.Errorf("JSON %s", b)
	}
	var back crypto.WrappedKey
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if got, err := crypto.UnwrapWithPassword(back, password); err != nil || got != dk {
		t.Fatalf("UnwrapWithPassword after JSON: key equal %v, err %v", got == dk, err)
	}
}

func TestChangePassword_KeepsDataKey(t *testing.T) {
	dk := mustDataKey(t)
	old := mustWrap(t, dk)
	blob, _ := crypto.Encrypt(dk, []byte("Mustermann"), aadRow)

	changed, err := crypto.ChangePassword(old, password, otherPassword, old.KDF)
	if err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if bytes.Equal(changed.KDF.Salt, old.KDF.Salt) {
		t.Error("ChangePassword reused the salt")
	}
	if _, err := crypto.UnwrapWithPassword(changed, password); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Errorf("old password on new wrap: err = %v, want ErrWrongPassword", err)
	}
	got, err := crypto.UnwrapWithPassword(changed, otherPassword)
	if err != nil {
		t.Fatalf("UnwrapWithPassword(new): %v", err)
	}
	if got != dk {
		t.Fatal("data key changed with the password")
	}
	if pt, err := crypto.Decrypt(got, blob, aadRow); err != nil || string(pt) != "Mustermann" {
		t.Fatalf("old data after password change: %q, %v", pt, err)
	}

	if _, err := crypto.ChangePassword(old, otherPassword, password, old.KDF); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Errorf("ChangePassword with wrong old password: err = %v, want ErrWrongPassword", err)
	}
}

func TestWrapWithPassword_Rejects(t *testing.T) {
	dk := mustDataKey(t)
	if _, err := crypto.WrapWithPassword(dk, nil, crypto.TestKDFParams()); !errors.Is(err, crypto.ErrEmptyPassword) {
		t.Errorf("empty password: err = %v, want ErrEmptyPassword", err)
	}
	p := crypto.TestKDFParams()
	p.Alg = "scrypt"
	if _, err := crypto.WrapWithPassword(dk, password, p); !errors.Is(err, crypto.ErrKDFParams) {
		t.Errorf("alg scrypt: err = %v, want ErrKDFParams", err)
	}
	p = crypto.TestKDFParams()
	p.Salt = []byte("short")
	if _, err := crypto.WrapWithPassword(dk, password, p); !errors.Is(err, crypto.ErrKDFParams) {
		t.Errorf("short salt: err = %v, want ErrKDFParams", err)
	}
}

func TestWrapWithPassword_Salt(t *testing.T) {
	dk := mustDataKey(t)
	p := crypto.TestKDFParams()
	p.Salt = nil
	w, err := crypto.WrapWithPassword(dk, password, p)
	if err != nil {
		t.Fatalf("WrapWithPassword: %v", err)
	}
	if len(w.KDF.Salt) != 16 {
		t.Errorf("drawn salt has %d bytes, want 16", len(w.KDF.Salt))
	}
	p = crypto.TestKDFParams()
	w, _ = crypto.WrapWithPassword(dk, password, p)
	p.Salt[0] ^= 1 // the caller's slice must not be shared
	if _, err := crypto.UnwrapWithPassword(w, password); err != nil {
		t.Errorf("WrappedKey aliases the caller's salt: %v", err)
	}
}

func TestDefaultKDFParams(t *testing.T) {
	p, q := crypto.DefaultKDFParams(), crypto.DefaultKDFParams()
	if p.Alg != "argon2id" || p.Time != 3 || p.MemoryKiB != 64*1024 || p.Threads != 4 || len(p.Salt) != 16 {
		t.Errorf("DefaultKDFParams = %+v", p)
	}
	if bytes.Equal(p.Salt, q.Salt) {
		t.Error("DefaultKDFParams repeats its salt")
	}
}

func BenchmarkUnwrapWithPasswordDefault(b *testing.B) {
	w, err := crypto.WrapWithPassword(mustDataKey(b), password, crypto.DefaultKDFParams())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypto.UnwrapWithPassword(w, password); err != nil {
			b.Fatal(err)
		}
	}
}
