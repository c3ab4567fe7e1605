// Package syncproto is the wire protocol between `syncd agent` on a laptop
// and `syncd serve`, version 1. It is HTTP with JSON bodies, except the
// pull, which streams so that neither side holds a page in memory: JSON
// lines in revision 1, binary frames in revision 2 (pullframe.go), which
// also leave out what the pulling device holds already. Every path is under /v1/; a later incompatible protocol gets /v2/
// and the server serves both for as long as kits in the field need it.
//
// Endpoints (T is the tenant, every one but health, ready and enrol needs
// "Authorization: Bearer <device token>"):
//
//	GET   /v1/health                         {"status":"ok",...}: the process lives
//	GET   /v1/ready                          {"status":"ready",...}, or 503 while its database is away
//	POST  /v1/enrol                          EnrolRequest -> EnrolResponse
//	POST  /v1/tenants/T/push                 PushRequest -> PushResponse
//	GET   /v1/tenants/T/pull?after=S&limit=N PullLine... (own=full: own changes whole)
//	HEAD  /v1/tenants/T/records/R/attachments/SHA  Upload-Offset, Upload-Length
//	PATCH /v1/tenants/T/records/R/attachments/SHA  append at Upload-Offset
//	GET   /v1/tenants/T/records/R/attachments/SHA  the sealed bytes
//
// An attachment is record R's content with the plain SHA-256 SHA, sealed
// under R's content key (AES-256-GCM, AAD "attachment:<SHA>"). Two records
// with the same bytes have two attachments, each uploaded for itself, and
// a change of R that references SHA waits until R's upload is complete.
// (The first protocol addressed attachments by SHA alone, at
// /v1/tenants/T/attachments/SHA; the server answers that path 410 Gone.)
//
// Status codes: 400 malformed body or parameters, 401 no, unknown or
// revoked token, 403 a tenant that is not the device's, 404 unknown
// attachment, 409 an upload offset that does not match, 413 a body over the
// limit, 429 and 5xx: try again later (the agent backs off); 503 with
// Retry-After while the server's database is away.
//
// Personal data never travels in clear. A change's personal values are
// AES-256-GCM under its record's content key (AAD "change:<change id>");
// the device sends the content key wrapped under a seal key (AAD
// "record_key:<record id>"), and the seal key as a JWE for the tenant's
// server key: one asymmetric operation per seal batch. The server sends
// pulled content keys wrapped under a page key, and the page key as a JWE
// for the device's public key: one asymmetric operation per page.
package syncproto

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
)

// Version is the protocol version in every path.
const Version = "v1"

// Limits the server enforces and the agent respects.
const (
	MaxBodyBytes       = 8 << 20  // push and enrol bodies; more is 413
	MaxPushChanges     = 2000     // changes per push; more is 413
	MaxChunkBytes      = 1 << 20  // one PATCH of an attachment
	MaxAttachmentBytes = 64 << 20 // one attachment
	DefaultPullLimit   = 2000     // changes per pull page
	MaxPullLimit       = 10000
)

// Header names of the resumable attachment upload (after tus 1.0).
const (
	HeaderUploadOffset = "Upload-Offset"
	HeaderUploadLength = "Upload-Length"
	// HeaderUploadSHA256 is the hex SHA-256 of the complete sealed bytes;
	// the server refuses to complete an upload whose bytes do not match.
	HeaderUploadSHA256 = "Upload-Sealed-Sha256"
	// HeaderRecordID names the record an attachment belongs to. The path
	// names it already; a PATCH that sends this header too must name the
	// same record.
	HeaderRecordID = "Upload-Record-Id"
)

// AttachmentPath is the path of record recordID's attachment with the
// plain SHA-256 sha, in tenant: HEAD, PATCH and GET go there.
func AttachmentPath(tenant, recordID, sha string) string {
	return "/" + Version + "/tenants/" + url.PathEscape(tenant) + "/records/" + url.PathEscape(recordID) +
		"/attachments/" + url.PathEscape(sha)
}

// CentralDevice is the device id of changes made at the town hall (by the
// server's operators or the back office), and of the conflict records the
// server writes.
const CentralDevice = "central"

