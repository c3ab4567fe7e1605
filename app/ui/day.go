package ui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/validate"
)

// The day: today's visit (place, date, both clerks), its appointments as
// the central office booked them (cancelled or moved ones shown as such),
// walk-ins, and the cases captured today with their status. Appointments
// arrive by sync while the screen is open; it reloads every few seconds
// and redraws when something changed.

const dayReload = 3 * time.Second

type dayData struct {
	visits []domain.Visit
	visit  *domain.Visit
	appts  []domain.Appointment
	cases  []dayCase
	clerks map[string]domain.Clerk // by id and by user name
	key    string                  // what was loaded, to redraw only on change
}

type dayCase struct {
	c      domain.Case
	sealed bool // content gone from the laptop: the town hall has it
}

// showDay shows the day screen.
func (k *Kit) showDay() { k.show("day", k.dayScreen) }

// loadDay reads the day off the UI goroutine. visitID picks one of several
// visits of today; "" takes the first.
func (k *Kit) loadDay(ctx context.Context, ss *store.Session, visitID string) (dayData, error) {
	var d dayData
	vs, err := ss.List(ctx, domain.TypeVisit, domain.Fields{"day": k.today()})
	if err != nil {
		return d, err
	}
	var key strings.Builder
	for _, r := range vs {
		d.visits = append(d.visits, domain.VisitFromFields(r.ID, r.Fields))
		fmt.Fprintf(&key, "v%s.%d;", r.ID, r.Version)
	}
	for i := range d.visits {
		if d.visit == nil || d.visits[i].ID == visitID {
			d.visit = &d.visits[i]
		}
	}
	cs, err := ss.Store().Clerks(ctx)
	if err != nil {
		return d, err
	}
	d.clerks = map[string]domain.Clerk{}
	for _, c := range cs {
		d.clerks[c.ID], d.clerks[c.Username] = c, c
	}
	if d.visit == nil {
		d.key = "no visit;" + key.String()
		return d, nil
	}
	as, err := ss.List(ctx, domain.TypeAppointment, domain.Fields{"visit_id": d.visit.ID})
	if err != nil {
		return d, err
	}
	for _, r := range as {
		a, err := domain.AppointmentFromFields(r.ID, r.Fields)
		if err != nil {
			return d, err
		}
		d.appts = append(d.appts, a)
		fmt.Fprintf(&key, "a%s.%d;", r.ID, r.Version)
	}
	sort.SliceStable(d.appts, func(i, j int) bool { return d.appts[i].StartsAt.Before(d.appts[j].StartsAt) })
	rs, err := ss.List(ctx, domain.TypeCase, domain.Fields{"visit_id": d.visit.ID})
	if err != nil {
		return d, err
	}
	for _, r := range rs {
		c, err := domain.CaseFromFields(r.ID, r.Fields)
		if err != nil {
			return d, err
		}
		d.cases = append(d.cases, dayCase{c: c, sealed: r.Sealed})
		fmt.Fprintf(&key, "c%s.%d.%t;", r.ID, r.Version, r.Sealed)
	}
	sort.SliceStable(d.cases, func(i, j int) bool { return d.cases[i].c.CreatedAt.Before(d.cases[j].c.CreatedAt) })
	d.key = key.String()
	return d, nil
}

