package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
)

const adminUsage = `usage: syncd admin <command> --db SERVER.db [flags]

  tenant-add ID NAME          create a tenant (a town) and its server key pair
  tenants                     list tenants
  rotate-key --tenant T       make a new server key pair for the tenant: new seals use it,
                              old keys are kept to open what was sealed for them
  enrol --tenant T [--ttl D]  issue a one-time enrolment code for a laptop
  devices --tenant T          list the tenant's laptops, flagging an audit chain that went
                              back or forked; AUDIT HEAD is N:MAC for syncd audit verify --anchor
  revoke DEVICE-ID            revoke a laptop (lost or stolen): its token stops working at once
  appointment --tenant T --visit V --at TIME --service S [--minutes N] [--name NAME]
                              book an appointment centrally (it reaches the laptops by sync)
  policy --tenant T [--four-eyes on|off]
                              show or set the tenant's policy (four-eyes sign-off on its laptops)
  staff-add --tenant T --user U --role sachbearbeitung|planung|admin [--exists-ok]
                              a staff account of syncd office (password from BK_PASSWORD or stdin)
  demo --tenant T [--day YYYY-MM-DD]
                              book a sample visit with appointments (one cancelled, one moved)
                              for the demo kit; prints the visit's id
  copy --from SRC --to DST [--tenant T] --master-key FILE
                              move tenants to another server database (SQLite or PostgreSQL),
                              feed positions, devices and uploads unchanged
  handoff-route --tenant T --service S --destination UUID
                              name the FIT-Connect destination of a service (syncd handoff)
  handoff-routes [--tenant T] list the routes with their cases counted by step
  handoff-cases --tenant T [--step STEP]
                              list the cases handed off, with why one failed or was rejected
  handoff-retry --tenant T (--case ID | --step failed)
                              give failed cases back to syncd handoff (after the cause is fixed)`

// runAdmin implements `syncd admin`: what an operator of the central server
// does by hand, on the server's database.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	sub := args[0]
	if sub == "policy" {
		return runPolicy(ctx, args[1:], stdout, stderr)
	}
	if sub == "copy" {
		return runCopy(ctx, args[1:], stdout, stderr)
	}
	if sub == "staff-add" {
		return runStaffAdd(ctx, args[1:], stdout, stderr)
	}
	if sub == "handoff-route" || sub == "handoff-routes" || sub == "handoff-cases" || sub == "handoff-retry" {
		return runHandoffAdmin(ctx, sub, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "central.db", "server database: SQLite file, or postgres://… URL (several servers may share one)")
	masterKey := fs.String("master-key", "", "server master key file (default: $"+server.EnvMasterKeyFile+", else <db>.key; required with a postgres:// database)")
	tenant := fs.String("tenant", "", "tenant id")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long an enrolment code stays valid")
	visit := fs.String("visit", "", "visit id")
	at := fs.String("at", "", "appointment start (RFC 3339)")
	service := fs.String("service", "", "service id from the catalog")
	minutes := fs.Int("minutes", 15, "appointment length")
	name := fs.String("name", "", "citizen's name (personal data: sealed)")
	day := fs.String("day", time.Now().Format("2006-01-02"), "demo: the visit's day")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	srv, err := server.Open(ctx, server.Config{DBPath: *db, MasterKeyFile: *masterKey})
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin: %v\n", err)
		return 2
	}
	defer srv.Close()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "syncd admin %s: %v\n", sub, err)
		return 2
	}
	needTenant := func() bool {
		if *tenant == "" {
			fmt.Fprintf(stderr, "syncd admin %s: --tenant is required\n", sub)
			return false
		}
		return true
	}
	switch sub {
	case "tenant-add":
		if fs.NArg() < 1 {
			fmt.Fprintln(stderr, adminUsage)
			return 2
		}
		n := strings.Join(fs.Args()[1:], " ")
		if n == "" {
			n = fs.Arg(0)
		}
		if err := srv.CreateTenant(ctx, fs.Arg(0), n); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "tenant %s created\n", fs.Arg(0))
	case "tenants":
		ts, err := srv.Tenants(ctx)
		if err != nil {
			return fail(err)
		}
		for _, t := range ts {
			fmt.Fprintf(stdout, "%s\t%s\n", t.ID, t.Name)
		}
	case "rotate-key":
		if !needTenant() {
			return 2
		}
		kid, err := srv.RotateTenantKey(ctx, *tenant)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "tenant %s: new server key %s\n", *tenant, kid)
	case "enrol", "enroll":
		if !needTenant() {
			return 2
		}
		code, err := srv.IssueEnrolment(ctx, *tenant, *ttl)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, code)
	case "devices":
		if !needTenant() {
			return 2
		}
		ds, err := srv.Devices(ctx, *tenant)
		if err != nil {
			return fail(err)
		}
		chains, err := srv.DeviceChains(ctx, *tenant)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tENROLLED\tLAST SEEN\tVERSION\tREVOKED\tAUDIT\tAUDIT HEAD")
		for _, d := range ds {
			audit, head := fmtChain(chains[d.ID])
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, fmtWhen(d.EnrolledAt), fmtWhen(d.LastSeenAt),
				fmtVersion(d.Version), fmtWhen(d.RevokedAt), audit, head)
		}
		tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, adminUsage)
			return 2
		}
		if err := srv.Revoke(ctx, fs.Arg(0)); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "device %s revoked\n", fs.Arg(0))
	case "appointment":
		if !needTenant() {
			return 2
		}
		start, err := time.Parse(time.RFC3339, *at)
		if err != nil || *visit == "" || *service == "" {
			return fail(fmt.Errorf("--visit, --service and --at (RFC 3339) are required"))
		}
		a := domain.Appointment{VisitID: *visit, StartsAt: start, Minutes: *minutes, ServiceID: *service,
			Status: domain.AppointmentBooked, CitizenName: *name}
		res, err := srv.Central(ctx, *tenant, server.CentralChange{RecordType: domain.TypeAppointment, Op: "create",
			BaseVersion: -1, Set: a.Fields().NonEmpty(), Clerk: "admin"})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "appointment booked (change %s, seq %d)\n", res.ID, res.Seq)
	case "demo":
		if !needTenant() {
			return 2
		}
		id, err := bookDemo(ctx, srv, *tenant, *day)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, id)
	default:
		fmt.Fprintln(stderr, adminUsage)
		return 2
	}
	return 0
}