// Health is the body of GET /v1/health.
type Health struct {
	Status   string `json:"status"`
	Protocol string `json:"protocol"`
	Time     string `json:"time"`
}

// EnrolRequest redeems a one-time enrolment code.
type EnrolRequest struct {
	Code      string `json:"code"`
	Name      string `json:"name"`       // "Koffer 3", shown to operators
	LocalID   string `json:"local_id"`   // the field store's device id
	PublicKey string `json:"public_key"` // PEM, the device's RSA public key
}

// EnrolResponse gives the device what it needs to sync.
type EnrolResponse struct {
	Tenant          string `json:"tenant"`
	DeviceID        string `json:"device_id"`
	Token           string `json:"token"`
	ServerPublicKey string `json:"server_public_key"` // PEM
	ServerKeyID     string `json:"server_key_id"`
}

// Seal is a seal key, sealed for the tenant's server key (compact JWE).
type Seal struct {
	ID  string `json:"id"`
	JWE string `json:"jwe"`
}

// RecordKey is a record's content key, wrapped under a seal key (push) or
// a page key (pull), AAD "record_key:<record id>".
type RecordKey struct {
	RecordID string `json:"record_id"`
	SealID   string `json:"seal_id,omitempty"` // push only
	Wrapped  []byte `json:"wrapped"`
}

// FieldChange is the old and new value of a plain field.
type FieldChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Change is one change entry from a device's outbox.
type Change struct {
	ID          string                 `json:"id"`
	RecordID    string                 `json:"record_id"`
	RecordType  string                 `json:"record_type"`
	Op          string                 `json:"op"` // create, update, delete
	Fields      []string               `json:"fields"`
	Plain       map[string]FieldChange `json:"plain,omitempty"`
	Secret      []byte                 `json:"secret,omitempty"` // old and new of the personal fields, sealed
	BaseVersion int64                  `json:"base_version"`     // the server version the device had integrated
	HLC         string                 `json:"hlc"`
	Device      string                 `json:"device"` // server device id (set by the server from the token)
	Clerk       string                 `json:"clerk"`
	CreatedAt   string                 `json:"created_at"`
}

// PushRequest is one batch from the outbox, in outbox order. Seals and keys
// the server already has may be sent again; they are idempotent too.
type PushRequest struct {
	Seals   []Seal      `json:"seals,omitempty"`
	Keys    []RecordKey `json:"keys,omitempty"`
	Changes []Change    `json:"changes"`
	Audit   *AuditHead  `json:"audit,omitempty"` // the device's audit chain now
}

// AuditHead is the head of a device's keyed audit chain, sent with every
// push. The server keeps each device's last head and flags a chain that
// went back (fewer entries than it knew) or forked (the entry at the
// position it knew has another MAC); it never refuses a push for that.
type AuditHead struct {
	Count int64  `json:"count"` // entries in the chain (the newest one's seq)
	Hash  string `json:"hash"`  // the newest entry's MAC, hex
	// KnownCount is the position the server acknowledged last
	// (PushResponse.AuditKnown, 0 if none) and KnownHash the device's MAC
	// at that position now ("" if the chain no longer reaches it).
	KnownCount int64  `json:"known_count,omitempty"`
	KnownHash  string `json:"known_hash,omitempty"`
}

// Result statuses of one pushed change.
const (
	StatusApplied   = "applied"   // accepted now
	StatusDuplicate = "duplicate" // accepted before: a retried push
	StatusRetry     = "retry"     // not yet: e.g. its attachment is not uploaded
	StatusRejected  = "rejected"  // never: Reason says why
)

// ReasonIDInUse is the reason of a change rejected because another tenant
// has a change of its id. (The other reasons are the merge errors' texts.)
const ReasonIDInUse = "change id in use"