// dayPrint changes whenever what the day shows may have: a local change
// or seal (the store's watermark), a pull (the checkpoint), the date.
func (k *Kit) dayPrint(ctx context.Context, visitID string) (string, error) {
	wm, err := k.Store.Watermark(ctx)
	if err != nil {
		return "", err
	}
	cp, err := k.Store.Checkpoint(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s|%d|%s|%s", wm, cp, k.today(), visitID), nil
}

func (k *Kit) dayScreen() fyne.CanvasObject {
	body := container.NewStack(widget.NewLabel(k.t("Lade den Tag …")))
	ss := k.Session()
	if ss == nil {
		return body
	}
	visitID := ""
	var shown, printed string
	var load func()
	loading := false
	load = func() {
		if loading {
			return
		}
		loading = true
		var d dayData
		prev, vid := printed, visitID
		var print string
		k.work(func(ctx context.Context) (err error) {
			// Reading the day opens every case; do it only when the
			// store moved (a change here, a pull, another day).
			if print, err = k.dayPrint(ctx, vid); err != nil || print == prev {
				return err
			}
			d, err = k.loadDay(ctx, ss, vid)
			return err
		}, func(err error) {
			loading = false
			if k.Screen() != "day" || k.Session() != ss {
				return
			}
			if err == nil && print == prev {
				return
			}
			printed = print
			if err != nil {
				body.Objects = []fyne.CanvasObject{problemText(k.message(err))}
				k.relayout()
				return
			}
			if d.key == shown {
				return
			}
			shown = d.key
			if d.visit != nil {
				visitID = d.visit.ID
			}
			body.Objects = []fyne.CanvasObject{k.dayView(ss, d, func(id string) { visitID, shown, printed = id, "", ""; load() })}
			k.relayout()
		})
	}
	load()
	ctx, cancel := context.WithCancel(k.ctx)
	k.onLeave(cancel)
	k.spawn(func() {
		t := time.NewTicker(dayReload)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				k.do(func() {
					if ctx.Err() == nil {
						load()
					}
				})
			}
		}
	})
	return body
}

func problemText(msg string) fyne.CanvasObject {
	l := problem()
	l.SetText(msg)
	l.Show()
	return l
}

