package fitconnecttest

// The throwaway PKI: a root CA and an intermediate (ECDSA, quick to make), under them the destination's
// encryption certificate and signature certificate (RSA). RSA keys are cached per process and role, so a
// test run generates each size once; certificates are fresh per Service.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key roles; each has its own key so that a client that mixes them up is caught.
const (
	roleEncryption = "destination-encryption"
	roleSignature  = "destination-signature"
	roleService    = "submission-service"
)

type cachedKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

var rsaKeys sync.Map // "role/bits" → *cachedKey

// rsaKey returns the process-wide key of a role and size, generating it on first use.
func rsaKey(role string, bits int) (*rsa.PrivateKey, error) {
	v, _ := rsaKeys.LoadOrStore(fmt.Sprintf("%s/%d", role, bits), &cachedKey{})
	c := v.(*cachedKey)
	c.once.Do(func() { c.key, c.err = rsa.GenerateKey(rand.Reader, bits) })
	if c.err != nil {
		return nil, fmt.Errorf("generate %d-bit RSA key for %s: %w", bits, role, c.err)
	}
	return c.key, nil
}

type pki struct {
	root *x509.Certificate

	encKey *rsa.PrivateKey
	encKid string
	encJWK map[string]any

	sigKey *rsa.PrivateKey
	sigKid string
	sigJWK map[string]any

	svcKey  *rsa.PrivateKey
	svcKid  string
	svcJWKS map[string]any
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	root *x509.Certificate // the CA above, for an intermediate
}

func newPKI(opt Options) (*pki, error) {
	enc, sig, svc, err := pkiKeys(opt.KeyBits, opt.EventKeyBits)
	if err != nil {
		return nil, err
	}
	root, inter, err := newChain("Bürgerkoffer Test Root CA")
	if err != nil {
		return nil, err
	}
	encIssuer := inter
	if opt.WrongRoot {
		if _, encIssuer, err = newChain("Foreign Test Root CA"); err != nil {
			return nil, err
		}
	}
	p := &pki{root: root.cert, encKey: enc, sigKey: sig, svcKey: svc}
	if err := p.publishEncryption(encIssuer, opt.OmitWrapKey); err != nil {
		return nil, err
	}
	if err := p.publishSignature(inter); err != nil {
		return nil, err
	}
	return p, p.publishService()
}

// pkiKeys fetches the three keys in parallel; on a cold cache that is the expensive part.
func pkiKeys(encBits, sigBits int) (enc, sig, svc *rsa.PrivateKey, err error) {
	var wg sync.WaitGroup
	var errs [3]error
	wg.Add(3)
	go func() { defer wg.Done(); enc, errs[0] = rsaKey(roleEncryption, encBits) }()
	go func() { defer wg.Done(); sig, errs[1] = rsaKey(roleSignature, sigBits) }()
	go func() { defer wg.Done(); svc, errs[2] = rsaKey(roleService, sigBits) }()
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, nil, nil, e
		}
	}
	return enc, sig, svc, nil
}

// newChain makes a root CA and an intermediate CA under it.
func newChain(name string) (root, inter authority, err error) {
	root, err = newCA(name, nil, 1)
	if err != nil {
		return root, inter, err
	}
	inter, err = newCA(name+" Intermediate", &root, 0)
	return root, inter, err
}

func newCA(name string, parent *authority, pathLen int) (authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return authority{}, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := certTemplate(name)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLen = pathLen
	tmpl.MaxPathLenZero = pathLen == 0
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	issuer, signer, above := tmpl, crypto.Signer(key), (*x509.Certificate)(nil)
	if parent != nil {
		issuer, signer, above = parent.cert, parent.key, parent.cert
	}
	cert, err := signCert(tmpl, issuer, &key.PublicKey, signer)
	return authority{cert: cert, key: key, root: above}, err
}

func newLeaf(name string, pub *rsa.PublicKey, issuer authority, usage x509.KeyUsage) (*x509.Certificate, error) {
	tmpl := certTemplate(name)
	tmpl.KeyUsage = usage
	tmpl.BasicConstraintsValid = true
	return signCert(tmpl, issuer.cert, pub, issuer.key)
}

func certTemplate(name string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)) // crypto/rand does not fail
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Bürgerkoffer fitconnecttest"}, Country: []string{"DE"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 24 * time.Hour),
	}
}

func signCert(tmpl, issuer *x509.Certificate, pub any, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// publishEncryption makes the encryption certificate and the JWK the destination publishes for it.
func (p *pki) publishEncryption(issuer authority, omitWrapKey bool) error {
	cert, err := newLeaf("Zustellpunkt Verschlüsselung", &p.encKey.PublicKey, issuer, x509.KeyUsageKeyEncipherment)
	if err != nil {
		return err
	}
	ops := []string{"wrapKey"}
	if omitWrapKey {
		ops = []string{"encrypt"}
	}
	p.encKid, p.encJWK, err = publicJWK(&p.encKey.PublicKey, "RSA-OAEP-256", ops, cert, issuer)
	return err
}

// publishSignature makes the signature certificate and the JWK that verifies the authority's events.
func (p *pki) publishSignature(issuer authority) error {
	cert, err := newLeaf("Zustellpunkt Signatur", &p.sigKey.PublicKey, issuer, x509.KeyUsageDigitalSignature)
	if err != nil {
		return err
	}
	p.sigKid, p.sigJWK, err = publicJWK(&p.sigKey.PublicKey, "PS512", []string{"verify"}, cert, issuer)
	return err
}

// publishService makes the submission service's JWKS (no certificate: it is trusted by its URL).
func (p *pki) publishService() error {
	kid, jwk, err := publicJWK(&p.svcKey.PublicKey, "PS512", []string{"verify"}, nil, authority{})
	if err != nil {
		return err
	}
	p.svcKid = kid
	p.svcJWKS = map[string]any{"keys": []any{jwk}}
	return nil
}

// publicJWK renders a public key as FIT-Connect publishes it: kid is the RFC 7638 thumbprint, key_ops and
// alg are set, and x5c carries leaf, intermediate and the intermediate's root.
func publicJWK(pub *rsa.PublicKey, alg string, ops []string, leaf *x509.Certificate, issuer authority) (string, map[string]any, error) {
	k := jose.JSONWebKey{Key: pub, Algorithm: alg}
	thumb, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", nil, fmt.Errorf("thumbprint: %w", err)
	}
	k.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	raw, err := k.MarshalJSON()
	if err != nil {
		return "", nil, fmt.Errorf("marshal JWK: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, fmt.Errorf("re-read JWK: %w", err)
	}
	m["key_ops"] = ops
	if leaf != nil {
		m["x5c"] = x5c(leaf, issuer)
	}
	return k.KeyID, m, nil
}

// x5c is the chain leaf → intermediate → root, each standard base64 DER (RFC 7517 §4.7).
func x5c(leaf *x509.Certificate, issuer authority) []string {
	chain := []string{base64.StdEncoding.EncodeToString(leaf.Raw), base64.StdEncoding.EncodeToString(issuer.cert.Raw)}
	if issuer.root != nil {
		chain = append(chain, base64.StdEncoding.EncodeToString(issuer.root.Raw))
	}
	return chain
}
