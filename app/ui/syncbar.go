package ui

import (
	"context"
	"errors"
	"image/color"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// The sync status bar, at the bottom of every screen. `syncd agent` runs
// as its own process on the same database and writes what it is doing into
// the store's sync state; the Kit's poller reads it off the UI goroutine
// once a second. "Jetzt synchronisieren" asks the agent through the same
// table (store.RequestSync): the app never talks to the server itself.

// agentSilence is how long the agent may be quiet before the bar says it is
// not running: its heartbeat comes every 20 s.
const agentSilence = 2 * time.Minute

// syncStatus is one reading of the sync state.
type syncStatus struct {
	read        bool
	enrolled    bool
	agentSeen   time.Time // the agent's last attempt
	online      bool
	phase       string
	pending     int64
	rejected    int64 // changes the town hall refused for good
	done, total int64
	lastSuccess time.Time
	lastError   string
	clockAhead  bool   // the server had to restamp this laptop's changes
	update      string // "laptop" or "server": no common protocol, that side needs an update
	conflicts   int
	readErr     error
}

// readSyncStatus reads the sync state, the outbox and the open conflicts.
func (k *Kit) readSyncStatus(ctx context.Context) syncStatus {
	s := syncStatus{read: true}
	e, err := k.Store.Enrolment(ctx)
	if err != nil && !errors.Is(err, store.ErrNotEnrolled) {
		s.readErr = err
		return s
	}
	s.enrolled = err == nil && e.Token != ""
	kv, err := k.Store.SyncState(ctx)
	if err != nil {
		s.readErr = err
		return s
	}
	if s.pending, _, err = k.Store.Pending(ctx); err != nil {
		s.readErr = err
		return s
	}
	if s.rejected, err = k.Store.RejectedCount(ctx); err != nil {
		s.readErr = err
		return s
	}
	s.online = kv[store.StateOnline] == "true"
	s.phase = kv[store.StatePhase]
	s.lastError = kv[store.StateLastError]
	s.clockAhead = kv[store.StateClockAhead] != ""
	s.update = kv[store.StateUpdate]
	for _, key := range []string{store.StateAgentSeen, store.StateLastAttempt} {
		if t, err := time.Parse(time.RFC3339Nano, kv[key]); err == nil && t.After(s.agentSeen) {
			s.agentSeen = t
		}
	}
	s.lastSuccess, _ = time.Parse(time.RFC3339Nano, kv[store.StateLastSuccess])
	s.done, _ = strconv.ParseInt(kv[store.StateProgressDone], 10, 64)
	s.total, _ = strconv.ParseInt(kv[store.StateProgressAll], 10, 64)
	if ss := k.Session(); ss != nil {
		// Counted from the conflict records' plain fields: opening
		// their values once a second would decrypt for nothing.
		if cs, err := ss.List(ctx, domain.TypeConflict, domain.Fields{"status": "open"}); err == nil {
			s.conflicts = len(cs)
		}
	} else {
		s.conflicts, _ = strconv.Atoi(kv[store.StateConflicts])
	}
	return s
}

type syncBar struct {
	k        *Kit
	object   fyne.CanvasObject
	dot      *canvas.Circle
	state    *widget.Label
	pending  *widget.Label
	progress *widget.ProgressBar
	working  *widget.ProgressBarInfinite
	last     *widget.Label
	problem  *widget.Label
	now      *widget.Button
	status   syncStatus
	asked    time.Time // when "sync now" was pressed
}

func (k *Kit) newSyncBar() *syncBar {
	b := &syncBar{k: k, dot: canvas.NewCircle(color.Gray{Y: 0x99}),
		state: bold(""), pending: widget.NewLabel(""), last: widget.NewLabel(""),
		progress: widget.NewProgressBar(), working: widget.NewProgressBarInfinite(), problem: problem()}
	b.working.Stop()
	b.working.Hide()
	b.progress.Hide()
	b.now = widget.NewButton("", b.syncNow)
	dot := container.NewCenter(container.NewGridWrap(fyne.NewSize(14, 14), b.dot))
	bars := container.NewGridWrap(fyne.NewSize(160, b.progress.MinSize().Height), container.NewStack(b.progress, b.working))
	// Two lines, so that the bar never needs more width than the laptop's
	// window (on one line, "Offline", a pending count and the date of the
	// last sync made the window grow): what is pending gives way (ellipsis)
	// rather than the window; the line below says the same in words.
	b.pending.Truncation = fyne.TextTruncateEllipsis
	b.object = container.NewVBox(widget.NewSeparator(),
		container.NewBorder(nil, nil, container.NewHBox(dot, b.state), container.NewHBox(bars, b.now), b.pending),
		b.last,
		b.problem)
	b.render()
	return b
}

// syncNow asks the agent to sync at once.
func (b *syncBar) syncNow() {
	b.k.touch()
	b.now.Disable()
	b.asked = b.k.Now()
	b.k.workAlways(func(ctx context.Context) error { return b.k.Store.RequestSync(ctx) }, func(err error) {
		b.now.Enable()
		if err != nil {
			b.k.setProblem(b.problem, b.k.message(err))
			return
		}
		b.render()
	})
}

func (b *syncBar) update(s syncStatus) {
	b.status = s
	b.render()
}

// render shows the last reading, in the clerk's language.
func (b *syncBar) render() {
	k, s := b.k, b.status
	b.now.SetText(k.t("Jetzt synchronisieren"))
	now := k.Now()
	agentAlive := !s.agentSeen.IsZero() && now.Sub(s.agentSeen) < agentSilence
	var dot color.Color = color.NRGBA{R: 0x9e, G: 0x9e, B: 0x9e, A: 0xff}
	var state, trouble string
	switch {
	case !s.read:
		state = k.t("Sync-Status wird gelesen …")
	case s.readErr != nil:
		state = k.t("Sync-Status unbekannt")
		trouble = k.message(s.readErr)
	case !s.enrolled:
		state = k.t("Nicht mit dem Rathaus verbunden")
		trouble = k.t("Dieser Laptop ist beim Rathaus noch nicht angemeldet (Einstellungen → Laptop anmelden). Alles wird sicher hier gespeichert.")
	case s.phase == "revoked":
		dot = color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
		state = k.t("Vom Rathaus gesperrt")
		trouble = k.t("Das Rathaus nimmt von diesem Laptop nichts mehr an (Gerät gesperrt). Die Daten bleiben hier; bitte die IT verständigen.")
	case s.update != "":
		// Not a failure to retry: nothing syncs until one side is
		// updated, and everything waits here until then.
		dot = color.NRGBA{R: 0xef, G: 0x6c, B: 0x00, A: 0xff}
		state = k.t("Bitte Bürgerkoffer aktualisieren")
		if s.update == "server" {
			trouble = k.t("Der Server des Rathauses ist älter als dieser Laptop; bis er aktualisiert ist, wird nichts übertragen. Alle Änderungen bleiben hier gespeichert. Bitte die IT verständigen.")
		} else {
			trouble = k.t("Dieser Laptop ist älter als der Server des Rathauses; bis zum Update wird nichts übertragen. Alle Änderungen bleiben hier gespeichert. Bitte die IT verständigen.")
		}
	case !agentAlive:
		state = k.t("Sync-Dienst läuft nicht")
		trouble = k.t("Der Synchronisierungsdienst meldet sich nicht. Die Daten bleiben auf dem Laptop; bitte den Laptop neu starten oder die IT verständigen.")
	case s.online:
		dot = color.NRGBA{R: 0x2e, G: 0x7d, B: 0x32, A: 0xff}
		state = k.t("Online")
		trouble = s.lastError
	default:
		dot = color.NRGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
		state = k.t("Offline")
		if s.lastError != "" {
			trouble = s.lastError
		} else {
			trouble = k.t("Keine Verbindung zum Rathaus. Es wird weiter hier gespeichert und später übertragen.")
		}
	}
	b.dot.FillColor = dot
	b.dot.Refresh()
	b.state.SetText(state)
	var pending []string
	switch {
	case !s.read || s.readErr != nil:
	case s.pending == 0 && s.rejected == 0:
		pending = append(pending, k.t("Alles übertragen"))
	case s.pending == 1:
		pending = append(pending, k.t("1 Änderung noch nicht im Rathaus"))
	case s.pending > 1:
		pending = append(pending, k.tf("%d Änderungen noch nicht im Rathaus", s.pending))
	}
	if s.read && s.readErr == nil && s.rejected > 0 {
		// Never "Alles übertragen" while something will not arrive.
		if s.rejected == 1 {
			pending = append(pending, k.t("1 Änderung vom Rathaus abgelehnt"))
		} else {
			pending = append(pending, k.tf("%d Änderungen vom Rathaus abgelehnt", s.rejected))
		}
		if trouble == "" {
			trouble = k.t("Das Rathaus hat Änderungen von diesem Laptop nicht angenommen. Sie bleiben hier gespeichert; welche es sind, steht unter „Konflikte“. Bitte die IT verständigen.")
		}
	}
	if trouble == "" && s.read && s.clockAhead {
		trouble = k.t("Die Uhr dieses Laptops geht vor. Das Rathaus hat die Änderungen mit seiner eigenen Uhrzeit übernommen; bitte Datum und Uhrzeit des Laptops prüfen.")
	}
	b.pending.SetText(strings.Join(pending, " · "))
	syncing := agentAlive && (s.phase == "pushing" || s.phase == "uploading" || s.phase == "pulling")
	switch {
	case syncing && s.total > 0:
		b.working.Stop()
		b.working.Hide()
		b.progress.Max = float64(s.total)
		b.progress.SetValue(float64(min(s.done, s.total)))
		b.progress.Show()
	case syncing:
		b.progress.Hide()
		b.working.Show()
		b.working.Start()
	default:
		b.progress.Hide()
		b.working.Stop()
		b.working.Hide()
	}
	switch {
	case !b.asked.IsZero() && (s.lastSuccess.IsZero() || s.lastSuccess.Before(b.asked)) && now.Sub(b.asked) < time.Minute:
		b.last.SetText(k.t("Synchronisierung angefordert …"))
	case s.lastSuccess.IsZero():
		b.last.SetText(k.t("Noch nie synchronisiert"))
	default:
		b.last.SetText(k.tf("Zuletzt synchronisiert: %s", k.when(s.lastSuccess)))
	}
	k.setProblem(b.problem, trouble)
}

// when formats a time for a clerk: the time today, else the date too.
func (k *Kit) when(t time.Time) string {
	t = t.In(k.Now().Location())
	if t.Format("2006-01-02") == k.today() {
		return k.tf("heute %s", t.Format("15:04"))
	}
	return t.Format("02.01.2006 15:04")
}
