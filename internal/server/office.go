package server

// This file is what the town hall's web application (package office,
// `syncd office`) asks of the server beyond records and changes: staff,
// their sessions, the office audit log, and the inbox of arrived cases.
// Each is a small method over OfficeStore, which both backends implement
// (office_sqlite.go, office_postgres.go, over office_sql.go).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/buergerkoffer/kit/internal/merge"
)

// ErrStale: a change based on a version the record no longer has (a
// decision made meanwhile from another browser).
var ErrStale = errors.New("server: record changed meanwhile")

// checkIfVersion refuses a central change whose IfVersion the record does
// not have.
func checkIfVersion(cur *merge.Record, want int64) error {
	if want <= 0 {
		return nil
	}
	if cur == nil || cur.Version != want {
		return fmt.Errorf("%w: expected version %d", ErrStale, want)
	}
	return nil
}

// Staff roles.
const (
	RoleCaseworker = "sachbearbeitung" // reads and decides cases
	RolePlanning   = "planung"         // visits, appointments, laptops
	RoleAdmin      = "admin"           // staff accounts, the office audit log
)

// ValidRole reports whether r is a staff role.
func ValidRole(r string) bool { return r == RoleCaseworker || r == RolePlanning || r == RoleAdmin }

// Staff is a member of the town hall's staff who signs in to the office.
// Usernames are unique across the whole database, so that the sign-in
// form asks for no tenant.
type Staff struct {
	Username     string
	Tenant       string
	Role         string
	PasswordHash string // crypto.HashPassword's PHC string
	CreatedAt    time.Time
	DisabledAt   time.Time // zero: active
}

// OfficeSession is a signed-in browser. Only the SHA-256 of its cookie
// token is stored.
type OfficeSession struct {
	TokenHash  string
	Username   string
	Tenant     string
	Role       string // the staff member's role now (joined in SessionByHash)
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	Addr       string
}

// OfficeAuditEntry is one line of the office audit log: who did what to
// which record, when and from where. Never content.
type OfficeAuditEntry struct {
	ID       int64
	Tenant   string
	At       time.Time
	Username string
	Action   string // case.open, case.decide, login, staff.add, …
	Record   string // the record's id, "" if none
	Addr     string // the client's address
	Detail   string // an id or a code word, never personal data
}

// InboxStatuses are the statuses of a case in the inbox: arrived at the
// town hall and later.
var InboxStatuses = []string{"sealed", "submitted", "accepted", "rejected", "needs_info"}

// InboxRow is one case of the inbox, from its plain fields.
type InboxRow struct {
	RecordID  string
	Status    string
	ServiceID string
	VisitID   string
	Day       string // YYYY-MM-DD the case was captured (UTC)
	Clerk     string // the clerk who captured it
	ArrivedAt string // sealed_at (else created_at), fixed width: the sort key
	Version   int64
}

// InboxQuery filters and pages the inbox, newest first. Statuses empty:
// every inbox status. After* is the last row of the previous page
// (keyset paging: every page costs the same, however deep).
type InboxQuery struct {
	Tenant                      string
	Statuses                    []string
	ServiceID, VisitID, Day     string
	Clerk                       string
	AfterArrived, AfterRecordID string
	Limit                       int
}

// OfficeStore is what the office needs from the database. Both stores
// implement it.
type OfficeStore interface {
	// AddStaff adds a staff member; ErrExists if the user name is taken.
	AddStaff(ctx context.Context, st Staff) error
	// StaffByName returns a staff member (disabled ones too); ErrNotFound.
	StaffByName(ctx context.Context, username string) (Staff, error)
	StaffList(ctx context.Context, tenant string) ([]Staff, error)
	// SetStaffDisabled disables (at non-zero) or enables a tenant's staff
	// member; disabling ends their sessions in the same transaction.
	// ErrNotFound for no such staff member of that tenant.
	SetStaffDisabled(ctx context.Context, tenant, username string, at time.Time) error
	// SetStaffPassword sets a tenant's staff member's password hash and
	// ends their sessions.
	SetStaffPassword(ctx context.Context, tenant, username, hash string) error
	// DeleteStaff deletes a tenant's staff member and their sessions.
	DeleteStaff(ctx context.Context, tenant, username string) error

	AddSession(ctx context.Context, s OfficeSession) error
	// SessionByHash returns a session whose staff member exists and is
	// not disabled; ErrNotFound otherwise.
	SessionByHash(ctx context.Context, tokenHash string) (OfficeSession, error)
	TouchSession(ctx context.Context, tokenHash string, at time.Time) error
	DeleteSession(ctx context.Context, tokenHash string) error
	// PurgeSessions deletes sessions idle since before idle or created
	// before created.
	PurgeSessions(ctx context.Context, idle, created time.Time) error

	// AddLoginFailure notes a failed sign-in under each key ("user:…",
	// "addr:…"); LoginFailures counts a key's failures since since and
	// returns the oldest of them; ClearLoginFailures forgets a key's.
	AddLoginFailure(ctx context.Context, keys []string, at time.Time) error
	LoginFailures(ctx context.Context, key string, since time.Time) (n int, oldest time.Time, err error)
	ClearLoginFailures(ctx context.Context, key string) error

	AddOfficeAudit(ctx context.Context, e OfficeAuditEntry) error
	// OfficeAudit returns up to n entries of a tenant with id < before
	// (before 0: from the newest), newest first.
	OfficeAudit(ctx context.Context, tenant string, before int64, n int) ([]OfficeAuditEntry, error)

	Inbox(ctx context.Context, q InboxQuery) ([]InboxRow, error)
	// InboxCounts counts a tenant's inbox cases by status.
	InboxCounts(ctx context.Context, tenant string) (map[string]int, error)
	// RecordChanges returns a record's changes in feed order, without
	// their sealed values.
	RecordChanges(ctx context.Context, tenant, recordID string) ([]ChangeRow, error)
	// RecordsOfType calls fn for every record of a type of a tenant, in no
	// particular order.
	RecordsOfType(ctx context.Context, tenant, typ string, fn func(*merge.Record) error) error
}

// Office returns the database's office side.
func (s *Server) Office() OfficeStore { return s.st }

// Now is the server's clock.
func (s *Server) Now() time.Time { return s.now() }
