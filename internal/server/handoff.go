package server

// This file is what the hand-off worker (`syncd handoff`, package handoff)
// keeps in the server's database: which FIT-Connect destination each
// service of a tenant goes to (routes), where each sealed case stands on
// its way there, and the worker's own place in the tenant's feed with the
// lease that keeps a second worker off the same cases. Both backends
// implement it once, in handoff_sql.go. Nothing here is personal data.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Steps of a case on its way to the specialist procedure.
const (
	StepDue       = "due"       // sealed, not yet taken
	StepCreated   = "created"   // the submission exists (its ids are kept)
	StepUploading = "uploading" // some attachments are uploaded
	StepSubmitted = "submitted" // metadata and data sent; waiting for the answer
	StepAccepted  = "accepted"  // the receiving authority accepted it
	StepRejected  = "rejected"  // the receiving authority rejected it (Reason)
	StepFailed    = "failed"    // a problem stopped it (LastError); nothing more is tried
	StepSkipped   = "skipped"   // no longer sealed when its turn came (decided meanwhile)
)

// HandoffSteps are the steps in the order a case goes through them.
var HandoffSteps = []string{StepDue, StepCreated, StepUploading, StepSubmitted, StepAccepted, StepRejected, StepFailed,
	StepSkipped}

// ErrLeaseHeld: another worker holds the tenant's hand-off lease.
var ErrLeaseHeld = errors.New("server: another hand-off worker runs for the tenant")

// HandoffRoute names the FIT-Connect destination of a service of a tenant.
type HandoffRoute struct {
	Tenant        string
	Service       string // catalog service id
	DestinationID string
	CreatedAt     time.Time
	CreatedBy     string
}

// HandoffCase is where one sealed case stands on its way.
type HandoffCase struct {
	Tenant           string
	CaseID           string
	Service          string
	FeedSeq          int64 // where the worker found it sealed: the order cases are taken in
	DestinationID    string
	SubmissionID     string
	FitConnectCaseID string
	Step             string
	AttachmentsDone  []string // ids of the attachments uploaded
	Attempts         int      // failed tries in a row
	LastError        string   // the last failure, "" after a success; never personal data
	NextAttemptAt    time.Time
	SubmittedAt      time.Time
	Status           string // the case status last written to the record, "" if none yet
	Reason           string // the receiving authority's reason of a rejection
	EventOffset      int    // entries of the case's event log handled
	EventsRefused    int    // entries refused (bad or missing signature)
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// HandoffQuery selects cases of a tenant in the order they are taken
// (feed order). Steps empty: every step. Routed: only cases whose service
// has a route. Due: only cases whose NextAttemptAt is not after Due.
// StatusBehind: only cases whose Status is not their Step (an answer kept
// but not yet written to the case).
type HandoffQuery struct {
	Tenant       string
	Steps        []string
	Routed       bool
	Due          time.Time
	StatusBehind bool
	AfterSeq     int64 // keyset paging: FeedSeq > AfterSeq
	Limit        int
}

// HandoffCount is the number of cases of a service in a step.
type HandoffCount struct {
	Tenant, Service, Step string
	N                     int
}

// HandoffStore is what the hand-off worker needs from the database.
type HandoffStore interface {
	// PutHandoffRoute sets a service's destination (a new one replaces
	// the old; cases already created keep theirs).
	PutHandoffRoute(ctx context.Context, r HandoffRoute) error
	// HandoffRoutes lists the routes of a tenant ("": of all), by tenant
	// and service.
	HandoffRoutes(ctx context.Context, tenant string) ([]HandoffRoute, error)
	// HandoffCounts counts cases by tenant ("": all), service and step.
	HandoffCounts(ctx context.Context, tenant string) ([]HandoffCount, error)

	// TakeHandoffLease takes or renews the tenant's worker lease for
	// owner until until; ErrLeaseHeld if another owner holds it beyond
	// now. ReleaseHandoffLease gives it up (an owner's only).
	TakeHandoffLease(ctx context.Context, tenant, owner string, now, until time.Time) error
	ReleaseHandoffLease(ctx context.Context, tenant, owner string) error

	// ScanHandoff reads up to n changes of cases from the tenant's feed
	// after where the last scan stopped, adds every case among them that
	// is sealed now as due (once), and moves the scan on. It returns how
	// many cases it added and whether it reached the end of the feed.
	ScanHandoff(ctx context.Context, tenant string, n int, now time.Time) (added int, end bool, err error)
	// HandoffCases returns the cases a query selects, in feed order.
	HandoffCases(ctx context.Context, q HandoffQuery) ([]HandoffCase, error)
	// HandoffCase returns one case; ErrNotFound if the worker never
	// took it up.
	HandoffCase(ctx context.Context, tenant, caseID string) (HandoffCase, error)
	// CaseStatus returns a case's status from its plain fields without
	// opening the case: "" for a case that never arrived (a draft, a
	// deleted case, no such case).
	CaseStatus(ctx context.Context, tenant, caseID string) (string, error)
	// UpdateHandoffCase writes a case's state (all but its identity,
	// service, feed position and creation time), in its own transaction.
	// ErrNotFound if there is no such case.
	UpdateHandoffCase(ctx context.Context, c HandoffCase) error
}

// Handoff returns the database's hand-off side.
func (s *Server) Handoff() HandoffStore { return s.st }

// SetHandoffRoute names the destination of a tenant's service, checking
// that the tenant exists, that the service is in the catalog and that the
// destination is a UUID (kept in its canonical lower-case form).
func (s *Server) SetHandoffRoute(ctx context.Context, tenant, service, destination, by string) (HandoffRoute, error) {
	if _, err := s.st.TenantKey(ctx, tenant); err != nil {
		return HandoffRoute{}, fmt.Errorf("server: route: tenant %s: %w", tenant, err)
	}
	if _, ok := s.cat.Service(service); !ok {
		return HandoffRoute{}, fmt.Errorf("server: route: %w: no service %q in the catalog", ErrInvalid, service)
	}
	u, err := uuid.Parse(destination)
	if err != nil || len(destination) != 36 {
		return HandoffRoute{}, fmt.Errorf("server: route: %w: destination %q is not a UUID", ErrInvalid, destination)
	}
	r := HandoffRoute{Tenant: tenant, Service: service, DestinationID: u.String(), CreatedAt: s.now(), CreatedBy: by}
	if err := s.st.PutHandoffRoute(ctx, r); err != nil {
		return HandoffRoute{}, fmt.Errorf("server: route: %w", err)
	}
	s.log.Info("hand-off route set", "tenant", tenant, "service", service, "destination", r.DestinationID)
	return r, nil
}
