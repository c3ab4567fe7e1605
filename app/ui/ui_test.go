package ui_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/app/ui"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/store"
)

func objects(w fyne.Window) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	fyne.DoAndWait(func() { out = test.LaidOutObjects(w.Content()) })
	return out
}

func entries(w fyne.Window) []*widget.Entry {
	var es []*widget.Entry
	for _, o := range objects(w) {
		if e, ok := o.(*widget.Entry); ok {
			es = append(es, e)
		}
	}
	return es
}

func submit(t *testing.T, w fyne.Window) {
	t.Helper()
	for _, o := range objects(w) {
		if f, ok := o.(*widget.Form); ok {
			fyne.DoAndWait(f.OnSubmit)
			return
		}
	}
	t.Fatal("no form on screen")
}

func hasText(w fyne.Window, s string) bool {
	for _, o := range objects(w) {
		if l, ok := o.(*widget.Label); ok && l.Text == s {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSetupLockAndSignIn(t *testing.T) {
	test.NewApp()
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
	w.Resize(fyne.NewSize(800, 600))
	k := &ui.Kit{Store: st, Catalog: cat, Window: w}
	if err := k.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !hasText(w, "Bürgerkoffer – Ersteinrichtung") {
		t.Fatal("a new laptop does not show the setup screen")
	}
	es := entries(w)
	if len(es) != 4 {
		t.Fatalf("setup has %d entries, want 4", len(es))
	}
	for i, s := range []string{"amueller", "Anna Müller", "Feldtag-2026!", "Feldtag-2027!"} {
		test.Type(es[i], s)
	}
	submit(t, w)
	if !hasText(w, "Die Passwörter stimmen nicht überein.") {
		t.Fatal("mismatched passwords not refused with a message")
	}
	fyne.DoAndWait(func() { es[3].SetText("Feldtag-2026!") })
	submit(t, w)
	waitFor(t, "the service list", func() bool { return hasText(w, "Angemeldet: Anna Müller") })

	// Lock: back to sign-in; a wrong password is refused in plain German.
	for _, o := range objects(w) {
		if b, ok := o.(*widget.Button); ok && b.Text == "Sperren" {
			test.Tap(b)
		}
	}
	waitFor(t, "the sign-in screen", func() bool { return hasText(w, "Bürgerkoffer – Anmeldung") })
	if k.Session() != nil {
		t.Fatal("session still open after locking")
	}
	es = entries(w)
	test.Type(es[0], "amueller")
	test.Type(es[1], "falsch-falsch")
	submit(t, w)
	waitFor(t, "the wrong-password message", func() bool { return hasText(w, "Benutzername oder Passwort ist falsch.") })
	test.Type(es[1], "Feldtag-2026!")
	submit(t, w)
	waitFor(t, "the service list", func() bool { return hasText(w, "Angemeldet: Anna Müller") })
}
