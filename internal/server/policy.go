package server

// This file holds a tenant's policy: what its operator decided for all its
// laptops (`syncd admin policy`). The server keeps it in its meta table,
// sends it with the End of every pull page (the agent keeps it in the
// field store, where the app enforces it), and checks every pushed seal
// against it at push time, whatever the laptop believed: a laptop that
// was offline when four-eyes was switched on, or whose field store was
// changed by hand, has its unconfirmed seals refused with
// syncproto.ReasonFourEyes, and can seal them again once confirmed.

import (
	"context"
	"fmt"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func policyFourEyesKey(tenant string) string { return "policy." + tenant + ".four_eyes" }
func policySetAtKey(tenant string) string    { return "policy." + tenant + ".set_at" }

// metaReader is the read side of the meta table (Store and Tx).
type metaReader interface {
	Meta(ctx context.Context, key string) (string, error)
}

// SetFourEyes sets whether a second clerk must confirm each of the
// tenant's cases before it is sealed. Laptops learn it with their next
// pull; the server applies it to every push from now on.
func (s *Server) SetFourEyes(ctx context.Context, tenant string, on bool) error {
	if _, err := s.st.TenantKey(ctx, tenant); err != nil {
		return fmt.Errorf("server: policy of %s: %w", tenant, err)
	}
	v := "off"
	if on {
		v = "on"
	}
	err := s.st.Update(ctx, tenant, func(tx Tx) error {
		if err := tx.SetMeta(ctx, policyFourEyesKey(tenant), v); err != nil {
			return err
		}
		return tx.SetMeta(ctx, policySetAtKey(tenant), s.now().UTC().Format(time.RFC3339))
	})
	if err != nil {
		return fmt.Errorf("server: policy of %s: %w", tenant, err)
	}
	s.log.Info("policy set", "tenant", tenant, "four_eyes", v)
	return nil
}

// Policy returns the tenant's policy (four-eyes off until set).
func (s *Server) Policy(ctx context.Context, tenant string) (syncproto.Policy, error) {
	if _, err := s.st.TenantKey(ctx, tenant); err != nil {
		return syncproto.Policy{}, fmt.Errorf("server: policy of %s: %w", tenant, err)
	}
	p, err := readPolicy(ctx, s.st, tenant)
	if err != nil {
		return syncproto.Policy{}, fmt.Errorf("server: policy of %s: %w", tenant, err)
	}
	return p, nil
}

func readPolicy(ctx context.Context, m metaReader, tenant string) (syncproto.Policy, error) {
	fe, err := m.Meta(ctx, policyFourEyesKey(tenant))
	if err != nil {
		return syncproto.Policy{}, err
	}
	at, err := m.Meta(ctx, policySetAtKey(tenant))
	if err != nil {
		return syncproto.Policy{}, err
	}
	return syncproto.Policy{FourEyes: fe == "on", SetAt: at}, nil
}

// fourEyesCheck checks the seals of one push against the tenant's policy
// as it stands in the push's transaction (read once, when first needed).
type fourEyesCheck struct {
	tx     Tx
	tenant string
	policy *syncproto.Policy
}

// refusal returns why a change must be refused under the policy ("" if
// it may be applied): a case sealed without a second clerk's
// confirmation, or confirmed by who sealed it or witnessed its signature.
// What the change does not set is taken from the record as it stands.
func (c *fourEyesCheck) refusal(ctx context.Context, a *applier, ch *syncproto.Change) (string, error) {
	if ch.RecordType != string(domain.TypeCase) || ch.Plain["status"].New != string(domain.StatusSealed) {
		return "", nil
	}
	if c.policy == nil {
		p, err := readPolicy(ctx, c.tx, c.tenant)
		if err != nil {
			return "", err
		}
		c.policy = &p
	}
	if !c.policy.FourEyes {
		return "", nil
	}
	cur, err := a.load(ch.RecordID)
	if err != nil {
		return "", err
	}
	return fourEyesDefect(cur, ch), nil
}

func fourEyesDefect(cur *merge.Record, ch *syncproto.Change) string {
	val := func(f string) string {
		if v, ok := ch.Plain[f]; ok {
			return v.New
		}
		if cur != nil {
			return cur.Fields[f].Value
		}
		return ""
	}
	conf := val("confirmed_by")
	switch {
	case conf == "":
		return syncproto.ReasonFourEyes + ": no second clerk confirmed the case"
	case !domain.ValidID(conf):
		return syncproto.ReasonFourEyes + ": the confirmation names no clerk"
	case conf == val("sealed_by") || conf == ch.Clerk:
		return syncproto.ReasonFourEyes + ": confirmed by the clerk who sealed it"
	case conf == val("signed_by"):
		return syncproto.ReasonFourEyes + ": confirmed by the clerk who witnessed the signature"
	}
	return ""
}
