// Package ui holds the clerks' screens, one file each: sign-in and lock
// (signin.go), the day (day.go), a case's form (caseform.go), the summary
// the citizen reviews (summary.go), the signature (signature.go), sign-off
// and sealing (signoff.go), conflicts (conflicts.go), settings
// (settings.go), and the sync status bar that is always visible
// (syncbar.go). This file is the frame: navigation, the inactivity lock,
// and the one way screens run work off the UI goroutine.
//
// The package never imports fyne.io/fyne/v2/app, so every screen runs
// headless under fyne.io/fyne/v2/test with CGO_ENABLED=0. Store, crypto and
// device work runs in goroutines the Kit owns; results come back through
// fyne.Do.
package ui

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// Kit is the app: what the screens work on and the frame around them.
type Kit struct {
	Store   *store.Store
	Catalog *catalog.Catalog
	Window  fyne.Window
	// Lang, if set, overrides the saved language for this run.
	Lang string
	// Open opens serial ports; nil means hardware.OpenSerial.
	Open hardware.Opener
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DemoHint, if set, is shown on the sign-in screen (demo mode).
	DemoHint string
	// Tick is how often the sync status and the inactivity lock are
	// checked; zero means one second.
	Tick time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	uiMu     sync.Mutex // see do
	mu       sync.Mutex // guards session, settings and closed
	closed   bool
	session  *store.Session
	settings Settings

	lastActive atomic.Int64 // unix nanoseconds of the last input

	// UI goroutine only.
	cur       *screen
	root      *fyne.Container
	body      *fyne.Container
	header    *fyne.Container
	bar       *syncBar
	conflicts int    // open conflicts and refused changes, for the header
	notice    string // shown once on the next day screen
	lockedBy  domain.Clerk
	resume    *screen                    // the screen to return to after unlocking
	formRows  map[string]*fieldRow       // the case form on screen, by field id
	gen       int                        // counts screens shown: work done for an old one is dropped
	unlocking bool                       // a sign-in is running
	watched   map[fyne.CanvasObject]bool // inputs that already count as activity
	scrolls   map[*container.Scroll]bool // scroll areas that already do
}

// screen is what is shown: it can be built again (after a language change
// or an unlock) from state that lives outside its widgets.
type screen struct {
	name  string // "day", "case", ...: for tests and screenshots
	build func() fyne.CanvasObject
	stops []func()
}

// Start loads the settings, starts the sync status poller and the
// inactivity lock, and shows the first screen: setup on a new laptop,
// sign-in otherwise. It stops when ctx ends or Close is called.
func (k *Kit) Start(ctx context.Context) error {
	if k.Now == nil {
		k.Now = time.Now
	}
	if k.Open == nil {
		k.Open = hardware.OpenSerial
	}
	if k.Tick <= 0 {
		k.Tick = time.Second
	}
	s, err := LoadSettings(ctx, k.Store)
	if err != nil {
		return err
	}
	if k.Lang != "" {
		s.Lang = k.Lang
	}
	k.settings = s
	k.ctx, k.cancel = context.WithCancel(ctx)
	k.touch()
	k.bar = k.newSyncBar()
	k.body = container.NewStack()
	k.header = container.NewStack()
	k.root = container.NewBorder(k.header, k.bar.object, nil, nil, k.body)
	k.Window.SetContent(k.root)
	if dc, ok := k.Window.Canvas().(desktop.Canvas); ok {
		dc.SetOnKeyDown(func(*fyne.KeyEvent) { k.touch() })
	}
	ok, err := k.Store.SetUp(ctx)
	if err != nil {
		return err
	}
	if ok {
		k.show("signin", k.signIn)
	} else {
		k.show("setup", k.setup)
	}
	k.spawn(k.poll)
	return nil
}

// do runs fn on the UI goroutine (fyne.Do), one at a time: fyne's test
// driver runs fyne.Do at once on the calling goroutine, so without the
// lock two callbacks (the status poller, a finished save) could touch the
// widgets together in the headless tests. The app itself has one UI
// goroutine, where the lock is never contended.
func (k *Kit) do(fn func()) {
	fyne.Do(func() {
		k.uiMu.Lock()
		defer k.uiMu.Unlock()
		fn()
	})
}

// spawn runs fn in a goroutine the Kit owns: Close waits for it. fn must
// return when k.ctx ends. After Close nothing is started any more (a
// callback still queued on the UI goroutine may try).
func (k *Kit) spawn(fn func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		fn()
	}()
}

// Close stops the Kit's goroutines and locks the session.
func (k *Kit) Close() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	if k.cancel != nil {
		k.cancel()
	}
	k.wg.Wait()
	k.mu.Lock()
	if k.session != nil {
		k.session.Lock()
		k.session = nil
	}
	k.mu.Unlock()
}

// Session returns the unlocked session, nil while locked.
func (k *Kit) Session() *store.Session {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.session
}

