package casedoc_test

// End-to-end: a real central server (SQLite file, or with
// BK_TEST_SERVER_DB=postgres a throwaway PostgreSQL 15; HTTP on loopback), a
// real field store whose clerk captures, signs, confirms and seals a case
// of every service as the app does, the real agent syncs them, and Build
// reads them on the server.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc/sample"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

const tenant = "musterstadt"

type field struct {
	t   testing.TB
	ctx context.Context
	srv *server.Server
	st  *store.Store
	ss  *store.Session
	w   sample.Witness
	vis string
	cat *catalog.Catalog
}

// newField starts a server on a SQLite file and loopback, and enrols a
// laptop with two clerks and today's visit.
func newField(t testing.TB) *field {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "central.db"), filepath.Join(dir, "master.key")
	if os.Getenv("BK_TEST_SERVER_DB") == "postgres" {
		db = newPGDB(t)
	}
	srv, err := server.Open(ctx, server.Config{DBPath: db, MasterKeyFile: key,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.CreateTenant(ctx, tenant, "Stadt Musterstadt"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	f := &field{t: t, ctx: ctx, srv: srv}
	f.enrol("http://"+ln.Addr().String(), filepath.Join(dir, "field.db"))
	if f.cat, err = catalog.LoadEmbedded(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *field) enrol(url, path string) {
	t, ctx := f.t, f.ctx
	var err error
	if f.st, f.ss, err = sample.Enrol(ctx, f.srv, url, tenant, path, "Laptop Nord", sample.Clerk{Username: "anna", Name: "Anna Amt", Password: []byte("Feldtag-2026!")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	if f.w, err = sample.AddWitness(ctx, f.ss, "ben", []byte("Zweiter-Blick-1")); err != nil {
		t.Fatal(err)
	}
	v, err := f.ss.CreateVisit(ctx, domain.Visit{Place: "Dorfgemeinschaftshaus Oberweiler", VenueAddress: "Hauptstraße 1",
		Day: time.Now().UTC().Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	f.vis = v.ID
}

func (f *field) sync() {
	f.t.Helper()
	a, err := agent.New(agent.Config{}, f.st)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := a.SyncOnce(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *field) sealed(service string, n int) string {
	f.t.Helper()
	svc, ok := f.cat.Service(service)
	if !ok {
		f.t.Fatalf("no service %s", service)
	}
	id, err := sample.SealedCase(f.ctx, f.ss, svc, f.vis, f.w, n, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// A sealed case of each service arrives at the server and becomes a
// document whose data fits its schema and carries the form, the ID
// document and the four-eyes sign-off, with the signature as attachments
// whose bytes match what the laptop stored.
func TestBuild_SealedCaseOfEveryService(t *testing.T) {
	f := newField(t)
	ids := map[string]string{}
	for i, svc := range f.cat.Services() {
		ids[svc.ID] = f.sealed(svc.ID, i)
	}
	f.sync()
	png, raw, iso, err := sample.Signature()
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range f.cat.Services() {
		doc, err := casedoc.Build(f.ctx, f.srv, tenant, ids[svc.ID])
		if err != nil {
			t.Fatalf("%s: %v", svc.ID, err)
		}
		if doc.Service != svc.ID || doc.LeiKa != svc.LeiKa || doc.SchemaURI != casedoc.SchemaURI(svc.ID) ||
			doc.MimeType != "application/json" || doc.CaseID != ids[svc.ID] {
			t.Errorf("%s: document %+v", svc.ID, doc)
		}
		checkData(t, svc, doc, f.ss.Clerk().ID)
		want := map[string][]byte{}
		if svc.MustSign {
			want = map[string][]byte{"image/png": png, "application/vnd.iso.19794-7": iso, "application/octet-stream": raw}
		}
		checkAttachments(t, svc.ID, doc, want)
	}
}

func checkData(t *testing.T, svc *catalog.Service, doc casedoc.Document, clerk string) {
	t.Helper()
	var d struct {
		CaseID  string         `json:"caseId"`
		Service map[string]any `json:"service"`
		Form    map[string]any `json:"form"`
		IDDoc   struct {
			DocumentNumber string `json:"documentNumber"`
			Checks         []struct {
				Check  string `json:"check"`
				Passed bool   `json:"passed"`
			} `json:"checks"`
		} `json:"idDocument"`
		Captured struct {
			By     string `json:"by"`
			Device struct{ ID, Name string }
			Visit  struct{ Place string }
		} `json:"captured"`
		Signed struct {
			WitnessedBy, ConfirmedBy string
			OnPad                    bool
		} `json:"signed"`
		Sealed struct {
			By, ArrivedAt string
		} `json:"sealed"`
	}
	if err := json.Unmarshal(doc.Data, &d); err != nil {
		t.Fatalf("%s: %v", svc.ID, err)
	}
	if d.CaseID != doc.CaseID || d.Service["leika"] != svc.LeiKa {
		t.Errorf("%s: case %q, service %v", svc.ID, d.CaseID, d.Service)
	}
	for _, fd := range svc.Fields() {
		if fd.Mandatory && fd.VisibleIf == nil {
			if _, ok := d.Form[fd.ID]; !ok {
				t.Errorf("%s: mandatory field %s missing from the data", svc.ID, fd.ID)
			}
		}
		if fd.Type == catalog.TypeBool && d.Form[fd.ID] != nil {
			if _, ok := d.Form[fd.ID].(bool); !ok {
				t.Errorf("%s: bool field %s is %T", svc.ID, fd.ID, d.Form[fd.ID])
			}
		}
	}
	if d.IDDoc.DocumentNumber == "" || len(d.IDDoc.Checks) < 2 {
		t.Errorf("%s: ID document %+v", svc.ID, d.IDDoc)
	}
	for _, c := range d.IDDoc.Checks {
		if !c.Passed {
			t.Errorf("%s: check %s failed on a document that should pass it", svc.ID, c.Check)
		}
	}
	if d.Captured.By != clerk || d.Captured.Device.Name != "Laptop Nord" || d.Captured.Visit.Place == "" {
		t.Errorf("%s: captured %+v", svc.ID, d.Captured)
	}
	if d.Signed.WitnessedBy != clerk || d.Signed.ConfirmedBy == "" || d.Signed.ConfirmedBy == clerk || d.Signed.OnPad != svc.MustSign {
		t.Errorf("%s: signed %+v (four-eyes: both clerks)", svc.ID, d.Signed)
	}
	if d.Sealed.By != clerk || d.Sealed.ArrivedAt == "" {
		t.Errorf("%s: sealed %+v", svc.ID, d.Sealed)
	}
}

// checkAttachments: the attachments are exactly want (by MIME type), each
// with purpose "attachment", a file name and the id derived from the case
// and the bytes' SHA-256.
func checkAttachments(t *testing.T, service string, doc casedoc.Document, want map[string][]byte) {
	t.Helper()
	if len(doc.Attachments) != len(want) {
		t.Fatalf("%s: %d attachments, want %d", service, len(doc.Attachments), len(want))
	}
	for i, a := range doc.Attachments {
		w, ok := want[a.MimeType]
		if !ok || string(a.Data) != string(w) {
			t.Errorf("%s: attachment %d (%s) is not what the laptop stored", service, i, a.MimeType)
		}
		sum := sha256.Sum256(a.Data)
		if a.ID != casedoc.AttachmentID(doc.CaseID, hex.EncodeToString(sum[:])) || a.Purpose != "attachment" || a.Filename == "" {
			t.Errorf("%s: attachment %+v", service, a.ID)
		}
	}
	if len(want) > 0 {
		if doc.Attachments[0].MimeType != "image/png" || doc.Attachments[1].MimeType != "application/vnd.iso.19794-7" {
			t.Errorf("%s: signature picture and record do not come first", service)
		}
		if _, err := iso19794.Unmarshal(doc.Attachments[1].Data); err != nil {
			t.Errorf("%s: the ISO/IEC 19794-7 record does not parse: %v", service, err)
		}
	}
}

// Two builds of the same case give the same data and attachment ids, and
// each reading is in the office audit log as the hand-off's.
func TestBuild_StableAndAudited(t *testing.T) {
	f := newField(t)
	id := f.sealed("anmeldung", 1)
	f.sync()
	a, err := casedoc.Build(f.ctx, f.srv, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := casedoc.Build(f.ctx, f.srv, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Data) != string(b.Data) || len(a.Attachments) != 3 || len(b.Attachments) != 3 {
		t.Fatal("two builds of one case differ")
	}
	seen := map[string]bool{}
	for i := range a.Attachments {
		if a.Attachments[i].ID != b.Attachments[i].ID {
			t.Errorf("attachment %d: id %s, then %s", i, a.Attachments[i].ID, b.Attachments[i].ID)
		}
		if seen[a.Attachments[i].ID] {
			t.Errorf("two attachments share id %s", a.Attachments[i].ID)
		}
		seen[a.Attachments[i].ID] = true
	}
	es, err := f.srv.Office().OfficeAudit(f.ctx, tenant, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Username == casedoc.AuditActor && e.Record == id && e.Action == "case.open" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d hand-off readings of the case in the office audit log, want 2: %+v", n, es)
	}
}

// A case that is only signed, not sealed, is refused with ErrNotSealed; a
// case that is not there with ErrNotFound.
func TestBuild_RefusesUnsealedAndUnknown(t *testing.T) {
	f := newField(t)
	svc, _ := f.cat.Service("meldebescheinigung")
	p, err := f.ss.CreatePerson(f.ctx, sample.Person(7))
	if err != nil {
		t.Fatal(err)
	}
	form, err := sample.Form(svc, p, 7, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.ss.CreateCase(f.ctx, domain.Case{ServiceID: svc.ID, ServiceVersion: "2", VisitID: f.vis, PersonID: p.ID,
		Form: domain.Fields(form)})
	if err != nil {
		t.Fatal(err)
	}
	_, v, _ := f.ss.Case(f.ctx, c.ID)
	if _, err := f.ss.SetCaseStatus(f.ctx, c.ID, v, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if _, err := casedoc.Build(f.ctx, f.srv, tenant, c.ID); !errors.Is(err, casedoc.ErrNotSealed) {
		t.Fatalf("signed case: %v, want ErrNotSealed", err)
	}
	if _, err := casedoc.Build(f.ctx, f.srv, tenant, domain.NewID()); !errors.Is(err, casedoc.ErrNotFound) {
		t.Fatalf("unknown case: %v, want ErrNotFound", err)
	}
	if _, err := casedoc.Build(f.ctx, f.srv, tenant, p.ID); !errors.Is(err, casedoc.ErrNotFound) {
		t.Fatalf("a person's id: %v, want ErrNotFound", err)
	}
}

// A sealed case that lacks a field its schema requires is refused with
// ErrIncomplete naming the field, one with values that break the schema
// with ErrInvalid naming where and which rule, neither with a value of the
// case in the message; a case of a service the catalog does not know with
// ErrNoSchema.
func TestBuild_RefusesIncompleteAndUnknownService(t *testing.T) {
	f := newField(t)
	svc, _ := f.cat.Service("meldebescheinigung")
	p, err := f.ss.CreatePerson(f.ctx, sample.Person(3))
	if err != nil {
		t.Fatal(err)
	}
	form, err := sample.Form(svc, p, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong := domain.Fields(form).Clone()
	wrong["postal_code"], wrong["birth_date"] = "XQZ17", "12.03.1985"
	invalid := sealCase(f, domain.Case{ServiceID: svc.ID, ServiceVersion: "2", VisitID: f.vis, PersonID: p.ID, Form: wrong})
	delete(form, "city")
	incomplete := sealCase(f, domain.Case{ServiceID: svc.ID, ServiceVersion: "2", VisitID: f.vis, PersonID: p.ID, Form: domain.Fields(form)})
	unknown := sealCase(f, domain.Case{ServiceID: "reisepass", ServiceVersion: "1", VisitID: f.vis, PersonID: p.ID,
		Form: domain.Fields{"surname": "Mustermann"}})
	f.sync()

	_, err = casedoc.Build(f.ctx, f.srv, tenant, incomplete)
	var fe *casedoc.FieldsError
	if !errors.Is(err, casedoc.ErrIncomplete) || !errors.As(err, &fe) || len(fe.Missing) != 1 || fe.Missing[0] != "/form/city" ||
		!strings.Contains(err.Error(), "/form/city") {
		t.Fatalf("case without city: %v, want ErrIncomplete naming /form/city", err)
	}
	for _, v := range form {
		if len(v) > 3 && strings.Contains(err.Error(), v) {
			t.Errorf("the error shows a value of the case: %v", err)
		}
	}
	_, err = casedoc.Build(f.ctx, f.srv, tenant, invalid)
	if !errors.As(err, &fe) || !errors.Is(err, casedoc.ErrInvalid) || len(fe.Invalid) != 2 ||
		!strings.HasPrefix(fe.Invalid[0], "/form/birth_date: ") || fe.Invalid[1] != "/form/postal_code: pattern" {
		t.Fatalf("case with a bad postal code and date: %v, want ErrInvalid naming both", err)
	}
	if strings.Contains(err.Error(), "XQZ17") || strings.Contains(err.Error(), "12.03.1985") {
		t.Errorf("the error shows a value of the case: %v", err)
	}
	if _, err := casedoc.Build(f.ctx, f.srv, tenant, unknown); !errors.Is(err, casedoc.ErrNoSchema) {
		t.Fatalf("case of an unknown service: %v, want ErrNoSchema", err)
	}
}

// sealCase writes c as the store lets a clerk (no catalog checks), signs,
// confirms and seals it.
func sealCase(f *field, c domain.Case) string {
	f.t.Helper()
	c, err := f.ss.CreateCase(f.ctx, c)
	if err != nil {
		f.t.Fatal(err)
	}
	_, v, _ := f.ss.Case(f.ctx, c.ID)
	if v, err = f.ss.SetCaseStatus(f.ctx, c.ID, v, domain.StatusSigned); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.ss.ConfirmFourEyes(f.ctx, c.ID, f.w.Username, f.w.Password); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.ss.SealCase(f.ctx, c.ID, v); err != nil {
		f.t.Fatal(err)
	}
	return c.ID
}

// BenchmarkBuild builds one sealed Anmeldung with its three signature
// files: reading and decrypting it on the server, the audit entry, the
// schema check.
func BenchmarkBuild(b *testing.B) {
	f := newField(b)
	id := f.sealed("anmeldung", 1)
	f.sync()
	b.ResetTimer()
	for b.Loop() {
		if _, err := casedoc.Build(f.ctx, f.srv, tenant, id); err != nil {
			b.Fatal(err)
		}
	}
}
