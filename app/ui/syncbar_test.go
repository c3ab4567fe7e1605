package ui

import (
	"context"
	"errors"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

// The status bar tells the truth about the agent, which runs as its own
// process on the same database: silent, offline with its error in words,
// and syncing when the clerk presses "Jetzt synchronisieren".
func TestSyncBar_FollowsTheAgent(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.signIn("anna")
	// No agent has ever run on this laptop.
	h.waitText("Sync-Dienst läuft nicht")

	// An agent that cannot reach the town hall.
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if err := h.st.SetSyncState(h.ctx, map[string]string{store.StateAgentSeen: now, store.StateOnline: "false",
		store.StateLastError: "Keine Verbindung zum Server – die Daten bleiben auf dem Laptop"}); err != nil {
		t.Fatal(err)
	}
	h.waitText("Offline")
	h.waitText("Keine Verbindung zum Server – die Daten bleiben auf dem Laptop")

	// A change waits until an agent runs: then it goes, and the bar says so.
	ss := h.session("anna")
	v, err := ss.CreateVisit(h.ctx, domain.Visit{Place: "Bürgerhaus", Day: time.Now().Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	h.waitText("1 Änderung noch nicht im Rathaus")
	h.shot("16-offline")
	a, err := agent.New(agent.Config{Interval: time.Hour, Poll: 50 * time.Millisecond}, h.st)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	}()
	h.waitText("Alles übertragen")
	h.waitText("Online")
	h.waitText("Zuletzt synchronisiert: heute")
	if h.hasText("Keine Verbindung") {
		t.Error("the old error is still shown after a successful sync")
	}

	// The town hall books an appointment; the agent would fetch it in an
	// hour; "Jetzt synchronisieren" brings it now.
	if _, err := h.srv.Central(h.ctx, tenant, server.CentralChange{RecordType: domain.TypeAppointment, Op: "create",
		BaseVersion: -1, Clerk: "admin", Set: domain.Appointment{VisitID: v.ID, StartsAt: time.Now(), Minutes: 15,
			ServiceID: "meldebescheinigung", Status: domain.AppointmentBooked, CitizenName: "Jonas Nachzügler"}.Fields().NonEmpty()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if h.hasText("Jonas Nachzügler") {
		t.Fatal("the appointment arrived before anyone asked")
	}
	h.tap("Jetzt synchronisieren")
	h.waitText("Jonas Nachzügler")
}

// The bar fits the laptop's window whatever it has to say: on one line,
// "Offline", a pending count and the last sync's date made the real
// window grow wider than the screen.
func TestSyncBar_FitsTheWindow(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	long := time.Now().Add(-50 * time.Hour)
	worst := []syncStatus{
		{read: true, enrolled: true, agentSeen: time.Now(), online: false, phase: "pushing", pending: 12345, rejected: 12,
			done: 100, total: 12345, lastSuccess: long, lastError: "Keine Verbindung zum Server – die Daten bleiben auf dem Laptop"},
		{read: true, enrolled: false, pending: 12345, rejected: 12, lastSuccess: long},
		{read: true, enrolled: true, phase: "revoked", agentSeen: time.Now(), pending: 12345, rejected: 12, lastSuccess: long},
		{read: true, enrolled: true, update: "laptop", agentSeen: time.Now(), online: true, pending: 12345, lastSuccess: long},
	}
	for _, lang := range []string{"de", "en"} {
		h.k.mu.Lock()
		h.k.settings.Lang = lang
		h.k.mu.Unlock()
		for i, s := range worst {
			var min fyne.Size
			var pending string
			h.do(func() {
				b := h.k.newSyncBar()
				b.update(s)
				min, pending = b.object.MinSize(), b.pending.Text
			})
			if min.Width > 1100 {
				t.Errorf("%s, status %d (%q): the bar needs %.0f px, the window has 1100", lang, i, pending, min.Width)
			}
		}
	}
}

// When the town hall had to restamp this laptop's changes (its clock ran
// ahead), the bar asks the clerk to check the clock; a later push without
// it clears the warning.
func TestSyncBar_AsksToCheckAClockThatRunsAhead(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.signIn("anna")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if err := h.st.SetSyncState(h.ctx, map[string]string{store.StateAgentSeen: now, store.StateOnline: "true",
		store.StateClockAhead: now}); err != nil {
		t.Fatal(err)
	}
	const warning = "Die Uhr dieses Laptops geht vor. Das Rathaus hat die Änderungen mit seiner eigenen Uhrzeit übernommen; bitte Datum und Uhrzeit des Laptops prüfen."
	h.waitText(warning)
	if err := h.st.SetSyncState(h.ctx, map[string]string{store.StateClockAhead: ""}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the warning to go", func() bool { return !h.hasText(warning) })
}

// A laptop and a server that speak no common protocol revision: the agent
// records who needs the update, and the bar says so instead of a failed
// sync; the pending changes are still counted as waiting here.
func TestSyncBar_AsksForAnUpdate(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.signIn("anna")
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if err := h.st.SetSyncState(h.ctx, map[string]string{store.StateAgentSeen: now, store.StateOnline: "true",
		store.StateUpdate: "laptop", store.StatePhase: "backoff"}); err != nil {
		t.Fatal(err)
	}
	h.waitText("Bitte Bürgerkoffer aktualisieren")
	h.waitText("Dieser Laptop ist älter als der Server des Rathauses; bis zum Update wird nichts übertragen. Alle Änderungen bleiben hier gespeichert. Bitte die IT verständigen.")
	if err := h.st.SetSyncState(h.ctx, map[string]string{store.StateUpdate: "server"}); err != nil {
		t.Fatal(err)
	}
	h.waitText("Der Server des Rathauses ist älter als dieser Laptop; bis er aktualisiert ist, wird nichts übertragen. Alle Änderungen bleiben hier gespeichert. Bitte die IT verständigen.")
	if err := h.st.SetSyncState(h.ctx, map[string]string{store.StateUpdate: ""}); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the request to go", func() bool { return !h.hasText("Bitte Bürgerkoffer aktualisieren") })
}