// bookDemo books what the central office would for a field day: a visit
// staffed by the demo clerks and its appointments, one of them cancelled
// and one moved. The names are the specimens' on the simulated ID reader.
func bookDemo(ctx context.Context, srv *server.Server, tenant, day string) (string, error) {
	d, err := time.ParseInLocation("2006-01-02", day, time.Local)
	if err != nil {
		return "", fmt.Errorf("--day: %w", err)
	}
	at := func(h, m int) time.Time { return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	visit := domain.Visit{ID: domain.NewID(), Place: "Dorfgemeinschaftshaus Oberweiler",
		VenueAddress: "Hauptstraße 12, 54321 Oberweiler", Day: day, ClerkIDs: []string{"anna", "ben"}}
	if _, err := srv.Central(ctx, tenant, server.CentralChange{RecordID: visit.ID, RecordType: domain.TypeVisit,
		Op: "create", BaseVersion: -1, Set: visit.Fields().NonEmpty(), Clerk: "admin"}); err != nil {
		return "", err
	}
	appts := []domain.Appointment{
		{StartsAt: at(9, 0), ServiceID: "anmeldung", CitizenName: "Erika Mustermann", CitizenPhone: "06541 12345"},
		{StartsAt: at(9, 20), ServiceID: "meldebescheinigung", CitizenName: "Anna Maria Eriksson"},
		{StartsAt: at(9, 40), ServiceID: "fuehrungszeugnis", CitizenName: "Max Beispiel", Status: domain.AppointmentCancelled},
		{StartsAt: at(10, 0), ServiceID: "hundeanmeldung", CitizenName: "Jonas Probe", Status: domain.AppointmentMoved, MovedTo: at(11, 30)},
		{StartsAt: at(10, 20), ServiceID: "bewohnerparkausweis", CitizenName: "Lena Muster"},
	}
	for _, a := range appts {
		a.VisitID, a.Minutes = visit.ID, 15
		if a.Status == "" {
			a.Status = domain.AppointmentBooked
		}
		if _, err := srv.Central(ctx, tenant, server.CentralChange{RecordType: domain.TypeAppointment, Op: "create",
			BaseVersion: -1, Set: a.Fields().NonEmpty(), Clerk: "admin"}); err != nil {
			return "", err
		}
	}
	return visit.ID, nil
}

func fmtWhen(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// fmtChain shows a device's audit chain: its state and its head as
// `syncd audit verify --anchor` takes it.
func fmtChain(c server.DeviceChain) (state, head string) {
	if c.Device == "" {
		return "-", "-"
	}
	head = fmt.Sprintf("%d:%s", c.Count, c.Hash)
	switch c.Flag {
	case server.ChainWentBack:
		return fmt.Sprintf("WENT BACK (%s, %s)", c.FlagDetail, fmtWhen(c.FlaggedAt)), head
	case server.ChainForked:
		return fmt.Sprintf("FORKED (%s, %s)", c.FlagDetail, fmtWhen(c.FlaggedAt)), head
	}
	return "ok", head
}

// fmtVersion shows the release a laptop last sent; "-" for one that has
// not synced since it was enrolled, or runs a release before versions.
func fmtVersion(v string) string {
	if v == "" {
		return "-"
	}
	return v
}