// Screen names what is shown ("signin", "day", "case", ...).
func (k *Kit) Screen() string {
	if k.cur == nil {
		return ""
	}
	return k.cur.name
}

// Settings returns the settings in force.
func (k *Kit) Settings() Settings {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.settings
}

func (k *Kit) lang() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.settings.Lang
}

// touch records input: the inactivity lock counts from the last one.
func (k *Kit) touch() { k.lastActive.Store(k.Now().UnixNano()) }

// show replaces the screen. The old screen's stops run first (a device it
// had opened is closed).
func (k *Kit) show(name string, build func() fyne.CanvasObject) {
	k.leave()
	k.cur = &screen{name: name, build: build}
	k.render()
}

// rebuild builds the current screen again from its state.
func (k *Kit) rebuild() {
	if k.cur == nil {
		return
	}
	k.leave()
	k.render()
}

func (k *Kit) leave() {
	if k.cur == nil {
		return
	}
	for _, stop := range k.cur.stops {
		stop()
	}
	k.cur.stops = nil
}

func (k *Kit) render() {
	k.gen++
	k.watched = nil
	k.scrolls = nil
	k.touch()
	obj := k.cur.build()
	if k.Session() != nil && k.cur.name != "lock" {
		k.header.Objects = []fyne.CanvasObject{k.headerBar()}
	} else {
		k.header.Objects = nil
	}
	k.body.Objects = []fyne.CanvasObject{obj}
	k.bar.render()
	k.relayout()
}

// relayout lays the window out again after a part of a screen changed
// size (a warning appeared, a field was hidden): fyne lays out a
// container's children, not its parents.
func (k *Kit) relayout() {
	k.watchInput(k.root)
	k.root.Refresh()
}

// watchInput makes every input on screen count as activity for the
// inactivity lock: fyne has no window-wide hook for typed keys that go to
// a focused entry. Scrolling counts too; pointer moves are not seen (a tap
// on a button is, through k.button).
func (k *Kit) watchInput(o fyne.CanvasObject) {
	if k.watched == nil {
		k.watched = map[fyne.CanvasObject]bool{}
	}
	var walk func(o fyne.CanvasObject, in *container.Scroll)
	walk = func(o fyne.CanvasObject, in *container.Scroll) {
		if o == nil || k.watched[o] {
			return
		}
		switch w := o.(type) {
		case *wheelPass:
			w.outer = in // the wheel over an entry scrolls its screen
			return
		case *fyne.Container:
			for _, c := range w.Objects {
				walk(c, in)
			}
			return
		case *container.Scroll:
			// A citizen reading a long summary scrolls and types
			// nothing. (The Kit's own scrollTo does not call
			// OnScrolled, so only a person counts.)
			if !k.scrolls[w] {
				if k.scrolls == nil {
					k.scrolls = map[*container.Scroll]bool{}
				}
				k.scrolls[w] = true
				prev := w.OnScrolled
				w.OnScrolled = func(p fyne.Position) {
					k.touch()
					if prev != nil {
						prev(p)
					}
				}
			}
			walk(w.Content, w) // its content may be new
			return
		case *widget.Form:
			for _, it := range w.Items {
				walk(it.Widget, in)
			}
			return
		case *widget.Entry:
			prev := w.OnChanged
			w.OnChanged = func(s string) {
				k.touch()
				if prev != nil {
					prev(s)
				}
			}
		case *widget.SelectEntry:
			prev := w.OnChanged
			w.OnChanged = func(s string) {
				k.touch()
				if prev != nil {
					prev(s)
				}
			}
		case *widget.Select:
			prev := w.OnChanged
			w.OnChanged = func(s string) {
				k.touch()
				if prev != nil {
					prev(s)
				}
			}
		case *widget.Check:
			prev := w.OnChanged
			w.OnChanged = func(b bool) {
				k.touch()
				if prev != nil {
					prev(b)
				}
			}
		default:
			return
		}
		k.watched[o] = true
	}
	walk(o, nil)
}

// onLeave registers what to stop when the current screen goes away.
func (k *Kit) onLeave(stop func()) {
	if k.cur != nil {
		k.cur.stops = append(k.cur.stops, stop)
	}
}

// work runs fn off the UI goroutine and then done on it, unless the
// screen changed meanwhile (the clerk went elsewhere, or the laptop
// locked): done then has nothing left to update, and must not navigate
// over a lock screen. fn gets the Kit's context; everything it starts must
// end with it.
func (k *Kit) work(fn func(ctx context.Context) error, done func(error)) {
	gen := k.gen
	k.workAlways(fn, func(err error) {
		if k.gen == gen && done != nil {
			done(err)
		}
	})
}

// workAlways is work whose done runs whatever the screen (the status bar,
// which outlives screens).
func (k *Kit) workAlways(fn func(ctx context.Context) error, done func(error)) {
	k.spawn(func() {
		err := fn(k.ctx)
		if done != nil && k.ctx.Err() == nil {
			k.do(func() {
				if k.ctx.Err() == nil {
					done(err)
				}
			})
		}
	})
}

