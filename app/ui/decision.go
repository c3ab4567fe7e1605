package ui

// The town hall's decision on a case, as the clerks see it: accepted,
// rejected with the reason, or a question back to the field (Rückfrage).
// It reads only the case's plain fields, so it shows for a case whose
// content the laptop has shredded.

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/domain"
)

// showDecision shows the decision on case c.
func (k *Kit) showDecision(c domain.Case) {
	k.show("decision", func() fyne.CanvasObject { return k.decisionView(c) })
}

func (k *Kit) decisionView(c domain.Case) fyne.CanvasObject {
	svc := c.ServiceID
	if s, ok := k.Catalog.Service(c.ServiceID); ok {
		svc = s.Label.In(k.lang())
	}
	outcome := k.t("Angenommen")
	noteLabel := ""
	switch c.Status {
	case domain.StatusRejected:
		outcome, noteLabel = k.t("Abgelehnt"), k.t("Begründung")
	case domain.StatusNeedsInfo:
		outcome, noteLabel = k.t("Rückfrage"), k.t("Frage des Rathauses")
	}
	items := []*widget.FormItem{widget.NewFormItem(k.t("Entscheidung"), bold(outcome))}
	if c.DecidedBy != "" {
		items = append(items, widget.NewFormItem(k.t("Entschieden von"), widget.NewLabel(c.DecidedBy)))
	}
	if !c.DecidedAt.IsZero() {
		items = append(items, widget.NewFormItem(k.t("Am"), widget.NewLabel(k.when(c.DecidedAt))))
	}
	if noteLabel != "" && c.DecisionNote != "" {
		items = append(items, widget.NewFormItem(noteLabel, wrapped(c.DecisionNote)))
	}
	back := k.button("Zurück", k.showDay)
	return container.NewVScroll(container.NewVBox(heading(k.tf("Entscheidung des Rathauses: %s", svc)),
		widget.NewForm(items...), container.NewHBox(back)))
}
