package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/idreader"
	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/version"
)

// Settings: language, inactivity lock, the town hall's four-eyes policy
// (shown, not set: the town hall decides it), the two devices' ports with
// "Testen" (the same drivers as hwtool), the town hall's server
// (enrolment, address, connection test), and the clerks who can sign in
// on this laptop.

const portTestTimeout = 5 * time.Second

func (k *Kit) showSettings() { k.show("settings", k.settingsScreen) }

func (k *Kit) settingsScreen() fyne.CanvasObject {
	ss := k.Session()
	if ss == nil {
		return widget.NewLabel("")
	}
	s := k.Settings()
	msg := problem()

	langNames := map[string]string{"de": "Deutsch", "en": "English"}
	lang := widget.NewSelect([]string{"Deutsch", "English"}, nil)
	lang.SetSelected(langNames[s.Lang])

	var lockNames []string
	for _, d := range LockChoices {
		lockNames = append(lockNames, k.tf("%d Minuten", int(d/time.Minute)))
	}
	lockSel := widget.NewSelect(lockNames, nil)
	for i, d := range LockChoices {
		if d == s.LockAfter {
			lockSel.SetSelected(lockNames[i])
		}
	}
	if lockSel.Selected == "" {
		lockSel.PlaceHolder = k.tf("%d Sekunden", int(s.LockAfter/time.Second))
	}
	fourEyes := wrapped("")
	var policy store.Policy
	k.work(func(ctx context.Context) (err error) {
		policy, err = k.Store.Policy(ctx)
		return err
	}, func(err error) {
		if err != nil {
			k.setText(fourEyes, k.message(err))
			return
		}
		k.setText(fourEyes, k.policyText(policy))
	})

	// The port tests end with the screen: on Windows a COM port is
	// exclusive, and "Ausweis lesen" must find it free.
	screenCtx, leave := context.WithCancel(k.ctx)
	k.onLeave(leave)
	idPort, padPort := widget.NewSelectEntry(nil), widget.NewSelectEntry(nil)
	var ports []string
	k.work(func(context.Context) (err error) {
		ports, err = hardware.ListPorts()
		return err
	}, func(error) {
		idPort.SetOptions(ports)
		padPort.SetOptions(ports)
	})
	idPort.SetText(s.IDReader)
	padPort.SetText(s.Pad)
	idPort.SetPlaceHolder(portExample())
	padPort.SetPlaceHolder(portExample())
	idResult, padResult := wrapped(""), wrapped("")
	idResult.Hide()
	padResult.Hide()
	idTest := k.button("Testen", nil)
	idTest.OnTapped = func() {
		idTest.Disable()
		k.setText(idResult, k.t("Prüfe …"))
		var res string
		path := strings.TrimSpace(idPort.Text)
		k.work(func(context.Context) error {
			res = k.testIDReader(screenCtx, path)
			return nil
		}, func(error) { idTest.Enable(); k.setText(idResult, res) })
	}
	padTest := k.button("Testen", nil)
	padTest.OnTapped = func() {
		padTest.Disable()
		k.setText(padResult, k.t("Prüfe …"))
		var res string
		path := strings.TrimSpace(padPort.Text)
		k.work(func(context.Context) error {
			res = k.testPad(screenCtx, path)
			return nil
		}, func(error) { padTest.Enable(); k.setText(padResult, res) })
	}

	save := k.button("Einstellungen speichern", func() {
		n := s
		for code, name := range langNames {
			if lang.Selected == name {
				n.Lang = code
			}
		}
		for i, name := range lockNames {
			if lockSel.Selected == name {
				n.LockAfter = LockChoices[i]
			}
		}
		n.IDReader, n.Pad = strings.TrimSpace(idPort.Text), strings.TrimSpace(padPort.Text)
		k.work(func(ctx context.Context) error { return SaveSettings(ctx, k.Store, n) }, func(err error) {
			if err != nil {
				k.setProblem(msg, k.message(err))
				return
			}
			k.mu.Lock()
			k.settings = n
			k.mu.Unlock()
			k.notice = k.t("Einstellungen gespeichert.")
			k.rebuild()
		})
	})
	save.Importance = widget.HighImportance

	general := widget.NewForm(
		widget.NewFormItem(k.t("Sprache"), lang),
		widget.NewFormItem(k.t("Sperren nach"), lockSel),
		widget.NewFormItem(k.t("Vier-Augen-Prinzip"), fourEyes),
		widget.NewFormItem(k.t("Version"), widget.NewLabel(version.String())))
	devices := widget.NewForm(
		widget.NewFormItem(k.t("Ausweislesegerät"), container.NewBorder(nil, idResult, nil, idTest, wheelThrough(idPort))),
		widget.NewFormItem(k.t("Unterschriftenpad"), container.NewBorder(nil, padResult, nil, padTest, wheelThrough(padPort))))

	box := container.NewVBox(heading(k.t("Einstellungen")))
	if k.notice != "" {
		box.Add(note(k.notice))
		k.notice = ""
	}
	box.Add(bold(k.t("Allgemein")))
	box.Add(general)
	box.Add(bold(k.t("Geräte")))
	box.Add(devices)
	box.Add(container.NewHBox(save))
	box.Add(msg)
	box.Add(widget.NewSeparator())
	box.Add(k.serverSettings(ss))
	box.Add(widget.NewSeparator())
	box.Add(k.clerkSettings(ss))
	return container.NewVScroll(box)
}

