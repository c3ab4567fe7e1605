package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/hardware/idreader"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/mrz"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/validate"
)

// A case's form, generated from the service catalog: one input per field,
// by type; fields shown only while their condition holds; every check of
// the catalog inline, in plain German, as the clerk types. "Ausweis lesen"
// takes the next document from the ID reader and fills the person's
// fields, warning on failed check digits or an expired document.

// maxSideBySide is the widest a group of check boxes may be laid out side
// by side: the input column of a form in the 1,100 px window.
const maxSideBySide = 560

// idReadTimeout is how long "Ausweis lesen" waits for a document.
const idReadTimeout = 60 * time.Second

// caseFlow is a case on its way through the screens. It outlives their
// widgets: a language change or a lock rebuilds the screens from it.
type caseFlow struct {
	svc           *catalog.Service
	serviceID     string // of an appointment, until startCase finds it in the catalog
	visitID       string
	appointmentID string
	appointment   string // "09:15, Erika Mustermann": shown, not stored in the case
	booked        string // the citizen's name as the appointment was booked

	id      string // "" until first saved
	version int64
	status  domain.Status

	values  map[string]string
	touched map[string]bool
	tried   bool // "Weiter" was pressed: show every error

	doc       *mrz.Result // the document read, if any
	docWarn   []string
	personID  string
	personDoc string // the document number the person record was made from

	busy  bool              // a save or status change is running
	saved map[string]string // the form as last saved: what the citizen reviews and signs

	signedBy    string // the clerk who witnessed the signature
	confirmedBy string // the second clerk, with four-eyes
}

func newFlowForAppointment(a domain.Appointment, visitID string) *caseFlow {
	f := &caseFlow{serviceID: a.ServiceID, visitID: visitID, appointmentID: a.ID,
		values: map[string]string{}, touched: map[string]bool{}}
	f.appointment = a.StartsAt.Local().Format("15:04")
	f.booked = a.CitizenName
	if a.CitizenName != "" {
		f.appointment += ", " + a.CitizenName
	}
	return f
}

// startCase shows the form of a new case; without a known service, the
// picker first.
func (k *Kit) startCase(f *caseFlow) {
	if f.svc == nil {
		s, ok := k.Catalog.Service(f.serviceID)
		if !ok {
			// Booked for a service this laptop's catalog lacks: the
			// clerk picks one; the case still answers the appointment.
			k.showServicePicker(f)
			return
		}
		f.svc = s
	}
	k.show("case", func() fyne.CanvasObject { return k.caseForm(f) })
}

// showServicePicker lists the catalog's services for a walk-in, or for
// an appointment whose service is not in the catalog (flow not nil).
func (k *Kit) showServicePicker(flow *caseFlow) {
	k.show("services", func() fyne.CanvasObject {
		svcs := k.Catalog.Services()
		title := k.t("Neuer Antrag ohne Termin")
		if flow.appointment != "" {
			title = k.tf("Termin: %s", flow.appointment)
		}
		box := container.NewVBox(heading(title), widget.NewLabel(k.t("Welche Leistung?")))
		for _, s := range svcs {
			s := s
			b := k.button(s.Label.In(k.lang()), func() {
				f := *flow
				f.svc, f.values, f.touched = s, map[string]string{}, map[string]bool{}
				k.startCase(&f)
			})
			b.Alignment = widget.ButtonAlignLeading
			desc := wrapped(s.Description.In(k.lang()))
			box.Add(container.NewVBox(b, desc))
		}
		box.Add(k.button("Zurück", k.showDay))
		return container.NewVScroll(box)
	})
}

