package fitconnect

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// minRSABits is FITKO's minimum for every RSA key (encryption and signature).
const minRSABits = 4096

// jwk is a JSON Web Key as the Submission API publishes it.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5c    []string `json:"x5c"`
}

// keyPolicy is what a key must be for one purpose.
type keyPolicy struct {
	op, alg    string
	needsChain bool // x5c must chain to a trust anchor
}

var (
	encryptionPolicy = keyPolicy{op: "wrapKey", alg: "RSA-OAEP-256", needsChain: true}
	destSigPolicy    = keyPolicy{op: "verify", alg: "PS512", needsChain: true}
)

// checkKey returns the RSA public key of k if k passes every check of policy p.
func checkKey(k jwk, p keyPolicy, anchors *x509.CertPool, now time.Time) (*rsa.PublicKey, error) {
	pub, err := rsaPublic(k)
	if err != nil {
		return nil, err
	}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("%w (%d bits)", ErrKeyTooShort, bits)
	}
	if !slices.Contains(k.KeyOps, p.op) {
		return nil, fmt.Errorf("%w (need %s)", ErrKeyOps, p.op)
	}
	if k.Alg != p.alg {
		return nil, fmt.Errorf("%w (need %s)", ErrKeyAlg, p.alg)
	}
	if p.needsChain {
		if err := checkChain(k.X5c, pub, anchors, now); err != nil {
			return nil, err
		}
	}
	return pub, nil
}

func rsaPublic(k jwk) (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("%w (kty is not RSA)", ErrKeyMalformed)
	}
	n, errN := base64.RawURLEncoding.DecodeString(k.N)
	e, errE := base64.RawURLEncoding.DecodeString(k.E)
	if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("%w (n or e)", ErrKeyMalformed)
	}
	exp := new(big.Int).SetBytes(e).Int64()
	if exp < 3 || exp%2 == 0 {
		return nil, fmt.Errorf("%w (exponent)", ErrKeyMalformed)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}, nil
}

// checkChain: the leaf of x5c holds pub, and the chain validates to a trust anchor now.
func checkChain(x5c []string, pub *rsa.PublicKey, anchors *x509.CertPool, now time.Time) error {
	if len(x5c) == 0 {
		return fmt.Errorf("%w (no x5c)", ErrKeyChain)
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, b64 := range x5c {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return fmt.Errorf("%w (x5c[%d] is not base64)", ErrKeyChain, i)
		}
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return fmt.Errorf("%w (x5c[%d]: %v)", ErrKeyChain, i, err)
		}
	}
	if leafKey, ok := certs[0].PublicKey.(*rsa.PublicKey); !ok || !leafKey.Equal(pub) {
		return ErrKeyMismatch
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Roots: anchors, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("%w: %v", ErrKeyChain, err)
	}
	return nil
}
