package ui

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

// The harness runs the real thing headless: a field store in a real
// SQLite file, the real central server's handler on a loopback port, the
// ID reader and signature pad simulators on real pseudo-terminals, and the
// app's screens in a fyne test window. Tests drive the widgets as a clerk
// would and read back the store and the server.

const (
	testPassword = "Feldtag-2026!"
	tenant       = "musterstadt"
)

// germanID is the German ID card specimen (TD1): Erika Mustermann, expired.
var germanID = []string{
	"IDD<<T220001293<<<<<<<<<<<<<<<",
	"6408125<2010315D<<<<<<<<<<<<<4",
	"MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
}

type harness struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	k   *Kit
	w   fyne.Window
	srv *server.Server
	url string
	mrz *mrzsim.Simulator
	pad *padsim.Sim
}

type harnessOpt struct {
	noDevices bool
	clerks    [][2]string // user, display name; the first sets the laptop up
}

func newHarness(t *testing.T, o harnessOpt) *harness {
	t.Helper()
	newTestApp()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx}
	dir := t.TempDir()

	srv, err := server.Open(ctx, server.Config{DBPath: filepath.Join(dir, "central.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.CreateTenant(ctx, tenant, "Stadt Musterstadt"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	h.srv, h.url = srv, hs.URL

	st, err := store.Open(ctx, filepath.Join(dir, "field.db"), store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	if o.clerks == nil {
		o.clerks = [][2]string{{"anna", "Anna Schmidt"}, {"ben", "Ben Keller"}}
	}
	ss, err := st.Setup(ctx, o.clerks[0][0], o.clerks[0][1], []byte(testPassword))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range o.clerks[1:] {
		if _, err := ss.AddClerk(ctx, c[0], c[1], []byte(testPassword)); err != nil {
			t.Fatal(err)
		}
	}
	code, err := srv.IssueEnrolment(ctx, tenant, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Enrol(ctx, st, ss, agent.Enrolment{ServerURL: h.url, Code: code, Name: "test"}); err != nil {
		t.Fatal(err)
	}
	ss.Lock()

	s := DefaultSettings()
	if !o.noDevices {
		h.mrz, err = mrzsim.Start(ctx, mrzsim.Config{Documents: [][]string{germanID}, Interval: 300 * time.Millisecond})
		if errors.Is(err, sim.ErrUnsupported) {
			t.Skip("no pseudo-terminals here:", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.mrz.Close() })
		h.pad, err = padsim.Start(ctx, padsim.Config{Interval: 2 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.pad.Close() })
		s.IDReader, s.Pad = h.mrz.Path(), h.pad.Path()
	}
	if err := SaveSettings(ctx, st, s); err != nil {
		t.Fatal(err)
	}

	cat, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	h.w = test.NewTempWindow(t, nil)
	h.w.Resize(fyne.NewSize(1100, 760))
	h.k = &Kit{Store: st, Catalog: cat, Window: h.w, Tick: 50 * time.Millisecond}
	if err := h.k.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.k.Close)
	return h
}

// newTestApp is a headless app with the theme the clerks see (the test
// theme lacks sizes the screens use), so screenshots look like the app.
func newTestApp() {
	a := test.NewApp()
	a.Settings().SetTheme(theme.LightTheme())
}

// do runs fn as the UI goroutine would, in turn with the app's callbacks.
func (h *harness) do(fn func()) {
	fyne.DoAndWait(func() {
		h.k.uiMu.Lock()
		defer h.k.uiMu.Unlock()
		fn()
	})
}

// session opens a session of its own for setting up and checking data.
func (h *harness) session(user string) *store.Session {
	h.t.Helper()
	ss, err := h.st.Unlock(h.ctx, user, []byte(testPassword))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(ss.Lock)
	return ss
}

// sync runs the agent once, as `syncd agent` would.
func (h *harness) sync() agent.Report {
	h.t.Helper()
	a, err := agent.New(agent.Config{}, h.st)
	if err != nil {
		h.t.Fatal(err)
	}
	defer a.Close()
	rep, err := a.SyncOnce(h.ctx)
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return rep
}

// runAgent runs the agent as `syncd agent` does, polling the store; the
// returned function stops it and waits.
func (h *harness) runAgent() (stop func()) {
	h.t.Helper()
	a, err := agent.New(agent.Config{Poll: 50 * time.Millisecond, BackoffMin: 50 * time.Millisecond}, h.st)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			h.t.Errorf("agent: %v", err)
		}
		a.Close()
	}
	h.t.Cleanup(stop)
	return stop
}

// objects are what is on screen (visible) now.
func (h *harness) objects() []fyne.CanvasObject {
	var out []fyne.CanvasObject
	h.do(func() { out = h.walk() })
	return out
}

// walk lists the visible objects; call it on the UI goroutine (h.do).
func (h *harness) walk() []fyne.CanvasObject {
	var out []fyne.CanvasObject
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		out = append(out, o)
		switch c := o.(type) {
		case *fyne.Container:
			for _, x := range c.Objects {
				walk(x)
			}
		case fyne.Widget:
			r := test.TempWidgetRenderer(h.t, c)
			for _, x := range r.Objects() {
				walk(x)
			}
		}
	}
	walk(h.w.Content())
	return out
}

// texts are the texts on screen.
func (h *harness) texts() []string {
	var out []string
	h.do(func() {
		for _, o := range h.walk() {
			switch x := o.(type) {
			case *widget.Label:
				out = append(out, x.Text)
			case *widget.Button:
				out = append(out, x.Text)
			case *canvas.Text:
				out = append(out, x.Text)
			}
		}
	})
	return out
}

