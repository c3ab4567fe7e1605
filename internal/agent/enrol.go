package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Enrolment is what redeeming a one-time code needs.
type Enrolment struct {
	ServerURL string
	Code      string
	Name      string // this laptop's name, shown to operators
	CAPEM     string // pin this CA for the server; "" for the system pool
}

// ErrNeedsClerk means the laptop has no device key pair yet: a clerk must
// unlock it first, as the private key is wrapped by the data key.
var ErrNeedsClerk = errors.New("agent: this laptop has no device key yet; a clerk must unlock it")

// Enrol redeems an enrolment code: the server learns the laptop's public
// key, the laptop learns the server's and gets its token. ss may be nil
// once the laptop has a device key; with a session, the key pair is made if
// needed and the records written before enrolment are sealed for the
// server. Both `syncd agent enroll` and the app's settings call it.
func Enrol(ctx context.Context, st *store.Store, ss *store.Session, e Enrolment) error {
	if e.ServerURL == "" || e.Code == "" {
		return errors.New("agent: enrol: server address and code are required")
	}
	pub, err := st.DevicePublicKey(ctx)
	if err != nil {
		return err
	}
	if ss != nil {
		if pub, err = ss.DeviceKey(ctx); err != nil {
			return err
		}
	}
	if pub == "" {
		return ErrNeedsClerk
	}
	c, err := NewClient(ClientConfig{BaseURL: e.ServerURL, CAPEM: e.CAPEM})
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Enrol(ctx, syncproto.EnrolRequest{Code: e.Code, Name: e.Name, LocalID: st.DeviceID(), PublicKey: pub})
	if err != nil {
		return fmt.Errorf("agent: enrol at %s: %w", e.ServerURL, err)
	}
	if err := st.SaveEnrolment(ctx, store.Enrolment{ServerURL: e.ServerURL, Tenant: res.Tenant, DeviceID: res.DeviceID,
		Token: res.Token, ServerPublicKey: res.ServerPublicKey, ServerKeyID: res.ServerKeyID, CAPEM: e.CAPEM}); err != nil {
		return err
	}
	if ss != nil {
		if _, err := ss.SealPending(ctx); err != nil {
			return err
		}
	}
	return nil
}
