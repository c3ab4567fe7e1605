package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

const benPassword = "Zweiter-Blick-1"

// signedCase gives a case the session's clerk has witnessed being signed.
func signedCase(t *testing.T, ss *store.Session) (string, int64) {
	t.Helper()
	ctx := context.Background()
	c, err := ss.CreateCase(ctx, sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.SetCaseStatus(ctx, c.ID, store.AnyVersion, domain.StatusSigned)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, v
}

// With the tenant's four-eyes policy on, the store seals a case only after
// a second clerk confirmed it with their own password in this session; the
// sealing clerk, the clerk who witnessed the signature, a wrong password
// or a hand-written confirmed_by do not count.
func TestFourEyes_PolicyOnStoreRefusesSealWithoutSecondClerk(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	st := ss.Store()
	ben, err := ss.AddClerk(ctx, "bkeller", "Ben Keller", []byte(benPassword))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPolicy(ctx, syncproto.Policy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Policy(ctx); err != nil || !p.FourEyes || !p.Known {
		t.Fatalf("policy %+v, %v", p, err)
	}
	id, v := signedCase(t, ss)

	if _, err := ss.SealCase(ctx, id, v); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("seal without confirmation: %v, want ErrFourEyes", err)
	}
	if _, err := ss.SetCaseStatus(ctx, id, v, domain.StatusSealed); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("status sealed without confirmation: %v, want ErrFourEyes", err)
	}
	// confirmed_by is no ordinary field any more.
	if _, err := ss.Update(ctx, id, v, domain.Fields{"confirmed_by": ben.ID}); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("confirmed_by written by hand: %v, want ErrFourEyes", err)
	}
	if _, err := ss.ConfirmFourEyes(ctx, id, clerkName, []byte(password)); !errors.Is(err, store.ErrSameClerk) {
		t.Errorf("the sealing clerk confirms: %v, want ErrSameClerk", err)
	}
	if _, err := ss.ConfirmFourEyes(ctx, id, "bkeller", []byte("nicht-sein-Passwort")); !errors.Is(err, store.ErrWrongPassword) {
		t.Errorf("wrong password: %v, want ErrWrongPassword", err)
	}
	if _, err := ss.SealCase(ctx, id, v); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("seal after failed confirmations: %v, want ErrFourEyes", err)
	}
	// Another session of the same laptop has no confirmation.
	other, err := st.Unlock(ctx, clerkName, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ss.ConfirmFourEyes(ctx, id, "bkeller", []byte(benPassword))
	if err != nil || got.ID != ben.ID {
		t.Fatalf("ben confirms: %+v, %v", got, err)
	}
	if c, ok := ss.FourEyesConfirmation(id); !ok || c.ID != ben.ID {
		t.Errorf("session's confirmation: %+v %v", c, ok)
	}
	if _, err := other.SealCase(ctx, id, v); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("seal in another session: %v, want ErrFourEyes", err)
	}
	if v, err = ss.SealCase(ctx, id, v); err != nil {
		t.Fatalf("seal after ben confirmed: %v", err)
	}
	c, gotV, err := ss.Case(ctx, id)
	if err != nil || c.Status != domain.StatusSealed || c.ConfirmedBy != ben.ID || c.SealedBy != ss.Clerk().ID || gotV != v {
		t.Errorf("sealed case %+v v%d, %v", c, gotV, err)
	}

	// Who witnessed the signature does not confirm it either.
	benSS, err := st.Unlock(ctx, "bkeller", []byte(benPassword))
	if err != nil {
		t.Fatal(err)
	}
	id2, v2 := signedCase(t, benSS)
	if _, err := ss.ConfirmFourEyes(ctx, id2, "bkeller", []byte(benPassword)); !errors.Is(err, store.ErrSameClerk) {
		t.Errorf("the witness confirms: %v, want ErrSameClerk", err)
	}
	if _, err := ss.SealCase(ctx, id2, v2); !errors.Is(err, store.ErrFourEyes) {
		t.Errorf("seal of the witness's case: %v, want ErrFourEyes", err)
	}
}

// With the policy off (or not yet known) a case seals as before.
func TestFourEyes_PolicyOffSealsWithoutConfirmation(t *testing.T) {
	ctx := context.Background()
	ss, _ := newSession(t)
	if p, err := ss.Store().Policy(ctx); err != nil || p.FourEyes || p.Known {
		t.Fatalf("policy of a new laptop %+v, %v", p, err)
	}
	id, v := signedCase(t, ss)
	if _, err := ss.SealCase(ctx, id, v); err != nil {
		t.Fatal(err)
	}
}
