package server

// Tests of the keys the server opens: a record key or seal that does not
// open is refused at push and never wedges a pull; a tenant's key can be
// rotated while seals made for the old one stay open.

import (
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func corrupt(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 0x55
	return out
}

// A push whose record key does not open under its seal is refused for that
// record only; the rest of the batch is applied, and another laptop's pull
// goes through.
func TestPush_CorruptRecordKeyRefusedRestApplied(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	good, gk := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	bad, bk := a.create(domain.TypePerson, domain.Fields{"surname": "Muster"})
	bk.Wrapped = corrupt(bk.Wrapped)
	badUpd := a.change("update", domain.TypePerson, bad.RecordID, 1, domain.Fields{"surname": "Muster"},
		domain.Fields{"surname": "Musterfrau"})
	rs := a.push([]syncproto.RecordKey{gk, bk}, good, bad, badUpd)
	wantStatus(t, rs, syncproto.StatusApplied, syncproto.StatusRejected, syncproto.StatusRejected)
	if !strings.Contains(rs[1].Reason, "record key") {
		t.Errorf("reason %q does not name the record key", rs[1].Reason)
	}
	if _, ok, err := k.srv.st.RecordKey(k.ctx, tenantA, bad.RecordID); err != nil || ok {
		t.Errorf("the refused key was stored (%v, %v)", ok, err)
	}
	es := b.pullAll()
	if len(es) != 1 || es[0].ID != good.ID || len(es[0].Key) == 0 {
		t.Fatalf("b pulled %+v", es)
	}
	if v := b.open(es[0]); v["surname"].New != "Mustermann" {
		t.Errorf("b opened %+v", v)
	}
	// The laptop sends the right key later: the record goes through.
	ck := a.keys[bad.RecordID]
	w, err := crypto.WrapKey(crypto.DataKey(a.sealKey), ck[:], recordKeyAAD(bad.RecordID))
	if err != nil {
		t.Fatal(err)
	}
	fixed := syncproto.RecordKey{RecordID: bad.RecordID, SealID: a.seal.ID, Wrapped: w}
	wantStatus(t, a.push([]syncproto.RecordKey{fixed}, bad, badUpd), syncproto.StatusApplied, syncproto.StatusApplied)
}

// A seal the tenant's key does not open is not stored, and the keys sealed
// under it are refused with their changes.
func TestPush_SealThatDoesNotOpenRefused(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	// Sealed for another tenant's key, under this tenant's kid.
	other, err := crypto.SealKey(&poolKey(t, 1).PublicKey, a.sealKey, a.kid)
	if err != nil {
		t.Fatal(err)
	}
	a.seal.JWE = other
	c, ck := a.create(domain.TypeVisit, domain.Fields{"place": "Oberweiler"})
	rs := a.push([]syncproto.RecordKey{ck}, c)
	wantStatus(t, rs, syncproto.StatusRejected)
	if !strings.Contains(rs[0].Reason, "seal") {
		t.Errorf("reason %q does not name the seal", rs[0].Reason)
	}
	if _, ok, err := k.srv.st.Seal(k.ctx, tenantA, a.seal.ID); err != nil || ok {
		t.Errorf("the seal that does not open was stored (%v, %v)", ok, err)
	}
}

// A key that fails to open although it is in the database (written before
// the push checked keys, or damaged since) is left out of the page and
// logged by record id; the page and the pull complete.
func TestPull_KeyThatDoesNotOpenIsLeftOut(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	c1, k1 := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	c2, k2 := a.create(domain.TypePerson, domain.Fields{"surname": "Muster"})
	c3, k3 := a.create(domain.TypePerson, domain.Fields{"given_names": "Erika"})
	wantStatus(t, a.push([]syncproto.RecordKey{k1, k2, k3}, c1, c2, c3), syncproto.StatusApplied,
		syncproto.StatusApplied, syncproto.StatusApplied)

	k.rawExec(`UPDATE record_key SET wrapped = ? WHERE tenant = ? AND record_id = ?`,
		corrupt(k1.Wrapped), tenantA, c1.RecordID)
	k.rawExec(`UPDATE record_key SET seal_id = ? WHERE tenant = ? AND record_id = ?`,
		domain.NewID(), tenantA, c3.RecordID)

	es := b.pullAll()
	if len(es) != 3 {
		t.Fatalf("b pulled %d entries, want 3", len(es))
	}
	for _, e := range es {
		if hasKey, want := len(e.Key) != 0, e.RecordID == c2.RecordID; hasKey != want {
			t.Errorf("entry of record %s: key %v, want %v", e.RecordID, hasKey, want)
		}
	}
	if v := b.open(es[1]); v["surname"].New != "Muster" {
		t.Errorf("b opened %+v", v)
	}
	logs := k.logs.String()
	for _, id := range []string{c1.RecordID, c3.RecordID} {
		if !strings.Contains(logs, id) {
			t.Errorf("the log does not name record %s:\n%s", id, logs)
		}
	}
	if k.head(tenantA) != es[2].Seq {
		t.Errorf("head %d, last pulled %d", k.head(tenantA), es[2].Seq)
	}
}

// addTenantKey writes a newer key pair for tenant straight into the
// database, as a rotation made by another process does.
func (k *kit) addTenantKey(tenant string, priv *rsa.PrivateKey) string {
	k.t.Helper()
	kid, err := crypto.KeyID(&priv.PublicKey)
	if err != nil {
		k.t.Fatal(err)
	}
	pub, err := crypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		k.t.Fatal(err)
	}
	der, err := crypto.MarshalPrivateKeyDER(priv)
	if err != nil {
		k.t.Fatal(err)
	}
	w, err := crypto.WrapKey(k.srv.master, der, tenantKeyAAD(tenant, kid))
	if err != nil {
		k.t.Fatal(err)
	}
	k.rawExec(`INSERT INTO tenant_key(tenant, kid, public_pem, private_wrapped, created_at)
		VALUES (?, ?, ?, ?, ?)`, tenant, kid, string(pub), w, fmtTime(k.clock.Now()))
	return kid
}

