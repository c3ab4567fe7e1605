// Package demo prepares a field laptop for the demo kit (`make run`): two
// clerks with a known password, enrolled with the local central server,
// the simulated devices' ports in the settings. It changes nothing that is
// already there, so the demo can be started again on the same files.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/buergerkoffer/kit/app/ui"
	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
)

// Password is the demo clerks' password. It is shown on the sign-in screen
// in demo mode; a real laptop is set up by its clerks.
const Password = "Feldtag-2026"

// Clerks are the demo clerks: user name and display name. The demo visit
// names them by user name (`syncd admin demo`).
var Clerks = [][2]string{{"anna", "Anna Schmidt"}, {"ben", "Ben Keller"}}

// Config is what the demo needs to know.
type Config struct {
	ServerURL, Code string // enrolment, if the laptop is not enrolled yet
	IDReader, Pad   string // the simulators' ports
}

// Prepare sets the laptop up for the demo and returns the hint for the
// sign-in screen.
func Prepare(ctx context.Context, st *store.Store, cfg Config) (string, error) {
	ok, err := st.SetUp(ctx)
	if err != nil {
		return "", err
	}
	var ss *store.Session
	if !ok {
		if ss, err = st.Setup(ctx, Clerks[0][0], Clerks[0][1], []byte(Password)); err != nil {
			return "", fmt.Errorf("demo: set up: %w", err)
		}
	} else if ss, err = st.Unlock(ctx, Clerks[0][0], []byte(Password)); err != nil {
		return "", fmt.Errorf("demo: this laptop was set up with other clerks: %w", err)
	}
	defer ss.Lock()
	for _, c := range Clerks[1:] {
		if _, err := ss.AddClerk(ctx, c[0], c[1], []byte(Password)); err != nil && !errors.Is(err, store.ErrClerkExists) {
			return "", fmt.Errorf("demo: add clerk: %w", err)
		}
	}
	if _, err := st.Enrolment(ctx); errors.Is(err, store.ErrNotEnrolled) && cfg.Code != "" {
		if err := agent.Enrol(ctx, st, ss, agent.Enrolment{ServerURL: cfg.ServerURL, Code: cfg.Code, Name: "Demo-Laptop"}); err != nil {
			return "", fmt.Errorf("demo: enrol: %w", err)
		}
	} else if err != nil && !errors.Is(err, store.ErrNotEnrolled) {
		return "", err
	}
	s, err := ui.LoadSettings(ctx, st)
	if err != nil {
		return "", err
	}
	if cfg.IDReader != "" {
		s.IDReader = cfg.IDReader
	}
	if cfg.Pad != "" {
		s.Pad = cfg.Pad
	}
	if err := ui.SaveSettings(ctx, st, s); err != nil {
		return "", err
	}
	return fmt.Sprintf("Demo: Benutzer „%s“ oder „%s“, Passwort „%s“. Das Ausweislesegerät und das Unterschriftenpad sind simuliert.",
		Clerks[0][0], Clerks[1][0], Password), nil
}