// openCase continues a case from the day's list.
func (k *Kit) openCase(id string) {
	ss := k.Session()
	if ss == nil {
		return
	}
	var c domain.Case
	var v int64
	var appt *domain.Appointment
	k.work(func(ctx context.Context) (err error) {
		if c, v, err = ss.Case(ctx, id); err != nil {
			return err
		}
		// The appointment it answers, for the header and the name check
		// of "Ausweis lesen"; a case goes on without it.
		if c.AppointmentID != "" {
			if r, err := ss.Get(ctx, c.AppointmentID); err == nil && !r.Deleted {
				if a, err := domain.AppointmentFromFields(r.ID, r.Fields); err == nil && !a.StartsAt.IsZero() {
					appt = &a
				}
			}
		}
		return nil
	}, func(err error) {
		if err != nil {
			k.notice = k.message(err)
			k.showDay()
			return
		}
		svc, ok := k.Catalog.Service(c.ServiceID)
		if !ok {
			k.notice = k.tf("Die Leistung %q ist nicht im Katalog dieses Laptops.", c.ServiceID)
			k.showDay()
			return
		}
		f := &caseFlow{svc: svc, visitID: c.VisitID, appointmentID: c.AppointmentID, id: c.ID, version: v,
			status: c.Status, values: map[string]string(c.Form), touched: map[string]bool{}, personID: c.PersonID,
			confirmedBy: c.ConfirmedBy, signedBy: c.SignedBy, saved: maps.Clone(map[string]string(c.Form))}
		if f.values == nil {
			f.values = map[string]string{}
		}
		if appt != nil {
			a := newFlowForAppointment(*appt, c.VisitID)
			f.appointment, f.booked = a.appointment, a.booked
		}
		if c.Status == domain.StatusSigned {
			k.showSignoff(f)
			return
		}
		k.startCase(f)
	})
}

// fieldRow is one input of the form with its help and error lines.
type fieldRow struct {
	field *catalog.Field
	input fyne.CanvasObject // the entry, selection or check box
	set   func(v string)    // show a value (prefill from the ID document)
	label *widget.Label
	box   *fyne.Container // input, help and error: hidden with the label
	err   *widget.Label
}