// reseal gives the laptop a new seal key for the server key kid.
func (l *laptop) reseal(pub *rsa.PublicKey, kid string) {
	l.k.t.Helper()
	var err error
	if l.sealKey, err = crypto.NewContentKey(); err != nil {
		l.k.t.Fatal(err)
	}
	jwe, err := crypto.SealKey(pub, l.sealKey, kid)
	if err != nil {
		l.k.t.Fatal(err)
	}
	l.server, l.kid = pub, kid
	l.seal, l.sealSent = syncproto.Seal{ID: domain.NewID(), JWE: jwe}, false
}

// After a rotation, seals made for the old key still open (the JWE's kid
// picks the key), seals for the new one open too, and laptops on either
// key converge.
func TestRotation_SealsOfOldAndNewKeyOpen(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	oldKid := a.kid
	c1, k1 := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	wantStatus(t, a.push([]syncproto.RecordKey{k1}, c1), syncproto.StatusApplied)

	newPriv := poolKey(t, 5)
	newKid := k.addTenantKey(tenantA, newPriv)
	if newKid == oldKid {
		t.Fatal("the new key has the old kid")
	}
	es := b.pullAll()
	if len(es) != 1 || len(es[0].Key) == 0 {
		t.Fatalf("b pulled %+v", es)
	}
	if v := b.open(es[0]); v["surname"].New != "Mustermann" {
		t.Errorf("b opened %+v", v)
	}

	// b seals for the new key; a keeps its old seal. Both push, both pull.
	b.reseal(&newPriv.PublicKey, newKid)
	c2, k2 := b.create(domain.TypePerson, domain.Fields{"surname": "Musterfrau"})
	wantStatus(t, b.push([]syncproto.RecordKey{k2}, c2), syncproto.StatusApplied)
	c3, k3 := a.create(domain.TypePerson, domain.Fields{"given_names": "Erika"})
	wantStatus(t, a.push([]syncproto.RecordKey{k3}, c3), syncproto.StatusApplied)
	for _, l := range []*laptop{a, b} {
		for _, e := range l.pullAll() {
			if e.Device == l.id {
				continue
			}
			if len(e.Key) == 0 || len(l.open(e)) == 0 {
				t.Errorf("%s cannot open record %s", l.name, e.RecordID)
			}
		}
	}
	// A laptop enrolled now gets the new key.
	if c := k.enrol("c", tenantA, 4); c.kid != newKid {
		t.Errorf("enrolled with kid %s, want the new %s", c.kid, newKid)
	}
}

// RotateTenantKey makes a new key the newest: pulls announce it (kid and
// public key), a laptop that seals for it is understood, and the old key
// still opens what was sealed for it.
func TestRotateTenantKey_AnnouncedInPull(t *testing.T) {
	k := startKit(t)
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	if p := a.pull(0, 0); p.page.ServerKeyID != a.kid {
		t.Fatalf("page announces %q, want the enrolment's %q", p.page.ServerKeyID, a.kid)
	}
	c1, k1 := a.create(domain.TypePerson, domain.Fields{"surname": "Mustermann"})
	wantStatus(t, a.push([]syncproto.RecordKey{k1}, c1), syncproto.StatusApplied)

	newPriv := poolKey(t, 5)
	k.srv.genKey = func() (*rsa.PrivateKey, error) { return newPriv, nil }
	kid, err := k.srv.RotateTenantKey(k.ctx, tenantA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.srv.RotateTenantKey(k.ctx, "nirgendwo"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rotate an unknown tenant: %v, want ErrNotFound", err)
	}
	p := b.pull(0, 0)
	if p.page.ServerKeyID != kid || p.page.ServerKeyID == a.kid {
		t.Fatalf("page announces %q, want the new %q", p.page.ServerKeyID, kid)
	}
	pub, err := crypto.ParsePublicKeyPEM([]byte(p.page.ServerPublicKey))
	if err != nil || !pub.Equal(&newPriv.PublicKey) {
		t.Fatalf("announced public key is not the new one (%v)", err)
	}
	if len(p.entries) != 1 || len(p.entries[0].Key) == 0 {
		t.Fatalf("b pulled %+v", p.entries)
	}
	b.reseal(pub, p.page.ServerKeyID)
	c2, k2 := b.create(domain.TypePerson, domain.Fields{"surname": "Musterfrau"})
	wantStatus(t, b.push([]syncproto.RecordKey{k2}, c2), syncproto.StatusApplied)
	es := a.pullAll()
	if len(es) != 2 || a.open(es[1])["surname"].New != "Musterfrau" {
		t.Fatalf("a pulled %+v", es)
	}
	// The other tenant's key did not change.
	if c := k.enrol("c", tenantB, 4); c.kid == kid {
		t.Error("rotating one tenant's key changed another's")
	}
}
