package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
)

// The summary the citizen reads before signing: every shown field with
// its value as a person reads it (option labels, dates as TT.MM.JJJJ),
// the fee and the legal basis. The clerk turns the laptop round.

func (k *Kit) showSummary(f *caseFlow) {
	k.show("summary", func() fyne.CanvasObject { return k.summary(f) })
}

// displayValue is a form value as the citizen reads it.
func (k *Kit) displayValue(fd *catalog.Field, v, lang string) string {
	switch fd.Type {
	case catalog.TypeBool:
		if v == "true" {
			return k.t("ja")
		}
		return k.t("nein")
	case catalog.TypeDate:
		return germanDate(v)
	case catalog.TypeSelect, catalog.TypeMultiselect:
		var out []string
		for _, x := range strings.Split(v, ",") {
			for _, o := range fd.Options {
				if o.Value == strings.TrimSpace(x) {
					out = append(out, o.Label.In(lang))
				}
			}
		}
		return strings.Join(out, ", ")
	}
	return v
}

func (k *Kit) summary(f *caseFlow) fyne.CanvasObject {
	lang := k.lang()
	box := container.NewVBox(heading(f.svc.Label.In(lang)),
		wrapped(k.t("Bitte prüfen Sie Ihre Angaben. Mit Ihrer Unterschrift bestätigen Sie, dass sie richtig und vollständig sind.")),
		k.summaryContent(f))
	msg := problem()
	back := k.button("Zurück zum Formular", func() { k.startCase(f) })
	var next *widget.Button
	if f.svc.MustSign {
		next = k.button("Weiter zur Unterschrift", func() { k.showSignature(f) })
	} else {
		next = k.button("Angaben bestätigt", func() {
			ss := k.Session()
			if ss == nil {
				return
			}
			k.flowWork(f, func(ctx context.Context) error {
				v, err := k.current(ctx, ss, f)
				if err == nil {
					v, err = ss.SetCaseStatus(ctx, f.id, v, domain.StatusSigned)
				}
				if err == nil {
					f.version, f.status, f.signedBy = v, domain.StatusSigned, ss.Clerk().ID
				}
				return err
			}, func(err error) {
				if err != nil {
					k.setProblem(msg, k.message(err))
					return
				}
				k.showSignoff(f)
			})
		})
	}
	next.Importance = widget.HighImportance
	return container.NewBorder(nil, container.NewVBox(msg, container.NewHBox(back, layoutSpacer(), next)), nil, nil,
		container.NewVScroll(box))
}

// summaryContent is every shown field with its value as a person reads it,
// the fee and the legal basis: what the citizen signs and what a second
// clerk confirms.
func (k *Kit) summaryContent(f *caseFlow) *fyne.Container {
	lang := k.lang()
	vis := f.svc.Visible(f.values)
	box := container.NewVBox()
	var objs []fyne.CanvasObject
	for _, sec := range f.svc.Sections {
		var rows []fyne.CanvasObject
		for _, fd := range sec.Fields {
			v := strings.TrimSpace(f.values[fd.ID])
			if !vis[fd.ID] || v == "" {
				continue
			}
			rows = append(rows, widget.NewLabel(fd.Label.In(lang)), wrapped(k.displayValue(fd, v, lang)))
		}
		if len(rows) > 0 {
			objs = append(objs, bold(sec.Label.In(lang)), layout.NewSpacer())
			objs = append(objs, rows...)
		}
	}
	// One label column for all sections, made in one go (Container.Add
	// lays out every object again).
	box.Add(container.New(layout.NewFormLayout(), objs...))
	if cents, ok := f.svc.Fee(f.values); ok {
		box.Add(widget.NewSeparator())
		fee := k.t("gebührenfrei")
		if cents > 0 {
			fee = strings.Replace(fmt.Sprintf("%.2f €", float64(cents)/100), ".", ",", 1)
		}
		box.Add(widget.NewLabel(k.tf("Gebühr: %s", fee)))
	}
	box.Add(widget.NewLabel(k.tf("Rechtsgrundlage: %s", f.svc.Law)))
	return box
}
