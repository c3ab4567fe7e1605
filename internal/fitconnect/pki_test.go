package fitconnect_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"sync"
	"testing"
	"time"
)

// testKeys are generated once per test binary: RSA 4096 is slow.
type testKeys struct {
	enc, sig, svc, svc2 *rsa.PrivateKey // 4096 bits
	short               *rsa.PrivateKey // 2048 bits
}

var (
	keysOnce sync.Once
	keys     testKeys
)

func loadKeys(t testing.TB) testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var wg sync.WaitGroup
		gen := func(dst **rsa.PrivateKey, bits int) {
			defer wg.Done()
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			*dst = k
		}
		wg.Add(5)
		go gen(&keys.enc, 4096)
		go gen(&keys.sig, 4096)
		go gen(&keys.svc, 4096)
		go gen(&keys.svc2, 4096)
		go gen(&keys.short, 2048)
		wg.Wait()
	})
	return keys
}

// testCA is a root with one intermediate, like the administration PKI.
type testCA struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	pool              *x509.CertPool
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	ca := &testCA{rootKey: ecKey(t), interKey: ecKey(t)}
	ca.root = mustCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name + " root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, &ca.rootKey.PublicKey, ca.rootKey)
	ca.inter = mustCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: name + " intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, ca.root, &ca.interKey.PublicKey, ca.rootKey)
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(ca.root)
	return ca
}

// x5c is the chain (leaf, intermediate) for pub, base64 DER as in a JWK.
func (ca *testCA) x5c(t testing.TB, pub *rsa.PublicKey) []string {
	t.Helper()
	leaf := mustCert(t, &x509.Certificate{
		Subject:  pkix.Name{CommonName: "destination key"},
		KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}, ca.inter, pub, ca.interKey)
	return []string{
		base64.StdEncoding.EncodeToString(leaf.Raw),
		base64.StdEncoding.EncodeToString(ca.inter.Raw),
	}
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64

func mustCert(t testing.TB, tmpl, parent *x509.Certificate, pub any, signer *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// publicJWK is a JWK of pub as the Submission API publishes it.
func publicJWK(pub *rsa.PublicKey, kid, alg string, ops []string, x5c []string) map[string]any {
	m := map[string]any{
		"kty": "RSA", "kid": kid, "alg": alg, "key_ops": ops,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
	if x5c != nil {
		m["x5c"] = x5c
	}
	return m
}
