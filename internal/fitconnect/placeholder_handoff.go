// Package fitconnect: PLACEHOLDER of the contract in FITCONNECT_API.md, so
// that branch handoff compiles before branch fitclient is merged. The
// merge replaces this file with the real client (delete it then).
package fitconnect

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"time"
)

type Config struct {
	SubmissionAPI, TokenURL, ClientID, ClientSecret string
	Scopes                                          []string
	TrustAnchors                                    *x509.CertPool
	HTTPClient                                      *http.Client
	Now                                             func() time.Time
}

var errPlaceholder = errors.New("fitconnect: placeholder")

func LoadTrustAnchors(pemFile string) (*x509.CertPool, error) { return nil, errPlaceholder }
func New(cfg Config) (*Client, error)                         { return nil, errPlaceholder }

type Client struct{}
type ServiceType struct{ Name, Identifier string }
type Recipient struct {
	DestinationID string
	Service       ServiceType
	Kid           string
}

func (c *Client) Recipient(ctx context.Context, destinationID string, service ServiceType) (Recipient, error) {
	return Recipient{}, errPlaceholder
}
func (r Recipient) Encrypt(plain []byte) (string, error) { return "", errPlaceholder }

type Created struct{ SubmissionID, CaseID string }

func (c *Client) CreateSubmission(ctx context.Context, destinationID string, service ServiceType, attachmentIDs []string) (Created, error) {
	return Created{}, errPlaceholder
}
func (c *Client) UploadAttachment(ctx context.Context, submissionID, attachmentID, jwe string) error {
	return errPlaceholder
}
func (c *Client) Submit(ctx context.Context, submissionID, encryptedMetadata, encryptedData string) error {
	return errPlaceholder
}

type Submission struct {
	ID, CaseID, DestinationID string
	Attachments               []string
	Submitted                 bool
}

func (c *Client) Submission(ctx context.Context, submissionID string) (Submission, error) {
	return Submission{}, errPlaceholder
}

type Attachment struct {
	ID, Filename, MimeType, Purpose, Description string
	Data                                         []byte
}
type Content struct {
	Service             ServiceType
	SchemaURI, MimeType string
	Data                []byte
	Attachments         []Attachment
}

func Metadata(c Content) ([]byte, error) { return nil, errPlaceholder }

const (
	EventSubmit = "https://schema.fitko.de/fit-connect/events/submit-submission"
	EventAccept = "https://schema.fitko.de/fit-connect/events/accept-submission"
	EventReject = "https://schema.fitko.de/fit-connect/events/reject-submission"
)

type Event struct {
	ID, Type, Issuer string
	IssuedAt         time.Time
	SubmissionID     string
	CaseID           string
	Problems         []Problem
}
type Problem struct {
	Type, Title, Detail, Instance string
	Status                        int
}
type EventLog struct {
	Events  []Event
	Refused []RefusedEvent
}
type RefusedEvent struct {
	Index int
	Err   error
}

func (c *Client) Events(ctx context.Context, caseID, destinationID, submissionID string) (EventLog, error) {
	return EventLog{}, errPlaceholder
}
func VerifyCallback(secret []byte, timestamp, authentication string, body []byte, now time.Time) error {
	return errPlaceholder
}

type ProblemError struct {
	Status                        int
	Type, Title, Detail, Instance string
}

func (e *ProblemError) Error() string   { return e.Title }
func (e *ProblemError) Temporary() bool { return e.Status >= 500 || e.Status == 429 }

var (
	ErrKeyRefused          = errors.New("key refused")
	ErrDestinationInactive = errors.New("destination inactive")
	ErrServiceNotOffered   = errors.New("service not offered")
	ErrEventRefused        = errors.New("event refused")
	ErrCallbackRefused     = errors.New("callback refused")
)

var (
	ErrCallbackStale = errors.New("callback stale")
	ErrCallbackMAC   = errors.New("callback mac")
)
