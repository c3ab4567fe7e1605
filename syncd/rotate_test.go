package main

// Rotating a tenant's server key with `syncd admin rotate-key`: new seals
// use the new key, what was sealed for the old one still opens, and the
// laptops learn the new key by syncing.

import (
	"bytes"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

// rotateKey runs `syncd admin rotate-key` and returns the new kid (the
// last word of its answer).
func (k *kit) rotateKey(tenant string) string {
	k.t.Helper()
	out := k.admin("rotate-key", "--tenant", tenant)
	f := strings.Fields(out)
	if len(f) == 0 {
		k.t.Fatalf("rotate-key said nothing")
	}
	return f[len(f)-1]
}

// newSealKid returns the kid of the seal the laptop's next push carries
// ("" if it carries none).
func (l *laptop) newSealKid() string {
	l.k.t.Helper()
	req, err := l.st.NextPush(l.k.ctx, 100)
	if err != nil {
		l.k.t.Fatal(err)
	}
	if len(req.Seals) == 0 {
		return ""
	}
	kid, err := crypto.SealedKeyID(req.Seals[len(req.Seals)-1].JWE)
	if err != nil {
		l.k.t.Fatal(err)
	}
	return kid
}

func (l *laptop) surname(id string) string {
	l.k.t.Helper()
	c, _, err := l.ss.Case(l.k.ctx, id)
	if err != nil {
		l.k.t.Fatalf("%s reads case %s: %v", l.path, id, err)
	}
	return c.Form["surname"]
}

// The key is rotated between two laptops' pushes: the laptop that pulls
// next gets the case sealed for the old key, learns the new key and seals
// its own case for it; the other laptop's session goes on with its seal
// for the old key. All converge, and a laptop enrolled later gets the new
// key at enrolment.
func TestSync_KeyRotationBetweenPushes(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	oldKid := a.enrolment().ServerKeyID
	ca, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	if kid := a.newSealKid(); kid != oldKid {
		t.Fatalf("a sealed for %q, want the enrolment's key %q", kid, oldKid)
	}
	if rep := a.sync(); rep.Pushed != 1 {
		t.Fatalf("a pushed %+v", rep)
	}

	newKid := k.rotateKey("musterstadt")
	if newKid == oldKid {
		t.Fatalf("rotate-key kept kid %s", oldKid)
	}
	if rep := b.sync(); rep.Pulled != 1 {
		t.Fatalf("b pulled %+v", rep)
	}
	if got := b.surname(ca.ID); got != "Mustermann" {
		t.Errorf("b reads a's case: surname %q", got)
	}
	if e := b.enrolment(); e.ServerKeyID != newKid {
		t.Fatalf("b keeps server key %s after the pull, want %s", e.ServerKeyID, newKid)
	}
	c2 := anmeldung()
	c2.Form["surname"] = "Musterfrau"
	cb, err := b.ss.CreateCase(k.ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	if kid := b.newSealKid(); kid != newKid {
		t.Errorf("b sealed for %q after learning %q", kid, newKid)
	}
	if rep := b.sync(); rep.Pushed != 1 {
		t.Fatalf("b pushed %+v", rep)
	}

	// a's session still seals with its seal for the old key: fine.
	c3 := anmeldung()
	c3.Form["surname"] = "Musterkind"
	ca2, err := a.ss.CreateCase(k.ctx, c3)
	if err != nil {
		t.Fatal(err)
	}
	if rep := a.sync(); rep.Pushed != 1 || rep.Pulled == 0 {
		t.Fatalf("a synced %+v", rep)
	}
	if got := a.surname(cb.ID); got != "Musterfrau" {
		t.Errorf("a reads b's case: surname %q", got)
	}
	if e := a.enrolment(); e.ServerKeyID != newKid {
		t.Errorf("a keeps server key %s after the pull, want %s", e.ServerKeyID, newKid)
	}
	// A new session of a seals for the new key.
	a.ss.Lock()
	if a.ss, err = a.st.Unlock(k.ctx, "clerk-a", []byte("Feldtag-2026!")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	if kid := a.newSealKid(); kid != newKid {
		t.Errorf("a's new session sealed for %q, want %q", kid, newKid)
	}
	a.sync()
	b.sync()

	c := k.laptop("c", "musterstadt")
	if e := c.enrolment(); e.ServerKeyID != newKid {
		t.Errorf("c enrolled with key %s, want %s", e.ServerKeyID, newKid)
	}
	c.sync()
	for _, id := range []string{ca.ID, cb.ID, ca2.ID} {
		if c.surname(id) == "" {
			t.Errorf("c cannot read case %s", id)
		}
	}
	want := k.export("musterstadt")
	for _, l := range []*laptop{a, b, c} {
		if got := l.export(); got != want {
			t.Errorf("%s differs from the server:\nserver %s\nlaptop %s", l.path, want, got)
		}
	}
}

// `syncd admin rotate-key` on a database file: each run makes a new key,
// which the next enrolment hands out; an unknown tenant or a missing
// --tenant is refused.
func TestAdminRotateKey(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "beispielheim")
	first := a.enrolment().ServerKeyID
	k1 := k.rotateKey("beispielheim")
	k2 := k.rotateKey("beispielheim")
	if k1 == first || k2 == k1 || k2 == first {
		t.Fatalf("kids %s, %s, %s: want three different", first, k1, k2)
	}
	if b := k.laptop("b", "beispielheim"); b.enrolment().ServerKeyID != k2 {
		t.Errorf("enrolled with %s, want the newest %s", b.enrolment().ServerKeyID, k2)
	}
	// The other tenant's key is untouched.
	if m := k.laptop("m", "musterstadt"); m.enrolment().ServerKeyID == k2 || m.enrolment().ServerKeyID == k1 {
		t.Error("rotating one tenant's key changed another's")
	}
	for _, args := range [][]string{
		append(append([]string{"admin", "rotate-key"}, k.dbArgs()...), "--tenant", "nirgendwo"),
		append([]string{"admin", "rotate-key"}, k.dbArgs()...),
	} {
		var out, errOut bytes.Buffer
		if code := run(k.ctx, args, &out, &errOut); code == 0 {
			t.Errorf("syncd %s: exit 0 (%s)", strings.Join(args, " "), out.String())
		}
	}
}
