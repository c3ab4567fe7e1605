package server

// This file says what the server needs from its database: one small
// interface. The sync, crypto and HTTP logic use nothing else; sqlite.go
// (one town, embedded) and postgres.go (a provider's central service,
// several server processes on one database) implement it.

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/buergerkoffer/kit/internal/merge"
)

// Errors of the store; test with errors.Is.
var (
	// ErrNotFound: no such tenant, device, enrolment code or attachment.
	ErrNotFound = errors.New("server: not found")
	// ErrExists: a tenant of that id exists already.
	ErrExists = errors.New("server: exists already")
	// ErrOffset: an attachment piece does not start where the upload stands.
	ErrOffset = errors.New("server: upload offset does not match")
	// ErrUnavailable: the database cannot be reached just now (a lost
	// connection, a restarting database). The request may succeed when
	// tried again; the HTTP layer answers 503 with Retry-After.
	ErrUnavailable = errors.New("server: database unavailable")
)

// Lookup is what the server reads both inside a write transaction and
// from the read side.
type Lookup interface {
	// Record returns the server's state of a record, nil if it has none.
	Record(ctx context.Context, tenant, id string) (*merge.Record, error)
	// RecordKey returns a record's wrapped content key; ok is false if the
	// server has none (conflict records have none).
	RecordKey(ctx context.Context, tenant, recordID string) (k RecordKey, ok bool, err error)
	// Seal returns a seal key's JWE; ok is false if there is none.
	Seal(ctx context.Context, tenant, id string) (jwe string, ok bool, err error)
	// ChangeSecret returns the sealed personal values of a change (nil if
	// it has none); ErrNotFound if there is no such change.
	ChangeSecret(ctx context.Context, tenant, changeID string) ([]byte, error)
}

// Tx is one write transaction. Nothing it wrote remains unless the
// function given to Store.Update returns nil.
type Tx interface {
	Lookup
	// Meta returns a value of the meta table ("" if absent); SetMeta
	// writes one.
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	// PutSeals and PutRecordKeys store what a device sent; a seal or key
	// the store has already is left as it is.
	PutSeals(ctx context.Context, seals []SealRow) error
	PutRecordKeys(ctx context.Context, keys []RecordKey) error
	// Changes finds changes by id, in any tenant; ids not found are
	// absent from the map.
	Changes(ctx context.Context, ids []string) (map[string]ChangeRef, error)
	// Records returns the state of the records of a tenant with these ids
	// that exist.
	Records(ctx context.Context, tenant string, ids []string) (map[string]*merge.Record, error)
	// HasRecordKeys returns which of these records of a tenant have a key.
	HasRecordKeys(ctx context.Context, tenant string, ids []string) (map[string]bool, error)
	// AttachmentComplete reports whether a record's attachment is wholly
	// uploaded.
	AttachmentComplete(ctx context.Context, ref AttachmentRef) (bool, error)
	// AddChanges appends changes to their tenant's feed, in order, and
	// returns their seqs (ascending, in the same order).
	AddChanges(ctx context.Context, cs []*ChangeRow) ([]int64, error)
	// PutRecords writes the state of records: added are records the
	// store has none of (the transaction read them as absent), changed
	// are records it has, whose state is replaced (their type never
	// changes).
	PutRecords(ctx context.Context, tenant string, added, changed []*merge.Record) error
	// PutInbox writes the office inbox rows of cases (insert or replace)
	// and removes those of the cases in drop, in the transaction that
	// writes the records.
	PutInbox(ctx context.Context, tenant string, put []InboxRow, drop []string) error
	// TouchDevice notes that a device was seen.
	TouchDevice(ctx context.Context, id string, at time.Time) error
	// SetDeviceVersion notes the release a device sent (version.go).
	SetDeviceVersion(ctx context.Context, id, version string) error
	// DeviceChain returns the audit chain head a device sent last; ok is
	// false if it never sent one. PutDeviceChain writes it.
	DeviceChain(ctx context.Context, device string) (c DeviceChain, ok bool, err error)
	PutDeviceChain(ctx context.Context, c DeviceChain) error
}

