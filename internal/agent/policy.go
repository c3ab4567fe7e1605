package agent

// The tenant's policy (four-eyes sign-off) comes with the End of every
// pull page; the agent hands it to the field store, where the app
// enforces it. A laptop offline uses the last policy it kept; the server
// checks pushes against its own.

import (
	"context"

	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// PolicyKeeper is a Local that keeps the tenant's policy; *store.Store is
// one. A Local that is not gets none (the server still checks).
type PolicyKeeper interface {
	SetPolicy(ctx context.Context, p syncproto.Policy) error
}

var _ PolicyKeeper = (*store.Store)(nil)

// keepPolicy stores the policy a complete pull page ended with.
func (s *syncRun) keepPolicy(ctx context.Context, end *syncproto.End) error {
	if end == nil || end.Policy == nil {
		return nil
	}
	pk, ok := s.a.local.(PolicyKeeper)
	if !ok {
		return nil
	}
	return local("keep policy", pk.SetPolicy(ctx, *end.Policy))
}
