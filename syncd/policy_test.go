package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// The tenant's four-eyes policy, set with `syncd admin policy`, reaches
// the tenant's laptops (and only them) with the next sync, and the store
// enforces it from then on.
func TestFourEyes_PolicySetByAdminReachesLaptop(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "beispielheim")
	if p, err := a.st.Policy(k.ctx); err != nil || p.Known || p.FourEyes {
		t.Fatalf("policy before any sync: %+v, %v", p, err)
	}
	if out := k.admin("policy", "--tenant", "musterstadt", "--four-eyes", "on"); !strings.Contains(out, "on") {
		t.Errorf("admin policy said %q", out)
	}
	if out := k.admin("policy", "--tenant", "musterstadt"); !strings.Contains(out, "four-eyes: on") {
		t.Errorf("admin policy (show) said %q", out)
	}
	a.sync()
	b.sync()
	if p, err := a.st.Policy(k.ctx); err != nil || !p.Known || !p.FourEyes {
		t.Errorf("a's policy after sync: %+v, %v", p, err)
	}
	if p, err := b.st.Policy(k.ctx); err != nil || !p.Known || p.FourEyes {
		t.Errorf("b (another tenant) after sync: %+v, %v", p, err)
	}
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.ss.SetCaseStatus(k.ctx, c.ID, store.AnyVersion, domain.StatusSigned)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ss.SealCase(k.ctx, c.ID, v); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("a seals without a second clerk: %v, want ErrFourEyes", err)
	}

	k.admin("policy", "--tenant", "musterstadt", "--four-eyes", "off")
	a.sync()
	if p, _ := a.st.Policy(k.ctx); p.FourEyes {
		t.Errorf("a still has four-eyes on after it was switched off")
	}
	if _, err := a.ss.SealCase(k.ctx, c.ID, v); err != nil {
		t.Errorf("seal with the policy off: %v", err)
	}

	var out, errOut bytes.Buffer
	if code := run(k.ctx, append(append([]string{"admin", "policy"}, k.dbArgs()...), "--tenant", "nirgendwo", "--four-eyes", "on"), &out, &errOut); code == 0 {
		t.Errorf("policy of an unknown tenant: exit 0, %q", out.String())
	}
	if code := run(k.ctx, append(append([]string{"admin", "policy"}, k.dbArgs()...), "--tenant", "musterstadt", "--four-eyes", "vielleicht"), &out, &errOut); code == 0 {
		t.Errorf("--four-eyes vielleicht: exit 0")
	}
}

// signCase creates a case with a signature and marks it signed.
func signCase(t *testing.T, l *laptop) string {
	t.Helper()
	ctx := l.k.ctx
	c, err := l.ss.CreateCase(ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := l.ss.PutAttachment(ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, []byte("\x89PNG "+c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err = l.ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// sealAlone seals a case without a second clerk, as the old app did.
func sealAlone(t *testing.T, l *laptop, id string) {
	t.Helper()
	if _, err := l.ss.SetCaseStatus(l.k.ctx, id, store.AnyVersion, domain.StatusSealed); err != nil {
		t.Fatalf("seal: %v", err)
	}
}

// serverStatus returns a record's status as the server exports it.
func (k *kit) serverStatus(tenant, id string) string {
	k.t.Helper()
	for _, line := range strings.Split(k.export(tenant), "\n") {
		if strings.Contains(line, `"id":"`+id+`"`) {
			i := strings.Index(line, `"status":"`)
			if i < 0 {
				return ""
			}
			rest := line[i+len(`"status":"`):]
			return rest[:strings.IndexByte(rest, '"')]
		}
	}
	return "(none)"
}

// A laptop that did not know the policy yet (offline when it was switched
// on) or whose field store says "off" (switched off by hand) cannot get an
// unconfirmed seal accepted: the server refuses it with a reason the app
// shows, the case stays readable on the laptop, and once a second clerk
// confirmed it, sealing it again gets it accepted.
func TestFourEyes_ServerRefusesUnconfirmedSeal(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	offline := signCase(t, a)
	a.sync()
	// Switched on while a is offline: a seals without a second clerk.
	k.admin("policy", "--tenant", "musterstadt", "--four-eyes", "on")
	sealAlone(t, a, offline)
	rep := a.sync()
	if rep.Rejected != 1 {
		t.Errorf("sync after an offline seal: %+v, want 1 rejected", rep)
	}
	// Now a knows the policy; a field store set back to "off" by hand
	// seals without confirmation again.
	if p, _ := a.st.Policy(k.ctx); !p.FourEyes {
		t.Fatalf("a did not learn the policy: %+v", p)
	}
	if err := a.st.SetMeta(k.ctx, "policy.four_eyes", "off"); err != nil {
		t.Fatal(err)
	}
	if p, _ := a.st.Policy(k.ctx); p.FourEyes {
		t.Fatalf("tampering did not take: %+v", p)
	}
	tampered := signCase(t, a)
	sealAlone(t, a, tampered)
	a.sync()

	rs, err := a.st.Rejected(k.ctx)
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]bool{}
	for _, r := range rs {
		if !strings.HasPrefix(r.Reason, syncproto.ReasonFourEyes) {
			t.Errorf("refused %s: reason %q", r.RecordID, r.Reason)
		}
		refused[r.RecordID] = true
	}
	if len(rs) != 2 || !refused[offline] || !refused[tampered] {
		t.Fatalf("refused changes %+v, want the two seals", rs)
	}
	for _, id := range []string{offline, tampered} {
		if st := k.serverStatus("musterstadt", id); st != string(domain.StatusSigned) {
			t.Errorf("server has case %s as %q, want signed", id, st)
		}
		// Not shredded: the laptop still has the application, signed
		// and ready for a second clerk, as the server has it.
		if c, _, err := a.ss.Case(k.ctx, id); err != nil || c.Status != domain.StatusSigned || c.SealedBy != "" {
			t.Errorf("case %s after the refusal: %s sealed by %q, %v", id, c.Status, c.SealedBy, err)
		}
	}

	// A second clerk confirms, the clerk seals again: accepted.
	if _, err := a.ss.AddClerk(k.ctx, "clerk-b", "Clerk b", []byte("Zweiter-Blick-1")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{offline, tampered} {
		if _, err := a.ss.ConfirmFourEyes(k.ctx, id, "clerk-b", []byte("Zweiter-Blick-1")); err != nil {
			t.Fatalf("confirm refused case: %v", err)
		}
		if _, err := a.ss.SealCase(k.ctx, id, store.AnyVersion); err != nil {
			t.Fatalf("seal again: %v", err)
		}
	}
	a.sync()
	for _, id := range []string{offline, tampered} {
		if st := k.serverStatus("musterstadt", id); st != string(domain.StatusSealed) {
			t.Errorf("server has case %s as %q after confirmation, want sealed", id, st)
		}
		if _, _, err := a.ss.Case(k.ctx, id); !errors.Is(err, store.ErrShredded) {
			t.Errorf("case %s accepted: %v, want ErrShredded", id, err)
		}
	}
	if rs, _ := a.st.Rejected(k.ctx); len(rs) != 0 {
		t.Errorf("refusals still shown after sealing again: %+v", rs)
	}
}