// policyText says what the town hall decided about four-eyes sign-off.
func (k *Kit) policyText(p store.Policy) string {
	switch {
	case !p.Known:
		return k.t("Noch nicht vom Rathaus übermittelt; bis dahin ohne zweite Person. Das Rathaus prüft beim Übertragen.")
	case p.FourEyes:
		return k.t("Eine zweite Person bestätigt jeden Antrag vor dem Versiegeln (vom Rathaus festgelegt).")
	}
	return k.t("Ohne zweite Person (vom Rathaus festgelegt).")
}

func portExample() string {
	if runtime.GOOS == "windows" {
		return "COM3"
	}
	return "/dev/ttyUSB0"
}

// testIDReader opens the reader's port with the driver, as reading a
// document does, and reports what it saw within a few seconds.
func (k *Kit) testIDReader(ctx context.Context, path string) string {
	if path == "" {
		return k.t("Bitte zuerst einen Anschluss angeben.")
	}
	ctx, cancel := context.WithTimeout(ctx, portTestTimeout)
	defer cancel()
	r, err := idreader.Start(ctx, idreader.Config{Open: k.Open, Path: path, Now: k.Now})
	if err != nil {
		return k.t("Der Anschluss lässt sich nicht öffnen. Ist das Lesegerät eingesteckt und der Anschluss richtig?")
	}
	defer r.Close()
	for {
		select {
		case <-ctx.Done():
			return k.t("Anschluss geöffnet. Zum vollständigen Test einen Ausweis auflegen und erneut testen.")
		case ev, ok := <-r.Events():
			if !ok {
				return k.t("Das Lesegerät ist nicht verbunden.")
			}
			switch ev.Kind {
			case idreader.EventDocument:
				if ev.Result.Valid {
					return k.t("Lesegerät in Ordnung: ein Ausweis wurde gelesen, alle Prüfziffern stimmen.")
				}
				return k.t("Lesegerät antwortet, aber die Prüfziffern des gelesenen Ausweises stimmen nicht.")
			case idreader.EventDisconnected:
				return k.t("Das Lesegerät ist nicht verbunden.")
			case idreader.EventFrameError:
				return k.t("Am Anschluss kommen unlesbare Daten an. Ist es das richtige Gerät?")
			}
		}
	}
}

// testPad starts the pad as the signature screen does: it must answer the
// query at one of its baud rates.
func (k *Kit) testPad(ctx context.Context, path string) string {
	if path == "" {
		return k.t("Bitte zuerst einen Anschluss angeben.")
	}
	ctx, cancel := context.WithTimeout(ctx, portTestTimeout)
	defer cancel()
	p, err := sigpad.Open(ctx, k.Open, path, sigpad.Config{})
	switch {
	case errors.Is(err, sigpad.ErrNoReply):
		return k.t("Am Anschluss antwortet kein Unterschriftenpad. Ist es das richtige Gerät?")
	case err != nil:
		return k.t("Der Anschluss lässt sich nicht öffnen. Ist das Unterschriftenpad eingesteckt und der Anschluss richtig?")
	}
	defer p.Close()
	c := p.Caps()
	return k.tf("Unterschriftenpad in Ordnung: %d Baud, Fläche %d × %d, %d Druckstufen, Firmware %d.",
		p.Baud(), c.MaxX, c.MaxY, c.MaxPressure+1, c.Firmware)
}

