package ui

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// benchKit is a Kit on a real store, signed in, without devices.
func benchKit(b *testing.B) *Kit {
	b.Helper()
	newTestApp()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "field.db"), store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ss, err := st.Setup(ctx, "anna", "Anna Schmidt", []byte("Feldtag-2026!"))
	if err != nil {
		b.Fatal(err)
	}
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		b.Fatal(err)
	}
	w := test.NewWindow(nil)
	b.Cleanup(w.Close)
	w.Resize(fyne.NewSize(1100, 760))
	k := &Kit{Store: st, Catalog: cat, Window: w}
	if err := k.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(k.Close)
	fyne.DoAndWait(func() { k.signedIn(ss) })
	return k
}

// BenchmarkCaseForm_Open is opening the longest form (Anmeldung, 45
// fields): the time from "Termin öffnen" to a form on screen.
func BenchmarkCaseForm_Open(b *testing.B) {
	k := benchKit(b)
	svc, _ := k.Catalog.Service("anmeldung")
	b.ReportAllocs()
	for b.Loop() {
		fyne.DoAndWait(func() {
			k.startCase(&caseFlow{svc: svc, values: map[string]string{}, touched: map[string]bool{}})
		})
	}
}

// BenchmarkCaseForm_Keystroke is one key typed into the Anmeldung form:
// the value is checked against the catalog and the messages updated. It
// runs on the UI goroutine, so it is what a clerk feels as typing lag.
func BenchmarkCaseForm_Keystroke(b *testing.B) {
	k := benchKit(b)
	svc, _ := k.Catalog.Service("anmeldung")
	fyne.DoAndWait(func() {
		k.startCase(&caseFlow{svc: svc, values: map[string]string{}, touched: map[string]bool{}})
	})
	var e interface{ SetText(string) }
	fyne.DoAndWait(func() { e = k.formRows["new_postal_code"].input.(interface{ SetText(string) }) })
	codes := []string{"5", "54", "543", "5432", "54321"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fyne.DoAndWait(func() { e.SetText(codes[i%len(codes)]) })
		i++
	}
}

// BenchmarkDay_View is drawing a busy day (40 appointments, 40 cases
// captured) and laying it out in the window: what the clerks wait for
// when the day screen redraws after a sync brought something new.
func BenchmarkDay_View(b *testing.B) {
	k := benchKit(b)
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.Local)
	v := domain.Visit{ID: domain.NewID(), Place: "Bürgerhaus", Day: "2026-11-23"}
	d := dayData{visits: []domain.Visit{v}, visit: &v, clerks: map[string]domain.Clerk{}}
	for i := range 40 {
		d.appts = append(d.appts, domain.Appointment{ID: domain.NewID(), VisitID: v.ID, ServiceID: "meldebescheinigung",
			StartsAt: start.Add(time.Duration(i) * 10 * time.Minute), Minutes: 10, Status: domain.AppointmentBooked,
			CitizenName: "Erika Mustermann"})
		d.cases = append(d.cases, dayCase{c: domain.Case{ID: domain.NewID(), ServiceID: "hundeanmeldung",
			Status: domain.StatusDraft, CreatedAt: start, Form: domain.Fields{"surname": "Mustermann"}}})
	}
	ss := k.Session()
	b.ReportAllocs()
	for b.Loop() {
		fyne.DoAndWait(func() {
			k.Window.SetContent(k.dayView(ss, d, func(string) {}))
		})
	}
}
