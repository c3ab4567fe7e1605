package store_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/store"
)

func enrolment(t *testing.T) store.Enrolment {
	t.Helper()
	pub, kid := serverKey(t)
	return store.Enrolment{ServerURL: "https://rathaus.example", Tenant: "musterstadt", DeviceID: "dev-1",
		Token: "secret-device-token-0123456789", ServerPublicKey: pub, ServerKeyID: kid}
}

// The device token reads back as it was saved; on Windows the file holds
// it only under DPAPI, never in clear.
func TestEnrolment_DeviceTokenAtRest(t *testing.T) {
	ctx := context.Background()
	ss, path := newSession(t)
	e := enrolment(t)
	if err := ss.Store().SaveEnrolment(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := ss.Store().Enrolment(ctx)
	if err != nil || got.Token != e.Token {
		t.Fatalf("Enrolment: token %q, %v; want the saved one", got.Token, err)
	}
	var raw string
	if err := rawDB(t, path).QueryRow(`SELECT value FROM meta WHERE key = 'enrol.token'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" && (raw == e.Token || !strings.HasPrefix(raw, "dpapi:")) {
		t.Errorf("on Windows the token is stored as %q, not under DPAPI", raw)
	}
}

// A field store copied from a Windows laptop to another system does not
// hand out its DPAPI blob as if it were the token: the agent gets a clear
// error instead of being refused by the server with a garbled token.
func TestEnrolment_DPAPITokenElsewhereIsAClearError(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows opens DPAPI blobs")
	}
	ctx := context.Background()
	ss, path := newSession(t)
	if err := ss.Store().SaveEnrolment(ctx, enrolment(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).Exec(`UPDATE meta SET value = 'dpapi:AQAAANCMnd8BFdERjHoAwE/Cl+s=' WHERE key = 'enrol.token'`); err != nil {
		t.Fatal(err)
	}
	_, err := ss.Store().Enrolment(ctx)
	if !errors.Is(err, crypto.ErrLocalProtection) {
		t.Fatalf("Enrolment of a DPAPI token off Windows: %v, want crypto.ErrLocalProtection", err)
	}
}