func (k *Kit) caseForm(f *caseFlow) fyne.CanvasObject {
	lang := k.lang()
	rows := map[string]*fieldRow{}
	k.formRows = rows
	var order []string
	revalidate := func() {}

	changed := func(id, v string) {
		k.touch()
		if f.values[id] == v {
			return
		}
		f.values[id] = v
		f.touched[id] = true
		revalidate()
	}
	// One two-column layout for all sections, so that every input starts
	// at the same place; a section's title takes a row of its own.
	// The objects first, the container once: Container.Add lays out all
	// of them again each time, which made opening a form quadratic.
	var objs []fyne.CanvasObject
	for _, sec := range f.svc.Sections {
		objs = append(objs, bold(sec.Label.In(lang)), layout.NewSpacer())
		for _, fd := range sec.Fields {
			r := k.fieldInput(fd, f.values[fd.ID], lang, func(v string) { changed(fd.ID, v) })
			rows[fd.ID] = r
			order = append(order, fd.ID)
			text := fd.Label.In(lang)
			if fd.Mandatory {
				text += " *"
			}
			r.label = widget.NewLabel(text)
			r.box = container.NewVBox(wheelThrough(r.input))
			if h := fd.Help.In(lang); h != "" {
				hl := wrapped(h)
				hl.TextStyle.Italic = true
				hl.SizeName = theme.SizeNameCaptionText
				r.box.Add(hl)
			}
			r.box.Add(r.err)
			objs = append(objs, r.label, r.box)
		}
	}
	sections := container.New(layout.NewFormLayout(), objs...)
	errorsSummary := problem()
	shape := ""
	revalidate = func() {
		var now strings.Builder
		vis := f.svc.Visible(f.values)
		errs := f.svc.Validate(f.values, k.Now())
		for _, id := range order {
			r := rows[id]
			fmt.Fprintf(&now, "%t", vis[id])
			if vis[id] {
				r.label.Show()
				r.box.Show()
			} else {
				r.label.Hide()
				r.box.Hide()
			}
			msg := ""
			if e := errs.For(id); e != nil && (f.tried || (f.touched[id] && f.values[id] != "")) {
				msg = e.Message(lang)
			}
			k.setProblem(r.err, msg)
			fmt.Fprintf(&now, "%t;", msg != "")
		}
		switch {
		case f.tried && len(errs) == 1:
			k.setProblem(errorsSummary, k.t("Bitte 1 Angabe prüfen (rot markiert)."))
		case f.tried && len(errs) > 1:
			k.setProblem(errorsSummary, k.tf("Bitte %d Angaben prüfen (rot markiert).", len(errs)))
		default:
			k.setProblem(errorsSummary, "")
		}
		fmt.Fprintf(&now, "%d", len(errorsSummary.Text))
		if now.String() != shape && k.root != nil {
			shape = now.String()
			k.relayout() // rows appeared or went, messages came or went
		}
	}
	revalidate()

	// "Ausweis lesen".
	docInfo := container.NewVBox()
	showDoc := func() {
		docInfo.Objects = nil
		if f.doc != nil {
			docInfo.Add(widget.NewLabel(k.docSummary(f.doc)))
		}
		for _, w := range f.docWarn {
			docInfo.Add(note(w))
		}
		k.relayout()
	}
	showDoc()
	readStatus := widget.NewLabel("")
	readStatus.Hide()
	readBtn := k.button("Ausweis lesen", nil)
	readBtn.Importance = widget.HighImportance
	cancelRead := k.button("Abbrechen", nil)
	cancelRead.Hide()
	readBtn.OnTapped = func() {
		k.touch()
		port := k.Settings().IDReader
		if port == "" {
			k.setText(readStatus, k.t("Kein Lesegerät eingestellt (Einstellungen → Geräte)."))
			return
		}
		readBtn.Disable()
		cancelRead.Show()
		k.setText(readStatus, k.t("Bitte den Ausweis auf das Lesegerät legen …"))
		ctx, cancel := context.WithTimeout(k.ctx, idReadTimeout)
		k.onLeave(cancel)
		cancelRead.OnTapped = cancel
		var res *mrz.Result
		k.work(func(context.Context) (err error) {
			defer cancel()
			res, err = k.readDocument(ctx, port)
			return err
		}, func(err error) {
			readBtn.Enable()
			cancelRead.Hide()
			if err != nil {
				k.setText(readStatus, k.idReadMessage(err))
				return
			}
			k.setText(readStatus, "")
			f.doc, f.docWarn = res, k.documentWarnings(res, f.booked)
			for id, v := range f.svc.Prefill(res.Fields()) {
				if r, ok := rows[id]; ok {
					f.values[id] = v
					f.touched[id] = true
					r.set(v)
				}
			}
			showDoc()
			revalidate()
		})
	}

	head := container.NewVBox(heading(f.svc.Label.In(lang)))
	if k.notice != "" {
		head.Add(note(k.notice))
		k.notice = ""
	}
	line := container.NewHBox()
	if f.appointment != "" {
		line.Add(bold(k.tf("Termin: %s", f.appointment)))
	}
	line.Add(layoutSpacer())
	line.Add(widget.NewLabel(k.tf("Rechtsgrundlage: %s", f.svc.Law)))
	head.Add(line)
	if d := f.svc.Deadline.In(lang); d != "" {
		head.Add(wrapped(d))
	}
	head.Add(container.NewHBox(readBtn, cancelRead, readStatus))
	head.Add(docInfo)
	head.Add(widget.NewSeparator())

	saveMsg := problem()
	save := func(next func()) {
		ss := k.Session()
		if ss == nil {
			return
		}
		vals, touched := maps.Clone(f.values), maps.Clone(f.touched)
		var adopted map[string]string
		k.flowWork(f, func(ctx context.Context) (err error) {
			adopted, err = k.saveDraft(ctx, ss, f, vals, touched)
			return err
		}, func(err error) {
			if err != nil {
				k.setProblem(saveMsg, k.message(err))
				return
			}
			if len(adopted) > 0 {
				// The draft changed elsewhere (the town hall): what the
				// clerk did not touch here now shows the new values.
				maps.Copy(f.values, adopted)
				k.notice = k.t("Der Entwurf wurde inzwischen anderswo geändert. Angaben, die Sie nicht bearbeitet haben, wurden übernommen; bitte prüfen.")
				k.startCase(f)
				return
			}
			next()
		})
	}
	draft := k.button("Entwurf speichern", func() {
		save(func() {
			k.notice = k.t("Entwurf gespeichert.")
			k.showDay()
		})
	})
	scroll := container.NewVScroll(sections)
	next := k.button("Weiter zur Übersicht", func() {
		f.tried = true
		revalidate()
		if errs := f.svc.Validate(f.values, k.Now()); len(errs) > 0 {
			if r, ok := rows[errs[0].Field]; ok {
				k.scrollTo(scroll, r.label)
			}
			return
		}
		save(func() { k.showSummary(f) })
	})
	next.Importance = widget.HighImportance
	back := k.button("Zurück zum Tag", k.showDay)
	foot := container.NewVBox(errorsSummary, saveMsg, container.NewHBox(back, layoutSpacer(), draft, next))
	return container.NewBorder(head, foot, nil, nil, scroll)
}

