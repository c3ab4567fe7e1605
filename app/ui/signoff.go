package ui

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// Sign-off: the clerk closes the case, which seals it for the town hall.
// From then on nobody on the laptop can change it; once the town hall has
// acknowledged it, its content is destroyed on the laptop. When the town
// hall's policy asks for four-eyes confirmation, a second clerk confirms
// here with their own password before the case can be sealed. The rules
// are the store's (ConfirmFourEyes, SealCase); this screen only asks.

func (k *Kit) showSignoff(f *caseFlow) {
	k.show("signoff", func() fyne.CanvasObject { return k.signoff(f) })
}

func (k *Kit) signoff(f *caseFlow) fyne.CanvasObject {
	ss := k.Session()
	if ss == nil {
		return widget.NewLabel("")
	}
	lang := k.lang()
	msg := problem()
	seal := k.button("Versiegeln und abschließen", nil)
	seal.Importance = widget.HighImportance
	box := container.NewVBox(heading(k.t("Abschließen")),
		widget.NewLabel(f.svc.Label.In(lang)),
		wrapped(k.t("Die Angaben sind bestätigt. Beim Versiegeln wird der Antrag für das Rathaus verschlüsselt; danach kann ihn auf diesem Laptop niemand mehr ändern. Nach der Übertragung wird er hier gelöscht.")))
	// What is sealed, for the clerk and a second clerk to see: the form
	// and the signature as stored.
	content := container.NewVBox(k.summaryContent(f))
	if f.svc.MustSign {
		var png []byte
		k.work(func(ctx context.Context) error {
			r, err := ss.Get(ctx, f.id)
			if err != nil {
				return err
			}
			png, err = ss.Attachment(ctx, r.ID, r.Fields[domain.AttachmentPrefix+string(domain.AttachmentSignaturePNG)])
			return err
		}, func(err error) {
			if err != nil {
				content.Add(problemText(k.t("Die Unterschrift lässt sich nicht anzeigen.")))
			} else {
				img := canvas.NewImageFromResource(fyne.NewStaticResource("unterschrift.png", png))
				img.FillMode = canvas.ImageFillContain
				img.SetMinSize(fyne.NewSize(360, 130))
				content.Objects = append([]fyne.CanvasObject{bold(k.t("Unterschrift")), container.NewHBox(img)}, content.Objects...)
			}
			k.relayout()
		})
	}

	// The town hall's policy, as this laptop last received it, says
	// whether a second clerk confirms; sealing waits until it is read.
	fourEyes := container.NewVBox()
	box.Add(fourEyes)
	seal.Disable()
	var policy store.Policy
	var clerks []domain.Clerk
	k.work(func(ctx context.Context) (err error) {
		if policy, err = k.Store.Policy(ctx); err != nil || !policy.FourEyes {
			return err
		}
		clerks, err = k.Store.Clerks(ctx)
		return err
	}, func(err error) {
		switch {
		case err != nil:
			k.setProblem(msg, k.message(err))
		case !policy.FourEyes:
			seal.Enable()
		default:
			k.fourEyesConfirm(fourEyes, ss, f, clerks, seal, msg)
		}
		k.relayout()
	})

	seal.OnTapped = func() {
		k.touch()
		seal.Disable()
		k.flowWork(f, func(ctx context.Context) error {
			v, err := k.current(ctx, ss, f)
			if err == nil {
				v, err = ss.SealCase(ctx, f.id, v)
			}
			if err == nil {
				f.version, f.status = v, domain.StatusSealed
			}
			return err
		}, func(err error) {
			if err != nil {
				seal.Enable()
				k.setProblem(msg, k.fourEyesMessage(err))
				return
			}
			k.notice = k.t("Antrag versiegelt. Er wird bei der nächsten Synchronisierung an das Rathaus übertragen.")
			k.showDay()
		})
	}
	resign := k.button("Neu unterschreiben", func() {
		k.flowWork(f, func(ctx context.Context) error {
			v, err := k.current(ctx, ss, f)
			if err == nil {
				v, err = ss.SetCaseStatus(ctx, f.id, v, domain.StatusDraft)
			}
			if err == nil {
				f.version, f.status, f.confirmedBy, f.signedBy = v, domain.StatusDraft, "", ""
			}
			return err
		}, func(err error) {
			if err != nil {
				k.setProblem(msg, k.message(err))
				return
			}
			if f.svc.MustSign {
				k.showSignature(f)
			} else {
				k.showSummary(f)
			}
		})
	})
	later := k.button("Später abschließen", k.showDay)
	box.Add(msg)
	return container.NewBorder(box, container.NewHBox(later, layoutSpacer(), resign, seal), nil, nil,
		container.NewVScroll(content))
}