// PushResult is the server's answer for one change.
type PushResult struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Seq       int64  `json:"seq,omitempty"`     // its place in the tenant's feed
	Version   int64  `json:"version,omitempty"` // the record's version after it
	Conflicts int    `json:"conflicts,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Restamped: the change's clock reading was too far ahead of the
	// server's clock; the server ordered it by its own clock instead.
	Restamped bool `json:"restamped,omitempty"`
}

// PushResponse answers a push, one result per change, in order.
type PushResponse struct {
	Results []PushResult `json:"results"`
	// AuditKnown is the position of the device's audit chain the server
	// now holds; the device names its MAC there in the next push.
	AuditKnown int64 `json:"audit_known,omitempty"`
}

// FieldState is where a field's current value comes from: the change that
// set it (its new value) and the record version at which it did.
type FieldState struct {
	Src     string `json:"src"`
	Version int64  `json:"v"`
}

// Entry is one change as the feed serves it: the change, where the server
// put it, and the state of the fields it touched after merging it.
type Entry struct {
	Seq     int64 `json:"seq"`
	Version int64 `json:"version"` // the record's version after this change
	Change
	// State holds each field the change named (all fields of the record
	// when a conflict brought a deleted record back or a deletion lost to
	// an edit) after the merge: the change itself where it won, the
	// earlier change where it lost.
	State   map[string]FieldState `json:"state"`
	Deleted bool                  `json:"deleted"`
	// Key is the record's content key under the page key; absent for
	// records whose key a device must not get (signed cases) or that
	// this device sent itself, and in revision 2 from all but the first
	// entry of a record in a page.
	Key []byte `json:"key,omitempty"`
	// Own marks the pulling device's own change that the server merged
	// as pushed (revision 2): only Seq and Version are set, the device
	// holds the rest. Never in JSON.
	Own bool `json:"-"`
}

// PullLine is one line of a pull: first a Page, then Entries, then End.
// A pull cut short has no End; the agent keeps what it committed. In
// revision 1 each is a JSON line; revision 2 frames them (pullframe.go).
type PullLine struct {
	Page  *Page  `json:"page,omitempty"`
	Entry *Entry `json:"entry,omitempty"`
	End   *End   `json:"end,omitempty"`
}

// Page carries the page key, sealed for the device's public key, and the
// tenant's current server key: after a rotation the device seals for the
// new key from its next seal on (what it sealed for an older key still
// opens at the server, which picks the key by the JWE's kid).
type Page struct {
	ID              string `json:"id"`
	JWE             string `json:"jwe"`
	ServerKeyID     string `json:"server_key_id,omitempty"`
	ServerPublicKey string `json:"server_public_key,omitempty"` // PEM
}

// End closes a complete pull page.
type End struct {
	LastSeq int64 `json:"last_seq"` // the checkpoint after this page
	More    bool  `json:"more"`     // another page follows at once
	HeadSeq int64 `json:"head_seq"` // the newest seq of the tenant
	// Policy is the tenant's policy as the server applies it now; absent
	// from servers that predate it.
	Policy *Policy `json:"policy,omitempty"`
}

// Policy is what a tenant's operator decided for all its laptops (`syncd
// admin policy`). Laptops keep the last one they pulled; the server
// checks pushes against the one it has at push time.
type Policy struct {
	// FourEyes: a second clerk confirms every case, with their own
	// password, before it is sealed.
	FourEyes bool `json:"four_eyes"`
	// SetAt is when the operator last changed it (RFC 3339, "" never).
	SetAt string `json:"set_at,omitempty"`
}

// ReasonFourEyes begins the reason of a seal refused because the tenant's
// policy asks for a second clerk's confirmation that the case lacks; what
// follows names the defect (no confirmation, the same clerk).
const ReasonFourEyes = "four-eyes confirmation required"

// Error is the JSON body of every 4xx and 5xx answer.
type Error struct {
	Error string `json:"error"`
}

// ExportRecord is one line of `syncd export`, the same on the server and
// on every device: the content of a record, none of anyone's bookkeeping.
// Plain fields appear with their values (empty ones left out); personal
// fields appear as the id of the change whose sealed value they hold, so an
// export needs no key and two exports are equal exactly when both sides
// hold the same values. A deleted record keeps only its identity.
type ExportRecord struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Version int64             `json:"version"`
	Deleted bool              `json:"deleted,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Sealed  map[string]string `json:"sealed,omitempty"`
}

// WriteExport writes records as canonical JSON lines (map keys sorted by
// encoding/json); the caller passes them sorted by id.
func WriteExport(w io.Writer, r ExportRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("export %s: %w", r.ID, err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