// fieldInput makes the input for a catalog field.
func (k *Kit) fieldInput(fd *catalog.Field, value, lang string, changed func(string)) *fieldRow {
	r := &fieldRow{field: fd, err: problem()}
	switch fd.Type {
	case catalog.TypeBool:
		c := widget.NewCheck(k.t("ja"), func(b bool) { changed(fmt.Sprint(b)) })
		c.SetChecked(value == "true")
		r.input, r.set = c, func(v string) { c.SetChecked(v == "true") }
	case catalog.TypeSelect:
		labels, byLabel, byValue := optionLabels(fd, lang)
		s := widget.NewSelect(labels, func(l string) { changed(byLabel[l]) })
		s.PlaceHolder = k.t("(bitte wählen)")
		if l, ok := byValue[value]; ok {
			s.SetSelected(l)
		}
		r.input, r.set = s, func(v string) {
			if l, ok := byValue[v]; ok {
				s.SetSelected(l)
			}
		}
	case catalog.TypeMultiselect:
		labels, byLabel, byValue := optionLabels(fd, lang)
		var g *widget.CheckGroup
		g = widget.NewCheckGroup(labels, func(sel []string) {
			var vs []string
			for _, l := range labels { // in the catalog's order
				for _, s := range sel {
					if s == l {
						vs = append(vs, byLabel[l])
					}
				}
			}
			changed(strings.Join(vs, ","))
		})
		// A few short options side by side; long ones (reasons for a tax
		// relief) one under the other, or the form outgrows the window.
		g.Horizontal = len(labels) <= 4
		if g.Horizontal && g.MinSize().Width > maxSideBySide {
			g.Horizontal = false
		}
		setMulti := func(v string) {
			var sel []string
			for _, x := range strings.Split(v, ",") {
				if l, ok := byValue[strings.TrimSpace(x)]; ok {
					sel = append(sel, l)
				}
			}
			g.SetSelected(sel)
		}
		setMulti(value)
		r.input, r.set = g, setMulti
	case catalog.TypeDate:
		e := widget.NewEntry()
		e.SetPlaceHolder(k.t("TT.MM.JJJJ"))
		e.SetText(germanDate(value))
		e.OnChanged = func(s string) { changed(isoDate(s)) }
		r.input, r.set = e, func(v string) { e.SetText(germanDate(v)) }
	case catalog.TypeTextarea:
		e := widget.NewMultiLineEntry()
		e.Wrapping = fyne.TextWrapWord
		e.SetMinRowsVisible(2)
		e.SetText(value)
		e.OnChanged = changed
		r.input, r.set = e, e.SetText
	default:
		e := widget.NewEntry()
		e.SetText(value)
		e.OnChanged = changed
		r.input, r.set = e, e.SetText
	}
	return r
}

func optionLabels(fd *catalog.Field, lang string) (labels []string, byLabel, byValue map[string]string) {
	byLabel, byValue = map[string]string{}, map[string]string{}
	for _, o := range fd.Options {
		l := o.Label.In(lang)
		labels = append(labels, l)
		byLabel[l], byValue[o.Value] = o.Value, l
	}
	return labels, byLabel, byValue
}

// isoDate turns what a clerk types (TT.MM.JJJJ, also T.M.JJJJ) into
// YYYY-MM-DD, and a date of birth with unknown day or month as registration
// offices write it (00.00.1985, 00.03.1985) into 1985-00-00, 1985-03-00;
// the catalog decides whether the field takes such a date. Anything else
// goes to the validator as typed, which says what is wrong with it.
func isoDate(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"02.01.2006", "2.1.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	if d, rest, ok := strings.Cut(s, "."); ok {
		if m, y, ok := strings.Cut(rest, "."); ok && strings.Trim(d, "0") == "" && d != "" && len(d) <= 2 && len(m) <= 2 && len(y) == 4 {
			iso := y + "-" + strings.Repeat("0", 2-len(m)) + m + "-00"
			if validate.IsPartialDate(iso) {
				return iso
			}
		}
	}
	return s
}

// flowWork is work on a case flow: one at a time (a second tap while a
// save runs does nothing), so the flow's id and version are written by
// one goroutine at a time and read by the UI only when it is done.
func (k *Kit) flowWork(f *caseFlow, fn func(ctx context.Context) error, done func(error)) {
	if f.busy {
		return
	}
	f.busy = true
	gen := k.gen
	k.workAlways(fn, func(err error) {
		f.busy = false
		if k.gen == gen { // still on the screen that asked
			done(err)
		}
	})
}

