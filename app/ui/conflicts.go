package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Conflicts: a field changed in two places at once (here and at the town
// hall, or on two laptops). The sync engine keeps both values and lets one
// stand provisionally by a fixed rule; here a clerk sees both side by
// side, who changed what and when, and decides. The decision is an
// ordinary change that syncs to everyone.

func (k *Kit) showConflicts() { k.show("conflicts", k.conflictList) }

// conflictView is a conflict with what the screen says about it.
type conflictView struct {
	c          store.Conflict
	what       string // "Anmeldung – Postleitzahl"
	field      *catalog.Field
	origin     [2]string // where side A and B come from
	clerk      [2]string
	when       [2]string
	provisonal string
}

// clerkNames maps the clerks of this laptop by id to their display names.
func (k *Kit) clerkNames(ctx context.Context) (map[string]string, error) {
	clerks, err := k.Store.Clerks(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(clerks))
	for _, c := range clerks {
		names[c.ID] = c.DisplayName
	}
	return names, nil
}

func (k *Kit) loadConflicts(ctx context.Context, ss *store.Session) ([]conflictView, error) {
	cs, err := ss.Conflicts(ctx, true)
	if err != nil {
		return nil, err
	}
	names, err := k.clerkNames(ctx)
	if err != nil {
		return nil, err
	}
	self := map[string]bool{k.Store.DeviceID(): true}
	if e, err := k.Store.Enrolment(ctx); err == nil {
		self[e.DeviceID] = true
	}
	out := make([]conflictView, 0, len(cs))
	for _, c := range cs {
		v := conflictView{c: c}
		var svc *catalog.Service
		if c.RecordType == domain.TypeCase {
			if r, err := ss.Get(ctx, c.RecordID); err == nil {
				svc, _ = k.Catalog.Service(r.Fields["service_id"])
			}
		}
		v.what, v.field = k.conflictSubject(c, svc)
		for i, side := range []store.ConflictSide{c.A, c.B} {
			switch {
			case side.Device == syncproto.CentralDevice:
				v.origin[i] = k.t("Rathaus")
			case self[side.Device]:
				v.origin[i] = k.t("dieser Laptop")
			default:
				v.origin[i] = k.t("anderer Laptop")
			}
			v.clerk[i] = names[side.Clerk]
			if v.clerk[i] == "" && side.Device == syncproto.CentralDevice {
				v.clerk[i] = k.t("Sachbearbeitung im Rathaus")
			}
			if ts, err := hlc.Parse(side.HLC); err == nil {
				v.when[i] = k.when(ts.Time())
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// conflictSubject names the record and field for a clerk.
func (k *Kit) conflictSubject(c store.Conflict, svc *catalog.Service) (string, *catalog.Field) {
	lang := k.lang()
	rec := map[domain.RecordType]string{
		domain.TypeCase: k.t("Antrag"), domain.TypeAppointment: k.t("Termin"),
		domain.TypePerson: k.t("Person"), domain.TypeVisit: k.t("Einsatz"),
	}[c.RecordType]
	if rec == "" {
		rec = string(c.RecordType)
	}
	if svc != nil {
		rec = svc.Label.In(lang)
	}
	if c.Kind == merge.KindDelete {
		return rec + " – " + k.t("gelöscht und zugleich geändert"), nil
	}
	if name, ok := strings.CutPrefix(c.Field, domain.FormPrefix); ok && svc != nil {
		if fd, ok := svc.Field(name); ok {
			return rec + " – " + fd.Label.In(lang), fd
		}
	}
	plain := map[string]string{
		"status": k.t("Status"), "starts_at": k.t("Uhrzeit"), "moved_to": k.t("verlegt auf"),
		"citizen_name": k.t("Name"), "citizen_phone": k.t("Telefon"), "note": k.t("Notiz"),
		"place": k.t("Ort"), "venue_address": k.t("Anschrift"), "service_id": k.t("Leistung"),
		"surname": k.t("Familienname"), "given_names": k.t("Vornamen"),
	}
	if n, ok := plain[c.Field]; ok {
		return rec + " – " + n, nil
	}
	return rec + " – " + c.Field, nil
}

func (k *Kit) ruleText(rule string) string {
	switch rule {
	case merge.RuleCentralStatus:
		return k.t("Über den Status entscheidet das Rathaus.")
	case merge.RulePresence:
		return k.t("Was vor Ort mit der Person erfasst wurde, geht vor.")
	case merge.RuleLaterHLC:
		return k.t("Die spätere Änderung gilt, bis jemand entscheidet.")
	case merge.RuleEditBeatsDelete:
		return k.t("Bearbeiten geht vor Löschen: der Datensatz bleibt.")
	case merge.RuleSignedImmutable:
		return k.t("Ein unterschriebener Antrag bleibt, wie er unterschrieben wurde.")
	}
	return rule
}

func (k *Kit) conflictList() fyne.CanvasObject {
	body := container.NewStack(widget.NewLabel(k.t("Lade Konflikte …")))
	ss := k.Session()
	if ss == nil {
		return body
	}
	var cs []conflictView
	var rs []rejectedView
	var rerr error // the refused changes are read on their own: one list failing hides not the other
	k.work(func(ctx context.Context) (err error) {
		rs, rerr = k.loadRejected(ctx, ss)
		cs, err = k.loadConflicts(ctx, ss)
		return err
	}, func(err error) {
		if k.Screen() != "conflicts" {
			return
		}
		box := container.NewVBox(heading(k.t("Konflikte")))
		if k.notice != "" {
			box.Add(note(k.notice))
			k.notice = ""
		}
		switch {
		case err != nil:
			box.Add(problemText(k.message(err)))
		case len(cs) == 0:
			box.Add(wrapped(k.t("Keine offenen Konflikte. Wenn dieselbe Angabe hier und im Rathaus zugleich geändert wird, erscheint sie hier zur Entscheidung.")))
		default:
			box.Add(wrapped(k.t("Diese Angaben wurden an zwei Stellen zugleich geändert. Bis Sie entscheiden, gilt vorläufig die markierte Fassung.")))
			for _, v := range cs {
				v := v
				line := container.NewHBox(widget.NewLabel(v.what),
					widget.NewLabel(v.origin[0]+" / "+v.origin[1]), layoutSpacer(),
					k.button("Ansehen und entscheiden", func() {
						k.show("conflict", func() fyne.CanvasObject { return k.conflictDetail(v) })
					}))
				box.Add(line)
			}
		}
		if rerr != nil || len(rs) > 0 {
			box.Add(widget.NewSeparator())
			box.Add(heading(k.t("Vom Rathaus abgelehnt")))
		}
		if rerr != nil {
			box.Add(problemText(k.message(rerr)))
		}
		if len(rs) > 0 {
			box.Add(wrapped(k.t("Diese Änderungen hat das Rathaus nicht angenommen. Sie sind auf diesem Laptop gespeichert, kommen aber nicht im Rathaus an. Bitte die IT des Rathauses verständigen, die Kennung nennen und dann „Zur Kenntnis genommen“ wählen.")))
			for _, r := range rs {
				r := r
				msg := problem()
				var ack *widget.Button
				ack = k.button("Zur Kenntnis genommen", func() {
					ack.Disable()
					k.work(func(ctx context.Context) error { return ss.AcknowledgeRejected(ctx, r.id) }, func(err error) {
						if err != nil {
							ack.Enable()
							k.setProblem(msg, k.message(err))
							return
						}
						k.rebuild()
					})
				})
				box.Add(container.NewBorder(nil, nil, nil, ack, bold(r.what)))
				box.Add(wrapped(r.why))
				box.Add(note(k.tf("%s, %s · Kennung %s", orDash(r.clerk), orDash(r.when), r.id)))
				box.Add(msg)
			}
		}
		body.Objects = []fyne.CanvasObject{container.NewVScroll(box)}
		k.relayout()
	})
	return body
}

// rejectedView is a change the town hall refused, as a clerk reads it.
type rejectedView struct {
	what  string // "Hundeanmeldung, Erika Mustermann – geändert"
	why   string
	clerk string
	when  string
	id    string // the change's id, for the town hall's IT
}

func (k *Kit) loadRejected(ctx context.Context, ss *store.Session) ([]rejectedView, error) {
	rs, err := k.Store.Rejected(ctx)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	names, err := k.clerkNames(ctx)
	if err != nil {
		return nil, err
	}
	lang := k.lang()
	out := make([]rejectedView, 0, len(rs))
	for _, r := range rs {
		v := rejectedView{why: k.rejectReason(r.Reason), clerk: names[r.ClerkID], id: r.ID}
		if !r.CreatedAt.IsZero() {
			v.when = k.when(r.CreatedAt)
		}
		// What the record is, as far as this laptop can still open it.
		v.what = map[domain.RecordType]string{
			domain.TypeCase: k.t("Antrag"), domain.TypeAppointment: k.t("Termin"),
			domain.TypePerson: k.t("Person"), domain.TypeVisit: k.t("Einsatz"),
			domain.TypeConflict: k.t("Konflikt"),
		}[r.RecordType]
		if v.what == "" {
			v.what = string(r.RecordType)
		}
		switch r.RecordType {
		case domain.TypeCase:
			if c, _, err := ss.Case(ctx, r.RecordID); err == nil {
				if svc, ok := k.Catalog.Service(c.ServiceID); ok {
					v.what = svc.Label.In(lang)
					if name := citizenName(svc, c.Form); name != "" {
						v.what += ", " + name
					}
				}
			}
		case domain.TypeVisit:
			if rec, err := ss.Get(ctx, r.RecordID); err == nil && rec.Fields["place"] != "" {
				v.what += ", " + rec.Fields["place"]
			}
		case domain.TypeAppointment:
			if rec, err := ss.Get(ctx, r.RecordID); err == nil && rec.Fields["citizen_name"] != "" {
				v.what += ", " + rec.Fields["citizen_name"]
			}
		}
		switch r.Op {
		case store.OpCreate:
			v.what += " – " + k.t("neu angelegt")
		case store.OpDelete:
			v.what += " – " + k.t("gelöscht")
		default:
			v.what += " – " + k.t("geändert")
		}
		out = append(out, v)
	}
	return out, nil
}

// rejectReason says in words why the town hall refused a change. The
// server's reasons are the merge errors' texts, with ids after them.
func (k *Kit) rejectReason(reason string) string {
	switch {
	case strings.HasPrefix(reason, merge.ErrUnknownRecord.Error()):
		return k.t("Das Rathaus kennt den Datensatz nicht, zu dem diese Änderung gehört.")
	case strings.HasPrefix(reason, merge.ErrExists.Error()):
		return k.t("Das Rathaus hat schon einen Datensatz mit derselben Kennung.")
	case strings.HasPrefix(reason, merge.ErrDeleted.Error()):
		return k.t("Der Datensatz war im Rathaus schon gelöscht, als er hier geändert wurde.")
	case strings.HasPrefix(reason, merge.ErrBadChange.Error()):
		return k.t("Die Änderung war unvollständig oder fehlerhaft.")
	case strings.HasPrefix(reason, syncproto.ReasonFourEyes):
		return k.t("Das Rathaus verlangt die Bestätigung durch eine zweite Person. Der Antrag ist wieder „unterschrieben“: bitte öffnen, von einer zweiten Person bestätigen lassen und erneut versiegeln.")
	case reason == syncproto.ReasonIDInUse:
		return k.t("Die Kennung der Änderung ist im Rathaus schon vergeben.")
	}
	return k.t("Das Rathaus konnte die Änderung nicht übernehmen.")
}

func (k *Kit) conflictDetail(v conflictView) fyne.CanvasObject {
	lang := k.lang()
	c := v.c
	show := func(val string) string {
		if val == "" {
			return k.t("(leer)")
		}
		if v.field != nil {
			return k.displayValue(v.field, val, lang)
		}
		return val
	}
	msg := problem()
	resolve := func(choice, edited string) {
		ss := k.Session()
		if ss == nil {
			return
		}
		k.work(func(ctx context.Context) error { return ss.ResolveConflict(ctx, c.ID, choice, edited) },
			func(err error) {
				if err != nil {
					k.setProblem(msg, k.message(err))
					return
				}
				k.notice = k.t("Entschieden. Die Entscheidung wird bei der nächsten Synchronisierung übertragen.")
				k.showConflicts()
			})
	}
	side := func(i int, s store.ConflictSide, choice string) fyne.CanvasObject {
		title := bold(k.tf("Fassung von: %s", v.origin[i]))
		val := show(s.Value)
		if c.Kind == merge.KindDelete {
			// The edit always stands provisionally; the other side deleted.
			val = k.t("gelöscht")
			if c.Winner == choice {
				val = k.t("geändert")
			}
		}
		value := wrapped(val)
		value.TextStyle.Bold = true
		info := widget.NewForm(
			widget.NewFormItem(k.t("Wer"), widget.NewLabel(orDash(v.clerk[i]))),
			widget.NewFormItem(k.t("Wann"), widget.NewLabel(orDash(v.when[i]))))
		box := container.NewVBox(title, value, info)
		if c.Winner == choice {
			box.Add(note(k.t("gilt vorläufig")))
		}
		if c.Kind == merge.KindField {
			label := k.t("Diese Fassung übernehmen")
			b := k.button(label, func() { resolve(choice, "") })
			box.Add(b)
		}
		return box
	}
	cols := container.NewGridWithColumns(2, side(0, c.A, store.ResolveA), side(1, c.B, store.ResolveB))
	box := container.NewVBox(heading(k.t("Konflikt")), bold(v.what), cols, wrapped(k.ruleText(c.Rule)))
	if c.Kind == merge.KindField {
		if c.Base != "" {
			box.Add(widget.NewLabel(k.tf("Vorher: %s", show(c.Base))))
		}
		edit := widget.NewEntry()
		edit.SetPlaceHolder(k.t("anderen Wert eingeben"))
		box.Add(widget.NewSeparator())
		box.Add(container.NewBorder(nil, nil, widget.NewLabel(k.t("Eigener Wert")),
			k.button("Eigenen Wert speichern", func() { resolve(store.ResolveEdit, edit.Text) }), wheelThrough(edit)))
	} else {
		box.Add(container.NewHBox(k.button("Datensatz behalten", func() { resolve(store.ResolveKeep, "") }),
			k.button("Doch löschen", func() { resolve(store.ResolveDelete, "") })))
	}
	box.Add(msg)
	box.Add(container.NewHBox(k.button("Zurück zur Liste", k.showConflicts)))
	return container.NewVScroll(box)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
