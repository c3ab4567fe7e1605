package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/store"
)

// The sign-in, setup and lock screens. Signing in unlocks the store's data
// key with the clerk's password, offline; the argon2id derivation takes a
// noticeable moment, so it runs off the UI goroutine.

// centered puts a narrow form in the middle of the window.
func centered(objs ...fyne.CanvasObject) fyne.CanvasObject {
	box := container.NewVBox(objs...)
	return container.NewCenter(container.NewGridWrap(fyne.NewSize(460, box.MinSize().Height), box))
}

func (k *Kit) signIn() fyne.CanvasObject {
	user := widget.NewEntry()
	user.SetPlaceHolder(k.t("Benutzername"))
	pw := widget.NewPasswordEntry()
	msg := problem()
	form := widget.NewForm(widget.NewFormItem(k.t("Benutzer"), user), widget.NewFormItem(k.t("Passwort"), pw))
	form.SubmitText = k.t("Anmelden")
	form.OnSubmit = func() {
		k.touch()
		if k.unlocking {
			return // Enter pressed twice
		}
		k.unlocking = true
		name, secret := user.Text, []byte(pw.Text)
		form.Disable()
		k.setProblem(msg, k.t("Entsperre …"))
		var ss *store.Session
		gen := k.gen
		k.workAlways(func(ctx context.Context) (err error) {
			ss, err = k.Store.Unlock(ctx, name, secret)
			return err
		}, func(err error) {
			k.unlocking = false
			if k.gen != gen { // the clerk went elsewhere meanwhile
				if ss != nil {
					ss.Lock()
				}
				return
			}
			form.Enable()
			pw.SetText("")
			if err != nil {
				k.setProblem(msg, k.unlockMessage(err))
				return
			}
			k.signedIn(ss)
		})
	}
	pw.OnSubmitted = func(string) { form.OnSubmit() }
	objs := []fyne.CanvasObject{heading(k.t("Bürgerkoffer – Anmeldung")), form, msg}
	if k.DemoHint != "" {
		objs = append(objs, note(k.DemoHint))
	}
	return centered(objs...)
}

func (k *Kit) unlockMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrWrongPassword):
		return k.t("Benutzername oder Passwort ist falsch.")
	case errors.Is(err, store.ErrNotSetUp):
		return k.t("Dieser Laptop ist noch nicht eingerichtet.")
	}
	return k.t("Entsperren fehlgeschlagen. Bitte wenden Sie sich an die IT.")
}

// clerkMessage says why a new clerk (or password) was refused; the rules
// are the store's.
func (k *Kit) clerkMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrShortPassword):
		return k.tf("Das Passwort muss mindestens %d Zeichen haben.", store.MinPassword)
	case errors.Is(err, store.ErrClerkName):
		return k.t("Der Benutzername muss 1 bis 64 Zeichen haben.")
	case errors.Is(err, store.ErrClerkExists):
		return k.t("Diesen Benutzernamen gibt es schon.")
	}
	return k.message(err)
}

func (k *Kit) setup() fyne.CanvasObject {
	user, display := widget.NewEntry(), widget.NewEntry()
	pw, pw2 := widget.NewPasswordEntry(), widget.NewPasswordEntry()
	msg := problem()
	form := widget.NewForm(
		widget.NewFormItem(k.t("Benutzer"), user), widget.NewFormItem(k.t("Anzeigename"), display),
		widget.NewFormItem(k.t("Passwort"), pw), widget.NewFormItem(k.t("Wiederholen"), pw2))
	form.SubmitText = k.t("Einrichten")
	form.OnSubmit = func() {
		k.touch()
		if pw.Text != pw2.Text {
			k.setProblem(msg, k.t("Die Passwörter stimmen nicht überein."))
			return
		}
		if k.unlocking {
			return
		}
		k.unlocking = true
		name, dn, secret := user.Text, display.Text, []byte(pw.Text)
		form.Disable()
		var ss *store.Session
		k.workAlways(func(ctx context.Context) (err error) {
			ss, err = k.Store.Setup(ctx, name, dn, secret)
			return err
		}, func(err error) {
			k.unlocking = false
			form.Enable()
			if err != nil {
				k.setProblem(msg, k.clerkMessage(err))
				return
			}
			k.signedIn(ss)
		})
	}
	return centered(heading(k.t("Bürgerkoffer – Ersteinrichtung")),
		wrapped(k.t("Die erste Sachbearbeiterin oder der erste Sachbearbeiter legt das Passwort fest, mit dem die Daten auf diesem Laptop verschlüsselt werden.")),
		form, msg)
}

// lockScreen shows who was signed in and asks for that clerk's password.
// Nothing of the work underneath is shown, and the data key is gone until
// the password brings it back; the screen the clerk was on (a form being
// filled in) stays in the app's memory to return to.
func (k *Kit) lockScreen() fyne.CanvasObject {
	pw := widget.NewPasswordEntry()
	msg := problem()
	who := k.lockedBy
	unlock := k.button("Entsperren", nil)
	unlock.Importance = widget.HighImportance
	unlock.OnTapped = func() {
		k.touch()
		if k.unlocking {
			return
		}
		k.unlocking = true
		secret := []byte(pw.Text)
		unlock.Disable()
		k.setProblem(msg, k.t("Entsperre …"))
		var ss *store.Session
		gen := k.gen
		k.workAlways(func(ctx context.Context) (err error) {
			ss, err = k.Store.Unlock(ctx, who.Username, secret)
			return err
		}, func(err error) {
			k.unlocking = false
			if k.gen != gen {
				if ss != nil {
					ss.Lock()
				}
				return
			}
			unlock.Enable()
			pw.SetText("")
			if err != nil {
				k.setProblem(msg, k.unlockMessage(err))
				return
			}
			k.signedIn(ss)
		})
	}
	pw.OnSubmitted = func(string) { unlock.OnTapped() }
	other := k.button("Andere Person anmelden", func() {
		k.resume = nil
		k.show("signin", k.signIn)
	})
	return centered(heading(k.t("Gesperrt")),
		wrapped(k.tf("Angemeldet war %s. Zum Entsperren das Passwort eingeben.", who.DisplayName)),
		widget.NewForm(widget.NewFormItem(k.t("Passwort"), pw)),
		container.NewHBox(unlock, other), msg)
}