func (k *Kit) dayView(ss *store.Session, d dayData, pick func(visitID string)) fyne.CanvasObject {
	var top []fyne.CanvasObject
	if k.notice != "" {
		top = append(top, note(k.notice))
		k.notice = ""
	}
	if d.visit == nil {
		top = append(top, k.newVisitForm(ss, d))
		return container.NewVScroll(container.NewVBox(top...))
	}
	v := d.visit
	top = append(top, heading(v.Place))
	if len(d.visits) > 1 {
		var names []string
		for _, o := range d.visits {
			names = append(names, o.Place)
		}
		sel := widget.NewSelect(names, func(s string) {
			for _, o := range d.visits {
				if o.Place == s && o.ID != v.ID {
					pick(o.ID)
				}
			}
		})
		sel.SetSelected(v.Place)
		top = append(top, sel)
	}
	var clerks []string
	for _, id := range v.ClerkIDs {
		if c, ok := d.clerks[id]; ok {
			clerks = append(clerks, c.DisplayName)
		} else {
			clerks = append(clerks, id)
		}
	}
	info := widget.NewForm(
		widget.NewFormItem(k.t("Datum"), widget.NewLabel(germanDate(v.Day))),
		widget.NewFormItem(k.t("Ort"), widget.NewLabel(v.VenueAddress)),
		widget.NewFormItem(k.t("Vor Ort"), widget.NewLabel(strings.Join(clerks, ", "))))
	top = append(top, info)

	byAppt := map[string]dayCase{}
	for _, c := range d.cases {
		if c.c.AppointmentID != "" {
			byAppt[c.c.AppointmentID] = c
		}
	}
	appts := container.NewVBox(bold(k.t("Termine")))
	if len(d.appts) == 0 {
		appts.Add(widget.NewLabel(k.t("Keine Termine gebucht.")))
	}
	grid := container.New(&columns{widths: []float32{0.08, 0.32, 0.2, 0.24, 0.16}})
	var rows []fyne.CanvasObject
	for _, a := range d.appts {
		a := a
		when := a.StartsAt.In(k.Now().Location()).Format("15:04")
		svc := a.ServiceID
		if s, ok := k.Catalog.Service(a.ServiceID); ok {
			svc = s.Label.In(k.lang())
		}
		state := k.t("gebucht")
		var action fyne.CanvasObject = widget.NewLabel("")
		switch a.Status {
		case domain.AppointmentCancelled:
			state = k.t("abgesagt")
		case domain.AppointmentMoved:
			state = k.tf("verlegt auf %s", k.when(a.MovedTo))
		}
		if c, ok := byAppt[a.ID]; ok {
			state = k.statusText(c)
			action = k.caseAction(c)
		} else if a.Status != domain.AppointmentCancelled {
			b := k.button("Termin öffnen", func() { k.startCase(newFlowForAppointment(a, d.visit.ID)) })
			b.Importance = widget.HighImportance
			action = b
		}
		name := a.CitizenName
		if name == "" {
			name = k.t("(ohne Namen)")
		}
		lw := widget.NewLabel(when)
		if a.Status == domain.AppointmentCancelled {
			lw.TextStyle.Italic = true
		}
		rows = append(rows, lw, cell(svc), cell(name), cell(state), action)
	}
	grid.Objects = rows // set once: Container.Add lays out every cell again
	grid.Refresh()
	appts.Add(grid)

	walk := k.button("Neuer Antrag ohne Termin", func() { k.showServicePicker(&caseFlow{visitID: d.visit.ID}) })
	walkIns := container.NewVBox(bold(k.t("Ohne Termin")), container.NewHBox(walk))

	cases := container.NewVBox(bold(k.t("Heute erfasste Anträge")))
	cgrid := container.New(&columns{widths: []float32{0.08, 0.32, 0.2, 0.24, 0.16}})
	var crows []fyne.CanvasObject
	n := 0
	for _, c := range d.cases {
		n++
		svc := c.c.ServiceID
		who := strings.TrimSpace(c.c.Form["given_names"] + " " + c.c.Form["surname"])
		if s, ok := k.Catalog.Service(c.c.ServiceID); ok {
			svc = s.Label.In(k.lang())
			who = citizenName(s, c.c.Form)
		}
		if c.sealed {
			who = k.t("(versiegelt)")
		} else if who == "" {
			who = k.t("(noch ohne Namen)")
		}
		crows = append(crows, widget.NewLabel(c.c.CreatedAt.In(k.Now().Location()).Format("15:04")),
			cell(svc), cell(who), cell(k.statusText(c)), k.caseAction(c))
	}
	cgrid.Objects = crows
	cgrid.Refresh()
	if n == 0 {
		cases.Add(widget.NewLabel(k.t("Noch keine Anträge.")))
	} else {
		cases.Add(cgrid)
	}
	top = append(top, widget.NewSeparator(), appts, widget.NewSeparator(), walkIns, widget.NewSeparator(), cases)
	return container.NewVScroll(container.NewVBox(top...))
}

// caseAction is what a clerk can do with a case from the day's list.
func (k *Kit) caseAction(c dayCase) fyne.CanvasObject {
	switch {
	case c.c.Status.Final() || c.c.Status == domain.StatusNeedsInfo:
		return k.button("Entscheidung", func() { k.showDecision(c.c) })
	case c.sealed:
		return widget.NewLabel("")
	case c.c.Status == domain.StatusDraft:
		return k.button("Fortsetzen", func() { k.openCase(c.c.ID) })
	case c.c.Status == domain.StatusSigned:
		return k.button("Abschließen", func() { k.openCase(c.c.ID) })
	}
	return widget.NewLabel("")
}

