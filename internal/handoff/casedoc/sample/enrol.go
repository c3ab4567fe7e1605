package sample

import (
	"context"
	"fmt"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Clerk is the first clerk a new field store is set up with.
type Clerk struct {
	Username, Name string
	Password       []byte
}

// Enrol opens a new field store at path (test KDF parameters), sets it up
// with clerk and enrols it with srv, reached at url, for tenant, as the laptop called name (shown
// to operators): what an operator and the app do before a laptop goes
// out. The caller closes the store.
func Enrol(ctx context.Context, srv *server.Server, url, tenant, path, name string, clerk Clerk) (*store.Store, *store.Session, error) {
	st, err := store.Open(ctx, path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		return nil, nil, fmt.Errorf("sample: open field store: %w", err)
	}
	ss, err := enrol(ctx, srv, st, url, tenant, name, clerk)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, ss, nil
}

func enrol(ctx context.Context, srv *server.Server, st *store.Store, url, tenant, name string, clerk Clerk) (*store.Session, error) {
	ss, err := st.Setup(ctx, clerk.Username, clerk.Name, clerk.Password)
	if err != nil {
		return nil, fmt.Errorf("sample: set up field store: %w", err)
	}
	pub, err := ss.DeviceKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("sample: device key: %w", err)
	}
	code, err := srv.IssueEnrolment(ctx, tenant, time.Hour)
	if err != nil {
		return nil, fmt.Errorf("sample: enrolment code: %w", err)
	}
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: url})
	if err != nil {
		return nil, fmt.Errorf("sample: client: %w", err)
	}
	defer c.Close()
	r, err := c.Enrol(ctx, syncproto.EnrolRequest{Code: code, Name: name, LocalID: st.DeviceID(), PublicKey: pub})
	if err != nil {
		return nil, fmt.Errorf("sample: enrol: %w", err)
	}
	if err := st.SaveEnrolment(ctx, store.Enrolment{ServerURL: url, Tenant: r.Tenant, DeviceID: r.DeviceID, Token: r.Token,
		ServerPublicKey: r.ServerPublicKey, ServerKeyID: r.ServerKeyID}); err != nil {
		return nil, fmt.Errorf("sample: save enrolment: %w", err)
	}
	return ss, nil
}