// saveDraft writes the form (vals, a copy taken on the UI goroutine) into
// the flow's case, creating the case the first time, and the person read
// from a document once per document. If the draft changed elsewhere since
// the clerk opened it, the fields the clerk did not touch take the stored
// values (returned, for the form) and the save is tried once more.
func (k *Kit) saveDraft(ctx context.Context, ss *store.Session, f *caseFlow, vals map[string]string, touched map[string]bool) (map[string]string, error) {
	values := f.svc.Prune(vals)
	if f.doc != nil && (f.personID == "" || f.personDoc != f.doc.DocumentNumber) {
		p, err := ss.CreatePerson(ctx, personFrom(f.doc, values))
		if err != nil {
			return nil, err
		}
		f.personID, f.personDoc = p.ID, f.doc.DocumentNumber
	}
	if f.id == "" {
		c, err := ss.CreateCase(ctx, domain.Case{ServiceID: f.svc.ID, ServiceVersion: fmt.Sprint(f.svc.Version),
			VisitID: f.visitID, AppointmentID: f.appointmentID, PersonID: f.personID, Form: domain.Fields(values)})
		if err != nil {
			return nil, err
		}
		_, v, err := ss.Case(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		f.id, f.version, f.status, f.saved = c.ID, v, c.Status, values
		return nil, nil
	}
	var adopted map[string]string
	for attempt := 0; ; attempt++ {
		c, v, err := ss.Case(ctx, f.id)
		if err != nil {
			return nil, err
		}
		if attempt > 0 || v != f.version {
			// Changed elsewhere: keep what the clerk touched, take the rest.
			adopted = map[string]string{}
			for id, shown := range f.svc.Visible(c.Form) {
				if shown && !touched[id] && c.Form[id] != values[id] {
					adopted[id] = c.Form[id]
					if c.Form[id] == "" {
						delete(values, id)
					} else {
						values[id] = c.Form[id]
					}
				}
			}
		}
		set := domain.Fields{}
		for id := range c.Form {
			if _, ok := values[id]; !ok {
				set[domain.FormPrefix+id] = "" // emptied, or hidden now
			}
		}
		for id, val := range values {
			if c.Form[id] != val {
				set[domain.FormPrefix+id] = val
			}
		}
		if c.PersonID != f.personID {
			set["person_id"] = f.personID
		}
		if len(set) == 0 {
			f.version, f.saved = v, values
			return adopted, nil
		}
		r, err := ss.Update(ctx, f.id, v, set)
		if errors.Is(err, store.ErrStale) && attempt == 0 {
			continue // changed between reading and writing: once more
		}
		if err != nil {
			return nil, err
		}
		f.version, f.saved = r.Version, values
		return adopted, nil
	}
}

// current is the version to base the next change of the case on. The
// local version moves with every sync, also when the town hall only
// echoes the laptop's own change; what matters is that what the clerk and
// the citizen saw is still what is stored: the form as last saved and the
// status. Otherwise the case changed elsewhere (ErrStale), and nobody
// signs or seals what they have not seen.
func (k *Kit) current(ctx context.Context, ss *store.Session, f *caseFlow) (int64, error) {
	c, v, err := ss.Case(ctx, f.id)
	if err != nil {
		return 0, err
	}
	if c.Status != f.status || !maps.Equal(nonEmpty(c.Form), nonEmpty(f.saved)) {
		return 0, fmt.Errorf("ui: case changed elsewhere: %w", store.ErrStale)
	}
	return v, nil
}

func nonEmpty(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// personFrom is the citizen as the document and the form name them.
func personFrom(d *mrz.Result, form map[string]string) domain.Person {
	// A date of birth the document gives in part ("1985") is kept as the
	// form and registration offices write it ("1985-00-00").
	birth, _ := validate.PartialDateFromISO(d.BirthDate)
	p := domain.Person{Surname: d.Surname, GivenNames: d.GivenNames, BirthDate: birth, Sex: d.Sex,
		Nationality: d.Nationality, DocumentType: d.DocumentCode, DocumentNumber: d.DocumentNumber,
		DocumentExpiry: d.ExpiryDate, IssuingState: d.IssuingState}
	// The clerk corrects what the MRZ cannot spell (umlauts).
	if v := form["surname"]; v != "" {
		p.Surname = v
	}
	if v := form["given_names"]; v != "" {
		p.GivenNames = v
	}
	p.BirthPlace = form["birth_place"]
	p.BirthName = form["birth_name"]
	return p
}

// readDocument opens the reader, waits for the next document and closes
// the reader again. Line noise is skipped; an unplugged reader is waited
// for until ctx ends.
func (k *Kit) readDocument(ctx context.Context, port string) (*mrz.Result, error) {
	r, err := idreader.Start(ctx, idreader.Config{Open: k.Open, Path: port, Now: k.Now})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	unplugged := false
	for {
		select {
		case <-ctx.Done():
			if unplugged {
				return nil, errReaderGone
			}
			return nil, ctx.Err()
		case ev, ok := <-r.Events():
			if !ok {
				return nil, errReaderGone
			}
			switch ev.Kind {
			case idreader.EventDocument:
				return ev.Result, nil
			case idreader.EventDisconnected:
				unplugged = true
			case idreader.EventReconnected:
				unplugged = false
			}
		}
	}
}

var errReaderGone = errors.New("ui: the ID reader went away")

func (k *Kit) idReadMessage(err error) string {
	switch {
	case errors.Is(err, errReaderGone):
		return k.t("Das Lesegerät ist nicht verbunden. Bitte Kabel prüfen.")
	case errors.Is(err, context.DeadlineExceeded):
		return k.t("Kein Ausweis erkannt. Bitte erneut versuchen oder die Angaben eintippen.")
	case errors.Is(err, context.Canceled):
		return ""
	}
	return k.t("Das Lesegerät lässt sich nicht öffnen. Bitte Anschluss in den Einstellungen prüfen.")
}

// documentWarnings are what the clerk must check by eye before going on;
// booked is the name the appointment was booked for ("" for a walk-in).
func (k *Kit) documentWarnings(r *mrz.Result, booked string) []string {
	var w []string
	if !mrz.NameMatches(booked, r.Surname) {
		holder := strings.TrimSpace(r.GivenNames + " " + r.Surname)
		w = append(w, k.tf("Der Ausweis lautet auf %s, der Termin auf %s. Bitte prüfen, ob die richtige Person gegenübersitzt.", holder, booked))
	}
	if !r.Valid {
		names := map[string]string{
			mrz.CheckDocumentNumber: k.t("Ausweisnummer"), mrz.CheckBirthDate: k.t("Geburtsdatum"),
			mrz.CheckExpiryDate: k.t("Ablaufdatum"), mrz.CheckPersonalNumber: k.t("persönliche Nummer"),
			mrz.CheckComposite: k.t("Gesamtprüfziffer"), mrz.CheckSex: k.t("Geschlecht"),
		}
		var failed []string
		for _, e := range r.Errors {
			if n, ok := names[e]; ok {
				failed = append(failed, n)
			} else {
				failed = append(failed, e)
			}
		}
		sort.Strings(failed)
		w = append(w, k.tf("Prüfziffern stimmen nicht (%s). Bitte die Angaben mit dem Ausweis vergleichen; vielleicht wurde er schief gelesen.", strings.Join(failed, ", ")))
	}
	if r.ExpiryDate != "" && r.ExpiryDate < k.today() {
		w = append(w, k.tf("Der Ausweis ist abgelaufen (gültig bis %s).", germanDate(r.ExpiryDate)))
	}
	return w
}

// docSummary is the line that says which document was read. A French ID
// card of before 2021 states no expiry date in its MRZ; a date of birth the
// document gives only in part is named as such, so that 00.00.1985 on the
// form is not taken for a typing error.
func (k *Kit) docSummary(r *mrz.Result) string {
	s := k.tf("Ausweis gelesen: %s, Nr. %s", docKind(k, r), r.DocumentNumber)
	if r.ExpiryDate != "" {
		s = k.tf("Ausweis gelesen: %s, Nr. %s, gültig bis %s", docKind(k, r), r.DocumentNumber, germanDate(r.ExpiryDate))
	}
	if d, ok := validate.PartialDateFromISO(r.BirthDate); ok && validate.IsPartialDate(d) {
		s += " " + k.tf("(Geburtsdatum laut Dokument nur teilweise bekannt: %s)", germanDate(d))
	}
	return s
}

func docKind(k *Kit, r *mrz.Result) string {
	switch {
	case strings.HasPrefix(r.DocumentCode, "P"):
		return k.t("Reisepass")
	case strings.HasPrefix(r.DocumentCode, "V"):
		return k.t("Visum")
	}
	return k.t("Ausweis")
}

// scrollTo scrolls so that obj (inside s) is in view, near the top.
func (k *Kit) scrollTo(s *container.Scroll, obj fyne.CanvasObject) {
	d := fyne.CurrentApp().Driver()
	y := d.AbsolutePositionForObject(obj).Y - d.AbsolutePositionForObject(s).Y + s.Offset.Y
	s.ScrollToOffset(fyne.NewPos(0, max(0, y-theme.Padding()*4)))
}