func (h *harness) hasText(sub string) bool {
	for _, s := range h.texts() {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; on screen %q: %q", what, h.screen(), h.texts())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) waitText(sub string) {
	h.t.Helper()
	h.waitFor("text "+sub, func() bool { return h.hasText(sub) })
}

func (h *harness) screen() string {
	var s string
	h.do(func() { s = h.k.Screen() })
	return s
}

func (h *harness) waitScreen(name string) {
	h.t.Helper()
	h.waitFor("screen "+name, func() bool { return h.screen() == name })
}

// button finds an enabled, visible button by its text (the first one).
func (h *harness) button(text string) *widget.Button {
	var found *widget.Button
	h.do(func() {
		for _, o := range h.walk() {
			if b, ok := o.(*widget.Button); ok && b.Text == text && !b.Disabled() && found == nil {
				found = b
			}
		}
	})
	return found
}

// tap waits for the button and taps it.
func (h *harness) tap(text string) {
	h.t.Helper()
	var b *widget.Button
	h.waitFor("button "+text, func() bool { b = h.button(text); return b != nil })
	h.do(func() { test.Tap(b) })
}

// entries are the visible text entries, in order.
func (h *harness) entries() []*widget.Entry {
	var es []*widget.Entry
	for _, o := range h.objects() {
		if e, ok := o.(*widget.Entry); ok {
			es = append(es, e)
		}
	}
	return es
}

// typeInto types s into an entry, as keys.
func (h *harness) typeInto(e *widget.Entry, s string) {
	h.do(func() {
		h.w.Canvas().Focus(e)
		e.SetText("")
		test.Type(e, s)
	})
}

// submitForm submits the first widget.Form on screen.
func (h *harness) submitForm() {
	h.t.Helper()
	for _, o := range h.objects() {
		if f, ok := o.(*widget.Form); ok && f.OnSubmit != nil {
			h.do(f.OnSubmit)
			return
		}
	}
	h.t.Fatal("no form on screen")
}

// signIn signs a clerk in through the sign-in screen.
func (h *harness) signIn(user string) {
	h.t.Helper()
	h.waitScreen("signin")
	es := h.entries()
	if len(es) != 2 {
		h.t.Fatalf("sign-in has %d entries", len(es))
	}
	h.typeInto(es[0], user)
	h.typeInto(es[1], testPassword)
	h.submitForm()
	h.waitScreen("day")
}

// shot renders the window to PNG, checks that it shows something, and
// keeps it in $SCREENSHOTS_DIR if set (`make screenshots`).
func (h *harness) shot(name string) {
	h.t.Helper()
	time.Sleep(150 * time.Millisecond) // let loads off the UI goroutine land
	var img image.Image
	var min, size fyne.Size
	h.do(func() {
		img = h.w.Canvas().Capture()
		min, size = h.w.Content().MinSize(), h.w.Canvas().Size()
	})
	if blank(img) {
		h.t.Errorf("screenshot %s is blank", name)
	}
	// A screen that needs more room than the window makes the real window
	// grow (off the laptop's screen, or over the taskbar).
	if min.Width > size.Width || min.Height > size.Height {
		h.t.Errorf("screen %s needs %.0f×%.0f, more than the window's %.0f×%.0f", name, min.Width, min.Height, size.Width, size.Height)
	}
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		h.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b.Bytes(), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// blank reports whether an image is one colour.
func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 {
				return false
			}
		}
	}
	return true
}

// inked counts dark pixels: ink on the signature picture.
func inked(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			if a > 0x8000 && r < 0x6000 && g < 0x6000 && bb < 0x8000 {
				n++
			}
		}
	}
	return n
}

// bookToday has the town hall book a visit for today at place with one
// appointment (of the service, for the citizen, now) and syncs it to the
// laptop; it returns the appointment's id.
func (h *harness) bookToday(place, serviceID, citizen string) string {
	h.t.Helper()
	now := time.Now()
	visit := domain.Visit{ID: domain.NewID(), Place: place, Day: now.Format("2006-01-02"), ClerkIDs: []string{"anna"}}
	apptID := domain.NewID()
	for _, c := range []server.CentralChange{
		{RecordID: visit.ID, RecordType: domain.TypeVisit, Set: visit.Fields().NonEmpty()},
		{RecordID: apptID, RecordType: domain.TypeAppointment, Set: domain.Appointment{VisitID: visit.ID,
			StartsAt: now, Minutes: 15, ServiceID: serviceID, Status: domain.AppointmentBooked,
			CitizenName: citizen}.Fields().NonEmpty()},
	} {
		c.Op, c.BaseVersion, c.Clerk = "create", -1, "admin"
		if _, err := h.srv.Central(h.ctx, tenant, c); err != nil {
			h.t.Fatal(err)
		}
	}
	h.sync()
	return apptID
}

// walkIn sets up a visit for today on the laptop, signs anna in and opens
// a new case of the service (by its German label) without appointment.
func (h *harness) walkIn(label string) *store.Session {
	h.t.Helper()
	ss := h.session("anna")
	if _, err := ss.CreateVisit(h.ctx, domain.Visit{Place: "Ortsamt Nord", Day: time.Now().Format("2006-01-02")}); err != nil {
		h.t.Fatal(err)
	}
	h.signIn("anna")
	h.tap("Neuer Antrag ohne Termin")
	h.tap(label)
	h.waitScreen("case")
	return ss
}