// serverSettings shows the town hall's server: enrol the laptop with a
// one-time code, or change the address and test the connection.
func (k *Kit) serverSettings(ss *store.Session) fyne.CanvasObject {
	box := container.NewVBox(bold(k.t("Rathaus (Server)")))
	msg := wrapped("")
	msg.Hide()
	addr := widget.NewEntry()
	addr.SetPlaceHolder("https://buergerkoffer.example-stadt.de")
	var e store.Enrolment
	enrolled := false
	body := container.NewVBox()
	box.Add(body)
	box.Add(msg)
	k.work(func(ctx context.Context) (err error) {
		e, err = k.Store.Enrolment(ctx)
		if errors.Is(err, store.ErrNotEnrolled) {
			return nil
		}
		enrolled = err == nil
		return err
	}, func(err error) {
		if err != nil {
			k.setText(msg, k.message(err))
			return
		}
		if !enrolled {
			code := widget.NewEntry()
			code.SetPlaceHolder(k.t("Einmal-Code von der IT"))
			enrol := k.button("Laptop anmelden", nil)
			enrol.OnTapped = func() {
				url, c := strings.TrimSpace(addr.Text), strings.TrimSpace(code.Text)
				if url == "" || c == "" {
					k.setText(msg, k.t("Bitte Serveradresse und Code angeben."))
					return
				}
				enrol.Disable()
				k.setText(msg, k.t("Melde an …"))
				name, _ := os.Hostname()
				k.work(func(ctx context.Context) error {
					return agent.Enrol(ctx, k.Store, ss, agent.Enrolment{ServerURL: url, Code: c, Name: name})
				}, func(err error) {
					enrol.Enable()
					if err != nil {
						k.setText(msg, k.tf("Anmeldung fehlgeschlagen: %s", agent.Describe(err)))
						return
					}
					k.notice = k.t("Der Laptop ist beim Rathaus angemeldet. Die Synchronisierung beginnt.")
					k.rebuild()
				})
			}
			body.Add(wrapped(k.t("Dieser Laptop ist noch nicht beim Rathaus angemeldet. Die IT gibt Ihnen die Serveradresse und einen Einmal-Code.")))
			body.Add(widget.NewForm(widget.NewFormItem(k.t("Serveradresse"), wheelThrough(addr)), widget.NewFormItem(k.t("Code"), wheelThrough(code))))
			body.Add(container.NewHBox(enrol))
			k.relayout()
			return
		}
		addr.SetText(e.ServerURL)
		test := k.button("Verbindung testen", nil)
		test.OnTapped = func() {
			url := strings.TrimSpace(addr.Text)
			test.Disable()
			k.setText(msg, k.t("Prüfe …"))
			var res string
			k.work(func(ctx context.Context) error {
				res = k.testServer(ctx, url, e.CAPEM)
				return nil
			}, func(error) { test.Enable(); k.setText(msg, res) })
		}
		saveAddr := k.button("Adresse speichern", func() {
			n := e
			n.ServerURL = strings.TrimSpace(addr.Text)
			if n.ServerURL == "" {
				k.setText(msg, k.t("Bitte eine Serveradresse angeben."))
				return
			}
			k.work(func(ctx context.Context) error { return k.Store.SaveEnrolment(ctx, n) }, func(err error) {
				if err != nil {
					k.setText(msg, k.message(err))
					return
				}
				e = n
				k.setText(msg, k.t("Adresse gespeichert; der Sync-Dienst verwendet sie ab dem nächsten Versuch."))
			})
		})
		body.Add(widget.NewForm(
			widget.NewFormItem(k.t("Serveradresse"), wheelThrough(addr)),
			widget.NewFormItem(k.t("Stadt"), widget.NewLabel(e.Tenant)),
			widget.NewFormItem(k.t("Geräte-Nr."), widget.NewLabel(e.DeviceID))))
		body.Add(container.NewHBox(test, saveAddr))
		k.relayout()
	})
	return box
}

// testServer asks the server's health endpoint, as the agent does.
func (k *Kit) testServer(ctx context.Context, url, caPEM string) string {
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: url, CAPEM: caPEM, RetryCount: -1})
	if err != nil {
		return k.tf("Die Adresse ist ungültig: %s", agent.Describe(err))
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, portTestTimeout)
	defer cancel()
	h, err := c.Health(ctx)
	if err != nil {
		return k.tf("Keine Verbindung: %s", agent.Describe(err))
	}
	return k.tf("Verbindung in Ordnung (Protokoll %s).", h.Protocol)
}

// clerkSettings lists who can sign in here and adds a colleague: the
// second clerk of a visit signs in with a password of their own.
func (k *Kit) clerkSettings(ss *store.Session) fyne.CanvasObject {
	box := container.NewVBox(bold(k.t("Personen auf diesem Laptop")))
	list := container.NewVBox()
	box.Add(list)
	k.work(func(ctx context.Context) error {
		cs, err := k.Store.Clerks(ctx)
		k.do(func() {
			for _, c := range cs {
				list.Add(widget.NewLabel(fmt.Sprintf("%s (%s)", c.DisplayName, c.Username)))
			}
			k.relayout()
		})
		return err
	}, nil)
	user, display := widget.NewEntry(), widget.NewEntry()
	pw, pw2 := widget.NewPasswordEntry(), widget.NewPasswordEntry()
	msg := problem()
	add := k.button("Person hinzufügen", nil)
	add.OnTapped = func() {
		if pw.Text != pw2.Text {
			k.setProblem(msg, k.t("Die Passwörter stimmen nicht überein."))
			return
		}
		u, d, secret := strings.TrimSpace(user.Text), strings.TrimSpace(display.Text), []byte(pw.Text)
		add.Disable()
		k.work(func(ctx context.Context) error {
			_, err := ss.AddClerk(ctx, u, d, secret)
			return err
		}, func(err error) {
			add.Enable()
			switch {
			case err != nil:
				k.setProblem(msg, k.clerkMessage(err))
			default:
				k.notice = k.tf("%s kann sich jetzt auf diesem Laptop anmelden.", d)
				k.rebuild()
			}
		})
	}
	box.Add(widget.NewForm(widget.NewFormItem(k.t("Benutzer"), wheelThrough(user)), widget.NewFormItem(k.t("Anzeigename"), wheelThrough(display)),
		widget.NewFormItem(k.t("Passwort"), wheelThrough(pw)), widget.NewFormItem(k.t("Wiederholen"), wheelThrough(pw2))))
	box.Add(container.NewHBox(add))
	box.Add(msg)
	return box
}
