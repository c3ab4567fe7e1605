// Package ui holds the clerks' screens. It never imports fyne.io/fyne/v2/app,
// so every screen runs headless under fyne.io/fyne/v2/test. Store and
// crypto work (an argon2id unlock takes ~80 ms) runs off the UI goroutine
// and comes back through fyne.Do.
package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/store"
)

// Kit is what the screens work on.
type Kit struct {
	Store   *store.Store
	Catalog *catalog.Catalog
	Lang    string // "de" (default) or "en"
	Window  fyne.Window

	session *store.Session
}

// Start shows the first screen: setup on a new laptop, sign-in otherwise.
func (k *Kit) Start(ctx context.Context) error {
	ok, err := k.Store.SetUp(ctx)
	if err != nil {
		return err
	}
	if ok {
		k.Window.SetContent(k.signIn(ctx))
	} else {
		k.Window.SetContent(k.setup(ctx))
	}
	return nil
}

// Session returns the unlocked session, nil while locked.
func (k *Kit) Session() *store.Session { return k.session }

func (k *Kit) signIn(ctx context.Context) fyne.CanvasObject {
	user := widget.NewEntry()
	user.SetPlaceHolder("Benutzername")
	pw := widget.NewPasswordEntry()
	msg := widget.NewLabel("")
	msg.Wrapping = fyne.TextWrapWord
	var submit func()
	form := widget.NewForm(widget.NewFormItem("Benutzer", user), widget.NewFormItem("Passwort", pw))
	form.SubmitText = "Anmelden"
	submit = func() {
		name, secret := user.Text, []byte(pw.Text)
		form.Disable()
		msg.SetText("Entsperre …")
		go func() {
			ss, err := k.Store.Unlock(ctx, name, secret)
			fyne.Do(func() {
				form.Enable()
				pw.SetText("")
				if err != nil {
					msg.SetText(unlockMessage(err))
					return
				}
				k.session = ss
				k.Window.SetContent(k.services())
			})
		}()
	}
	form.OnSubmit = submit
	return container.NewVBox(widget.NewLabelWithStyle("Bürgerkoffer – Anmeldung", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), form, msg)
}

func unlockMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrWrongPassword):
		return "Benutzername oder Passwort ist falsch."
	case errors.Is(err, store.ErrNotSetUp):
		return "Dieser Laptop ist noch nicht eingerichtet."
	default:
		return "Entsperren fehlgeschlagen. Bitte wenden Sie sich an die IT."
	}
}

func (k *Kit) setup(ctx context.Context) fyne.CanvasObject {
	user, display := widget.NewEntry(), widget.NewEntry()
	pw, pw2 := widget.NewPasswordEntry(), widget.NewPasswordEntry()
	msg := widget.NewLabel("")
	msg.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Benutzer", user), widget.NewFormItem("Anzeigename", display),
		widget.NewFormItem("Passwort", pw), widget.NewFormItem("Wiederholen", pw2))
	form.SubmitText = "Einrichten"
	form.OnSubmit = func() {
		if pw.Text != pw2.Text {
			msg.SetText("Die Passwörter stimmen nicht überein.")
			return
		}
		if len(pw.Text) < 8 {
			msg.SetText("Das Passwort muss mindestens 8 Zeichen haben.")
			return
		}
		name, dn, secret := user.Text, display.Text, []byte(pw.Text)
		form.Disable()
		go func() {
			ss, err := k.Store.Setup(ctx, name, dn, secret)
			fyne.Do(func() {
				form.Enable()
				if err != nil {
					msg.SetText("Einrichten fehlgeschlagen: Benutzername 1–64 Zeichen.")
					return
				}
				k.session = ss
				k.Window.SetContent(k.services())
			})
		}()
	}
	return container.NewVBox(widget.NewLabelWithStyle("Bürgerkoffer – Ersteinrichtung", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewLabel("Die erste Sachbearbeiterin oder der erste Sachbearbeiter legt das Passwort fest,\nmit dem die Daten auf diesem Laptop verschlüsselt werden."), form, msg)
}

// services lists the catalog's services; the case screens build on it.
func (k *Kit) services() fyne.CanvasObject {
	lang := k.Lang
	if lang == "" {
		lang = "de"
	}
	svcs := k.Catalog.Services()
	list := widget.NewList(func() int { return len(svcs) },
		func() fyne.CanvasObject { return widget.NewLabel("Dienst") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(svcs[i].Label.In(lang)) })
	lock := widget.NewButton("Sperren", func() {
		if k.session != nil {
			k.session.Lock()
			k.session = nil
		}
		k.Window.SetContent(k.signIn(context.Background()))
	})
	head := widget.NewLabelWithStyle("Angemeldet: "+k.session.Clerk().DisplayName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	return container.NewBorder(container.NewHBox(head, lock), nil, nil, nil, list)
}
