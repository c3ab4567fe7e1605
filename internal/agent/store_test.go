package agent_test

import (
	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
)

// The field store is the agent's Local.
var _ agent.Local = (*store.Store)(nil)
