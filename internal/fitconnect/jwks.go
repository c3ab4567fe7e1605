package fitconnect

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
)

// errUnknownKid: the submission service's JWKS has no usable key of that id.
var errUnknownKid = errors.New("kid not in the submission service's JWKS")

// jwksCache holds the submission service's checked signature keys by kid.
type jwksCache struct {
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

// key returns the key of kid. An unknown kid fetches the JWKS unless *fetched says this
// poll already did: a poll fetches it at most once.
func (j *jwksCache) key(ctx context.Context, c *Client, kid string, fetched *bool) (*rsa.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if k, ok := j.keys[kid]; ok {
		return k, nil
	}
	if *fetched {
		return nil, errUnknownKid
	}
	keys, err := fetchJWKS(ctx, c)
	if err != nil {
		return nil, err
	}
	j.keys, *fetched = keys, true
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKid
}

// fetchJWKS is GET /.well-known/jwks.json of the Submission API host. Keys that fail the
// checks (RSA >= 4096, PS512, for verifying) are left out.
func fetchJWKS(ctx context.Context, c *Client) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	err := c.do(ctx, call{op: "get submission service JWKS", method: http.MethodGet,
		url: c.origin() + "/.well-known/jwks.json", out: &set})
	if err != nil {
		return nil, err
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if pub, err := checkServiceKey(k); err == nil && k.Kid != "" {
			keys[k.Kid] = pub
		}
	}
	return keys, nil
}

// checkServiceKey: the service's keys carry no certificate; they must be RSA >= 4096 and,
// where alg, use and key_ops are given, meant for PS512 signatures.
func checkServiceKey(k jwk) (*rsa.PublicKey, error) {
	pub, err := rsaPublic(k)
	if err != nil {
		return nil, err
	}
	switch {
	case pub.N.BitLen() < minRSABits:
		return nil, fmt.Errorf("%w (%d bits)", ErrKeyTooShort, pub.N.BitLen())
	case k.Alg != "" && k.Alg != setAlg:
		return nil, ErrKeyAlg
	case k.Use != "" && k.Use != "sig":
		return nil, ErrKeyOps
	case len(k.KeyOps) > 0 && !slices.Contains(k.KeyOps, "verify"):
		return nil, ErrKeyOps
	}
	return pub, nil
}