// fourEyesConfirm fills box with the second clerk's confirmation: once it
// is given in this session, sealing is possible.
func (k *Kit) fourEyesConfirm(box *fyne.Container, ss *store.Session, f *caseFlow, clerks []domain.Clerk, seal *widget.Button, msg *widget.Label) {
	box.Add(widget.NewSeparator())
	box.Add(bold(k.t("Vier-Augen-Prinzip")))
	if c, ok := ss.FourEyesConfirmation(f.id); ok {
		box.Add(widget.NewLabel(k.tf("Bestätigt durch die zweite Person: %s.", c.DisplayName)))
		seal.Enable()
		return
	}
	box.Add(wrapped(k.t("Das Rathaus verlangt, dass eine zweite Person den Antrag vor dem Versiegeln mit ihrem Passwort bestätigt.")))
	// Another person than who is signed in and who witnessed the
	// signature (the store refuses them as well).
	byName := map[string]domain.Clerk{}
	var names []string
	for _, c := range clerks {
		if c.ID != ss.Clerk().ID && c.ID != f.signedBy {
			n := fmt.Sprintf("%s (%s)", c.DisplayName, c.Username)
			byName[n] = c
			names = append(names, n)
		}
	}
	sort.Strings(names)
	user := widget.NewSelect(names, nil)
	user.PlaceHolder = k.t("(zweite Person wählen)")
	if len(names) == 0 {
		k.setProblem(msg, k.t("Auf diesem Laptop ist keine zweite Person eingerichtet (Einstellungen → Personen)."))
	}
	pw := widget.NewPasswordEntry()
	confirm := k.button("Bestätigen", nil)
	confirm.OnTapped = func() {
		k.touch()
		c, ok := byName[user.Selected]
		if !ok {
			k.setProblem(msg, k.t("Bitte die zweite Person wählen."))
			return
		}
		secret := []byte(pw.Text)
		confirm.Disable()
		k.flowWork(f, func(ctx context.Context) error {
			_, err := ss.ConfirmFourEyes(ctx, f.id, c.Username, secret)
			clear(secret)
			return err
		}, func(err error) {
			confirm.Enable()
			pw.SetText("")
			if err != nil {
				k.setProblem(msg, k.fourEyesMessage(err))
				return
			}
			k.rebuild()
		})
	}
	box.Add(widget.NewForm(widget.NewFormItem(k.t("Zweite Person"), user), widget.NewFormItem(k.t("Passwort"), pw)))
	box.Add(container.NewHBox(confirm))
}

// fourEyesMessage says what went wrong with a confirmation or a seal.
func (k *Kit) fourEyesMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrWrongPassword):
		return k.unlockMessage(err)
	case errors.Is(err, store.ErrSameClerk):
		return k.t("Bestätigen muss eine andere Person als die, die versiegelt oder die Unterschrift abgenommen hat.")
	case errors.Is(err, store.ErrFourEyes):
		return k.t("Vor dem Versiegeln muss eine zweite Person den Antrag mit ihrem Passwort bestätigen.")
	}
	return k.message(err)
}
