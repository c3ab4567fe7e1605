package ui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// A new laptop asks for the first clerk; bad input is refused in words;
// the clerk then plans the day's visit when the town hall has not.
func TestSetupAndPlanTheDay(t *testing.T) {
	newTestApp()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "field.db"), store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1100, 760))
	k := &Kit{Store: st, Catalog: cat, Window: w, Tick: 50 * time.Millisecond}
	if err := k.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	h := &harness{t: t, ctx: ctx, st: st, k: k, w: w}
	h.waitScreen("setup")
	h.waitText("Bürgerkoffer – Ersteinrichtung")
	h.shot("00-ersteinrichtung")
	es := h.entries()
	if len(es) != 4 {
		t.Fatalf("setup has %d entries, want 4", len(es))
	}
	for i, s := range []string{"amueller", "Anna Müller", "Feldtag-2026!", "Feldtag-2027!"} {
		h.typeInto(es[i], s)
	}
	h.submitForm()
	h.waitText("Die Passwörter stimmen nicht überein.")
	h.typeInto(es[2], "kurz")
	h.typeInto(es[3], "kurz")
	h.submitForm()
	h.waitText("Das Passwort muss mindestens 8 Zeichen haben.")
	h.typeInto(es[2], "Feldtag-2026!")
	h.typeInto(es[3], "Feldtag-2026!")
	h.submitForm()
	h.waitScreen("day")
	h.waitText("Für heute ist noch kein Einsatz geplant.")
	h.shot("17-tag-ohne-einsatz")
	h.submitForm()
	h.waitText("Bitte den Ort angeben.")
	h.waitFor("the visit form", func() bool { es = h.entries(); return len(es) >= 2 })
	h.typeInto(es[0], "Bürgerhaus Nord")
	h.typeInto(es[1], "Nordring 4")
	h.submitForm()
	h.waitText("Bürgerhaus Nord")
	h.waitText("Keine Termine gebucht.")
	vs, err := k.Session().List(ctx, domain.TypeVisit, domain.Fields{"day": time.Now().Format("2006-01-02")})
	if err != nil || len(vs) != 1 || vs[0].Fields["place"] != "Bürgerhaus Nord" {
		t.Errorf("visits %v, %v", vs, err)
	}
}

// After the inactivity timeout the laptop locks: the data key leaves
// memory, nothing of the case shows, only the clerk's password opens it,
// and the clerk is back in the form as it was.
func TestInactivityLock(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.signIn("anna")
	h.waitText("Für heute ist noch kein Einsatz geplant.")
	ss := h.session("anna")
	if _, err := ss.CreateVisit(h.ctx, domain.Visit{Place: "Rathaus-Außenstelle Süd", Day: time.Now().Format("2006-01-02")}); err != nil {
		t.Fatal(err)
	}
	h.tap("Neuer Antrag ohne Termin")
	h.waitScreen("services")
	h.shot("11-leistung-waehlen")
	h.tap("Meldebescheinigung")
	h.waitScreen("case")
	h.fill("surname", "Beispielfrau")

	h.k.mu.Lock()
	h.k.settings.LockAfter = 400 * time.Millisecond
	h.k.mu.Unlock()
	h.waitScreen("lock")
	if h.k.Session() != nil {
		t.Fatal("session still open when locked")
	}
	for _, s := range h.texts() {
		if strings.Contains(s, "Beispielfrau") || strings.Contains(s, "Meldebescheinigung") {
			t.Errorf("the lock screen shows %q", s)
		}
	}
	h.waitText("Angemeldet war Anna Schmidt.")
	h.shot("12-gesperrt")
	h.k.mu.Lock()
	h.k.settings.LockAfter = time.Hour
	h.k.mu.Unlock()
	pw := h.entries()[0]
	h.typeInto(pw, "falsch-falsch")
	h.tap("Entsperren")
	h.waitText("Benutzername oder Passwort ist falsch.")
	h.typeInto(pw, testPassword)
	h.tap("Entsperren")
	h.waitScreen("case")
	if got := h.value("surname"); got != "Beispielfrau" {
		t.Errorf("after unlocking the form shows %q", got)
	}

	// "Sperren" locks at once; another clerk signing in starts at the day.
	h.tap("Sperren")
	h.waitScreen("lock")
	h.tap("Andere Person anmelden")
	h.signIn("ben")
	h.waitText("Angemeldet: Ben Keller")
}

// Typing counts as activity in any entry, not only the case form's: a
// clerk adding a colleague in the settings is not locked out midway.
func TestTypingKeepsTheLaptopUnlocked(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.signIn("anna")
	h.tap("Einstellungen")
	h.waitText("Personen auf diesem Laptop")
	var name *widget.Entry
	h.waitFor("the new clerk's entry", func() bool {
		es := h.entries()
		if len(es) < 4 {
			return false
		}
		name = es[len(es)-4] // Benutzer, Anzeigename, Passwort, Wiederholen
		return true
	})
	h.k.mu.Lock()
	h.k.settings.LockAfter = 600 * time.Millisecond
	h.k.mu.Unlock()
	for i := range 8 {
		h.do(func() {
			h.w.Canvas().Focus(name)
			test.Type(name, string(rune('a'+i)))
		})
		time.Sleep(200 * time.Millisecond)
	}
	if s := h.screen(); s != "settings" {
		t.Fatalf("locked while the clerk was typing (screen %s)", s)
	}
	h.waitScreen("lock")
}

// Scrolling counts as activity: a citizen reading a long form or summary
// scrolls and types nothing, and the laptop must not lock under them.
func TestScrollingKeepsTheLaptopUnlocked(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	h.signIn("anna")
	h.tap("Einstellungen")
	h.waitText("Personen auf diesem Laptop")
	var scroll *container.Scroll
	h.waitFor("the settings' scroll area", func() bool {
		for _, o := range h.walk() {
			if s, ok := o.(*container.Scroll); ok {
				scroll = s
				return true
			}
		}
		return false
	})
	h.k.mu.Lock()
	h.k.settings.LockAfter = 600 * time.Millisecond
	h.k.mu.Unlock()
	for i := range 8 {
		dy := float32(-40) // down
		if i%2 == 1 {
			dy = 40
		}
		var before, after fyne.Position
		h.do(func() {
			before = scroll.Offset
			scroll.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.Delta{DY: dy}})
			after = scroll.Offset
		})
		if before == after {
			t.Fatalf("scroll %d did not move the settings (offset %v): the test needs a screen taller than the window", i, before)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := h.screen(); s != "settings" {
		t.Fatalf("locked while the citizen was scrolling (screen %s)", s)
	}
	h.waitScreen("lock")
}
