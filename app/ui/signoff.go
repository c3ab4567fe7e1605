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
// acknowledged it, its content is destroyed on the laptop. With four-eyes
// confirmation on (settings), a second clerk signs in here with their own
// password before the case can be sealed.

func (k *Kit) showSignoff(f *caseFlow) {
	k.show("signoff", func() fyne.CanvasObject { return k.signoff(f) })
}

// errSameClerk: the four-eyes confirmation needs another person.
var errSameClerk = errors.New("ui: four-eyes confirmation by the same clerk")

func (k *Kit) signoff(f *caseFlow) fyne.CanvasObject {
	ss := k.Session()
	if ss == nil {
		return widget.NewLabel("")
	}
	lang := k.lang()
	msg := problem()
	fourEyes := k.Settings().FourEyes
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

	if fourEyes {
		box.Add(widget.NewSeparator())
		box.Add(bold(k.t("Vier-Augen-Prinzip")))
		done := widget.NewLabel("")
		if f.confirmedBy != "" {
			done.SetText(k.t("Bestätigt durch die zweite Person."))
			box.Add(done)
		} else {
			seal.Disable()
			user := widget.NewSelect(nil, nil)
			user.PlaceHolder = k.t("(zweite Person wählen)")
			byName := map[string]domain.Clerk{}
			var cs []domain.Clerk
			k.work(func(ctx context.Context) (err error) {
				cs, err = k.Store.Clerks(ctx)
				return err
			}, func(err error) {
				for _, c := range cs {
					// Another person than who witnessed the signature
					// and who is signed in.
					if c.ID != ss.Clerk().ID && c.ID != f.signedBy {
						byName[fmt.Sprintf("%s (%s)", c.DisplayName, c.Username)] = c
					}
				}
				var names []string
				for n := range byName {
					names = append(names, n)
				}
				sort.Strings(names)
				user.SetOptions(names)
				if len(names) == 0 {
					k.setProblem(msg, k.t("Auf diesem Laptop ist keine zweite Person eingerichtet (Einstellungen → Personen)."))
				}
			})
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
					other, err := k.Store.Unlock(ctx, c.Username, secret)
					if err != nil {
						return err
					}
					other.Lock() // only the password check was wanted
					if other.Clerk().ID == ss.Clerk().ID || other.Clerk().ID == f.signedBy {
						return errSameClerk
					}
					v, err := k.current(ctx, ss, f)
					if err != nil {
						return err
					}
					r, err := ss.Update(ctx, f.id, v, domain.Fields{"confirmed_by": other.Clerk().ID})
					if err != nil {
						return err
					}
					f.version, f.confirmedBy = r.Version, other.Clerk().ID
					return nil
				}, func(err error) {
					confirm.Enable()
					pw.SetText("")
					switch {
					case errors.Is(err, store.ErrWrongPassword):
						k.setProblem(msg, k.unlockMessage(err))
					case err != nil:
						k.setProblem(msg, k.message(err))
					default:
						k.rebuild()
					}
				})
			}
			box.Add(widget.NewForm(widget.NewFormItem(k.t("Zweite Person"), user), widget.NewFormItem(k.t("Passwort"), pw)))
			box.Add(container.NewHBox(confirm))
		}
	}

	seal.OnTapped = func() {
		k.touch()
		seal.Disable()
		k.flowWork(f, func(ctx context.Context) error {
			v, err := k.current(ctx, ss, f)
			if err == nil {
				v, err = ss.SetCaseStatus(ctx, f.id, v, domain.StatusSealed)
			}
			if err == nil {
				f.version, f.status = v, domain.StatusSealed
			}
			return err
		}, func(err error) {
			if err != nil {
				seal.Enable()
				k.setProblem(msg, k.message(err))
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