// Store is the server's database.
type Store interface {
	Lookup
	OfficeStore  // the town hall's web application (office.go)
	HandoffStore // the hand-off to the specialist procedures (handoff.go)
	// Update runs fn in one write transaction and commits it if fn
	// returns nil. The write transactions of one tenant run one at a
	// time, across all processes sharing the database, and commit in the
	// order they take feed positions (SQLite runs all of them one at a
	// time). tenant is the tenant fn writes to, "" if none (the meta
	// table, devices' last seen).
	Update(ctx context.Context, tenant string, fn func(Tx) error) error
	Close() error
	// Ping checks cheaply that the database answers (for /v1/ready); an
	// unreachable database's error wraps ErrUnavailable.
	Ping(ctx context.Context) error

	// Meta returns a value of the meta table, "" if absent.
	Meta(ctx context.Context, key string) (string, error)

	// CreateTenant adds a tenant and its key pair; ErrExists if the id is
	// taken.
	CreateTenant(ctx context.Context, t Tenant, k TenantKey) error
	Tenants(ctx context.Context) ([]Tenant, error)
	// TenantKey returns the tenant's newest key pair, the one new seals
	// are made for; ErrNotFound if the tenant does not exist.
	TenantKey(ctx context.Context, tenant string) (TenantKey, error)
	// TenantKeyByID returns the tenant's key pair with that kid, old or
	// new; ErrNotFound if there is none.
	TenantKeyByID(ctx context.Context, tenant, kid string) (TenantKey, error)
	// AddTenantKey adds a key pair to an existing tenant; it becomes the
	// newest. ErrNotFound if the tenant does not exist, ErrExists if it
	// has a key of that kid.
	AddTenantKey(ctx context.Context, k TenantKey) error

	AddEnrolment(ctx context.Context, e Enrolment) error
	// Redeem uses up an enrolment code (by hash) that is unused and not
	// expired at d.EnrolledAt, and adds the device of its tenant in the
	// same transaction; it returns the tenant. ErrNotFound for an
	// unknown, used or expired code.
	Redeem(ctx context.Context, codeHash, tokenHash string, d Device) (tenant string, err error)
	// EnrolmentOpen reports, by a read, whether an enrolment code (by
	// hash) is unused and not expired at at: a wrong guess is answered
	// without taking the write transaction.
	EnrolmentOpen(ctx context.Context, codeHash string, at time.Time) (bool, error)
	// DeviceByToken returns the non-revoked device with that token hash,
	// ErrNotFound if there is none.
	DeviceByToken(ctx context.Context, tokenHash string) (Device, error)
	Devices(ctx context.Context, tenant string) ([]Device, error)
	// DeviceChains returns the audit chain heads of a tenant's devices,
	// by device id (devices that never sent one are absent).
	DeviceChains(ctx context.Context, tenant string) (map[string]DeviceChain, error)
	// Revoke marks a device revoked (once); ErrNotFound for an unknown id.
	Revoke(ctx context.Context, id string, at time.Time) error

	// Feed returns up to n changes of a tenant with seq > after, in seq
	// order, each with what the pull needs to know about its record.
	Feed(ctx context.Context, tenant string, after int64, n int) ([]FeedRow, error)
	// HeadSeq returns the newest seq of a tenant (0 if none).
	HeadSeq(ctx context.Context, tenant string) (int64, error)
	// AllRecords calls fn for every record of a tenant, sorted by id.
	AllRecords(ctx context.Context, tenant string, fn func(*merge.Record) error) error

	// Attachment returns an upload's state; ErrNotFound if never started.
	Attachment(ctx context.Context, ref AttachmentRef) (Attachment, error)
	// StartAttachment begins an upload at offset 0; an upload that
	// exists already is left as it is.
	StartAttachment(ctx context.Context, a Attachment) error
	// AppendAttachment stores piece at offset at, in its own transaction,
	// and returns the new offset; ErrOffset (with the current offset) if
	// the upload does not stand at at.
	AppendAttachment(ctx context.Context, ref AttachmentRef, at int64, piece []byte) (int64, error)
	// CompleteAttachment marks an upload complete; DiscardAttachment
	// deletes it with its bytes. Neither touches another record's upload
	// of the same bytes.
	CompleteAttachment(ctx context.Context, ref AttachmentRef, at time.Time) error
	DiscardAttachment(ctx context.Context, ref AttachmentRef) error
	// AttachmentData calls fn with an upload's bytes, piece by piece.
	AttachmentData(ctx context.Context, ref AttachmentRef, fn func([]byte) error) error
	// SharedAttachments calls fn for each record whose state references
	// (in an "attachment.*" field) bytes it has no upload of while another
	// record of its tenant has a complete upload of them, the donor: what
	// the first schema, which keyed uploads by SHA-256 alone, left.
	SharedAttachments(ctx context.Context, fn func(missing, donor AttachmentRef) error) error

	// ExportTenant calls fn with every row of a tenant (copy.go), table
	// by table in the order of copyTables, all read from one snapshot;
	// rows are read as fn takes them, never all at once.
	ExportTenant(ctx context.Context, tenant string, fn func(CopyRow) error) error
	// ImportTenant writes a tenant's rows as ExportTenant gives them, in
	// one transaction: an error from rows, or any other, leaves no row of
	// the tenant. Feed positions are kept. ErrExists if the tenant exists.
	ImportTenant(ctx context.Context, tenant string, rows iter.Seq2[CopyRow, error]) error
}

