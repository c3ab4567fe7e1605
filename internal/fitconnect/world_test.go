package fitconnect_test

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// world is a fake service with a destination whose keys chain to ca, and a client trusting ca.
type world struct {
	f    *fakeService
	ca   *testCA
	keys testKeys
	c    *fitconnect.Client
}

const (
	encKid = "enc-1"
	sigKid = "sig-1"
	svcKid = "svc-1"
)

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{f: newFake(t), ca: newCA(t, "Verwaltungs-PKI"), keys: loadKeys(t)}
	w.f.keys[encKid] = publicJWK(&w.keys.enc.PublicKey, encKid, "RSA-OAEP-256", []string{"wrapKey"}, w.ca.x5c(t, &w.keys.enc.PublicKey))
	w.f.keys[sigKid] = publicJWK(&w.keys.sig.PublicKey, sigKid, "PS512", []string{"verify"}, w.ca.x5c(t, &w.keys.sig.PublicKey))
	svc := publicJWK(&w.keys.svc.PublicKey, svcKid, "PS512", []string{"verify"}, nil)
	svc["use"] = "sig"
	w.f.jwks = []any{svc}
	w.c = w.f.client(t, w.ca.pool)
	return w
}