// statusText says where a case stands, honestly about what the town hall
// has: a sealed case is at the town hall only once its content is gone
// from the laptop (shredded after the server's acknowledgement). The town
// hall's decision comes with its note, which stays readable after the
// case's content is shredded (a plain field).
func (k *Kit) statusText(c dayCase) string {
	s, atTownHall := c.c.Status, c.sealed
	switch s {
	case domain.StatusDraft:
		return k.t("Entwurf")
	case domain.StatusSigned:
		return k.t("Unterschrieben, nicht versiegelt")
	case domain.StatusSealed:
		if atTownHall {
			return k.t("Versiegelt, im Rathaus angekommen")
		}
		return k.t("Versiegelt, noch nicht übertragen")
	case domain.StatusSubmitted:
		return k.t("Im Rathaus eingegangen")
	case domain.StatusAccepted:
		return k.t("Angenommen")
	case domain.StatusRejected:
		if c.c.DecisionNote != "" {
			return k.tf("Abgelehnt: %s", c.c.DecisionNote)
		}
		return k.t("Abgelehnt")
	case domain.StatusNeedsInfo:
		if c.c.DecisionNote != "" {
			return k.tf("Rückfrage: %s", c.c.DecisionNote)
		}
		return k.t("Rückfrage")
	}
	return string(s)
}

// newVisitForm lets the clerks plan today's visit themselves when the
// central office has not (or the laptop has not synced yet).
func (k *Kit) newVisitForm(ss *store.Session, d dayData) fyne.CanvasObject {
	place, addr := widget.NewEntry(), widget.NewEntry()
	place.SetPlaceHolder(k.t("z. B. Dorfgemeinschaftshaus Oberweiler"))
	var others []string
	byName := map[string]domain.Clerk{}
	for id, c := range d.clerks {
		if id == c.ID && c.ID != ss.Clerk().ID {
			others = append(others, c.DisplayName)
			byName[c.DisplayName] = c
		}
	}
	sort.Strings(others)
	second := widget.NewSelect(others, nil)
	second.PlaceHolder = k.t("(allein)")
	msg := problem()
	form := widget.NewForm(widget.NewFormItem(k.t("Ort"), wheelThrough(place)), widget.NewFormItem(k.t("Anschrift"), wheelThrough(addr)),
		widget.NewFormItem(k.t("Zweite Person"), second))
	form.SubmitText = k.t("Einsatz anlegen")
	form.OnSubmit = func() {
		k.touch()
		if strings.TrimSpace(place.Text) == "" {
			k.setProblem(msg, k.t("Bitte den Ort angeben."))
			return
		}
		v := domain.Visit{Place: strings.TrimSpace(place.Text), VenueAddress: strings.TrimSpace(addr.Text),
			Day: k.today(), ClerkIDs: []string{ss.Clerk().ID}}
		if c, ok := byName[second.Selected]; ok {
			v.ClerkIDs = append(v.ClerkIDs, c.ID)
		}
		form.Disable()
		k.work(func(ctx context.Context) error {
			_, err := ss.CreateVisit(ctx, v)
			return err
		}, func(err error) {
			form.Enable()
			if err != nil {
				k.setProblem(msg, k.message(err))
				return
			}
			k.showDay()
		})
	}
	return container.NewVBox(heading(k.t("Heute")),
		wrapped(k.t("Für heute ist noch kein Einsatz geplant. Termine, die das Rathaus bucht, erscheinen nach der nächsten Synchronisierung.")),
		form, msg)
}

// germanDate turns YYYY-MM-DD into TT.MM.JJJJ, and a date of birth of which
// only the year or month is known ("1985-00-00") into 00.00.1985, as
// registration offices write it; anything else stays.
func germanDate(iso string) string {
	if validate.IsPartialDate(iso) {
		return iso[8:10] + "." + iso[5:7] + "." + iso[0:4]
	}
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("02.01.2006")
}

// citizenName is the name on a case's form: the fields the ID document
// fills with the names (a dog's owner, a certificate's holder).
func citizenName(svc *catalog.Service, form map[string]string) string {
	var given, surname string
	for _, f := range svc.Fields() {
		switch f.Source {
		case "mrz.given_names":
			given = form[f.ID]
		case "mrz.surname":
			surname = form[f.ID]
		}
	}
	return strings.TrimSpace(given + " " + surname)
}