// Tenant is one town (or other body) served by the server.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// TenantKey is a tenant's server key pair, its private key wrapped under
// the master key.
type TenantKey struct {
	Tenant         string
	KeyID          string
	PublicPEM      string
	PrivateWrapped []byte
	CreatedAt      time.Time
}

// Enrolment is a one-time code for a laptop to enrol, stored hashed.
type Enrolment struct {
	CodeHash  string
	Tenant    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Device is an enrolled laptop. The zero time means "not yet" (LastSeenAt)
// or "no" (RevokedAt).
type Device struct {
	ID           string
	Tenant       string
	Name         string
	LocalID      string // the field store's own device id
	PublicKeyPEM string
	KeyID        string
	EnrolledAt   time.Time
	LastSeenAt   time.Time
	RevokedAt    time.Time
	Version      string // the release it last sent, "" if none yet
}

// SealRow is a seal key a device sent.
type SealRow struct {
	Tenant, ID, Device, JWE string
	CreatedAt               time.Time
}

// RecordKey is a record's content key, wrapped under a seal key (SealID)
// or, for keys made centrally (SealID ""), under the master key.
type RecordKey struct {
	Tenant, RecordID, SealID string
	Wrapped                  []byte
	OriginDevice             string
	CreatedAt                time.Time
}

// ChangeRef is where a stored change is.
type ChangeRef struct {
	Tenant  string
	Seq     int64
	Version int64
}

// ChangeRow is a change as the feed stores it. Fields, Plain and State are
// JSON (Plain "" when the change has no plain fields).
type ChangeRow struct {
	Tenant, ID, RecordID, RecordType, Op string
	Fields, Plain, State                 string
	Secret                               []byte
	BaseVersion, Version                 int64
	HLC, Device, Clerk, CreatedAt        string
	ReceivedAt                           time.Time
	Deleted                              bool
}

// FeedRow is a stored change with what a pull needs about its record: its
// key (if any) and, for a case, its current status.
type FeedRow struct {
	Seq int64
	ChangeRow
	HasKey       bool
	Key          RecordKey
	RecordStatus string
}

// AttachmentRef names an attachment: the content, by the SHA-256 of its
// plain bytes, that a record of a tenant holds. Two records holding the
// same bytes hold two attachments, each sealed under its record's key.
type AttachmentRef struct {
	Tenant, RecordID, SHA256 string
}

// String names the attachment in errors and logs (ids only).
func (ref AttachmentRef) String() string { return ref.SHA256 + " of record " + ref.RecordID }

// Attachment is the state of an upload.
type Attachment struct {
	AttachmentRef
	Length       int64
	SealedSHA256 string
	Offset       int64 // bytes received
	Complete     bool
	CreatedAt    time.Time
}
