package crypto_test

// RSA-3072 generation takes a second or more, so each test binary makes its
// two key pairs once, on first use.

import (
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

var (
	keysOnce       sync.Once
	serverKey      *rsa.PrivateKey
	deviceKey      *rsa.PrivateKey
	errGenerateKey error
)

// testKeys returns two distinct RSA-3072 key pairs: "server" and "device".
func testKeys(tb testing.TB) (server, device *rsa.PrivateKey) {
	tb.Helper()
	s, d, err := sharedKeys()
	if err != nil {
		tb.Fatalf("GenerateKeyPair: %v", err)
	}
	return s, d
}

func sharedKeys() (server, device *rsa.PrivateKey, err error) {
	keysOnce.Do(func() {
		if serverKey, errGenerateKey = crypto.GenerateKeyPair(); errGenerateKey != nil {
			return
		}
		deviceKey, errGenerateKey = crypto.GenerateKeyPair()
	})
	return serverKey, deviceKey, errGenerateKey
}

// mustDataKey returns a fresh data key or stops the test.
func mustDataKey(tb testing.TB) crypto.DataKey {
	tb.Helper()
	k, err := crypto.NewDataKey()
	if err != nil {
		tb.Fatalf("NewDataKey: %v", err)
	}
	return k
}