// button is a button that counts as input for the inactivity lock.
func (k *Kit) button(label string, tapped func()) *widget.Button {
	return widget.NewButton(k.t(label), func() {
		k.touch()
		tapped()
	})
}

// signedIn makes ss the session and shows the day, or the screen the
// clerk was on when the laptop locked.
func (k *Kit) signedIn(ss *store.Session) {
	k.mu.Lock()
	old := k.session
	k.session = ss
	k.mu.Unlock()
	if old != nil && old != ss {
		old.Lock()
	}
	// Records written before the laptop was enrolled (or while a seal
	// failed) are sealed for the town hall now that a key is open.
	k.workAlways(func(ctx context.Context) error {
		_, err := ss.SealPending(ctx)
		return err
	}, nil)
	resume := k.resume
	k.resume = nil
	if resume != nil && ss.Clerk().ID == k.lockedBy.ID {
		k.leave()
		k.cur = resume
		k.render()
		return
	}
	k.showDay()
}

// Lock locks the session: the data key leaves memory, the screen shows
// only who was signed in, and only that clerk's password (or another
// clerk's sign-in) opens it again. What was on screen is kept to return to.
func (k *Kit) Lock() {
	k.mu.Lock()
	ss := k.session
	k.session = nil
	k.mu.Unlock()
	if ss == nil {
		return
	}
	k.lockedBy = ss.Clerk()
	ss.Lock()
	k.leave()
	if k.cur != nil && k.cur.name != "lock" {
		k.resume = k.cur
	}
	k.cur = &screen{name: "lock", build: k.lockScreen}
	k.render()
}

// poll is the Kit's background loop: sync status and the inactivity lock.
func (k *Kit) poll() {
	t := time.NewTicker(k.Tick)
	defer t.Stop()
	for {
		st := k.readSyncStatus(k.ctx)
		idle := k.Now().Sub(time.Unix(0, k.lastActive.Load()))
		lockDue := k.Session() != nil && idle >= k.Settings().LockAfter
		k.do(func() {
			if k.ctx.Err() != nil {
				return
			}
			k.bar.update(st)
			// The header counts what waits for a clerk: open conflicts
			// and changes the town hall refused (both listed there).
			if n := st.conflicts + int(st.rejected); n != k.conflicts && k.Session() != nil && k.cur != nil && k.cur.name != "lock" {
				k.conflicts = n
				k.header.Objects = []fyne.CanvasObject{k.headerBar()}
				k.relayout()
			}
			if lockDue && k.Session() != nil {
				k.Lock()
			}
		})
		select {
		case <-k.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// headerBar is the top line while signed in: where, who, and the way to
// every screen.
func (k *Kit) headerBar() fyne.CanvasObject {
	ss := k.Session()
	who := ""
	if ss != nil {
		who = ss.Clerk().DisplayName
	}
	title := widget.NewLabelWithStyle("Bürgerkoffer", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	conf := k.t("Konflikte")
	if k.conflicts > 0 {
		conf = k.tf("Konflikte (%d)", k.conflicts)
	}
	bConf := k.button(conf, k.showConflicts)
	if k.conflicts > 0 {
		bConf.Importance = widget.WarningImportance
	}
	return container.NewHBox(title,
		k.button("Heute", k.showDay), bConf, k.button("Einstellungen", k.showSettings),
		layoutSpacer(),
		widget.NewLabel(k.tf("Angemeldet: %s", who)),
		k.button("Sperren", k.Lock))
}

// message says what went wrong in words a clerk can act on, without the
// data involved (the error itself may name fields and ids).
func (k *Kit) message(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, store.ErrLocked):
		return k.t("Der Laptop wurde gesperrt. Bitte entsperren und erneut versuchen.")
	case errors.Is(err, store.ErrImmutable):
		return k.t("Der Antrag ist unterschrieben und kann nicht mehr geändert werden. Änderungen werden als Nachtrag erfasst.")
	case errors.Is(err, store.ErrStale):
		return k.t("Der Datensatz wurde inzwischen geändert (z. B. durch die Synchronisierung). Bitte neu öffnen.")
	case errors.Is(err, store.ErrShredded):
		return k.t("Dieser Antrag ist versiegelt und an das Rathaus übertragen; sein Inhalt ist auf dem Laptop nicht mehr lesbar.")
	case errors.Is(err, store.ErrDiskFull):
		return k.t("Der Speicher des Laptops ist voll. Es wurde nichts verändert. Bitte die IT verständigen.")
	case errors.Is(err, store.ErrNotFound):
		return k.t("Der Datensatz wurde nicht gefunden.")
	case errors.Is(err, context.Canceled):
		return k.t("Abgebrochen.")
	}
	return k.t("Speichern oder Lesen ist fehlgeschlagen. Bitte wenden Sie sich an die IT.")
}

// today is the visit's calendar day in the laptop's time zone.
func (k *Kit) today() string { return k.Now().Format("2006-01-02") }
