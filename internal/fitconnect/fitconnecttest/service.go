// Package fitconnecttest is a loopback double of FIT-Connect, written from FITKO's published API description
// independently of the client in internal/fitconnect, so that it can catch that client's mistakes.
//
// One Service plays three parties:
//   - the OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4);
//   - the submission service with its Submission API v1 (destinations and their keys, submissions,
//     attachments, the event log of a case, the service's JWKS) and RFC 7807 problem details;
//   - the receiving authority behind one destination, which decrypts what arrives with the destination's
//     private key, validates the metadata against the metadata schema, checks the SHA-512 hashes and the
//     announced attachments, and answers with signed security event tokens (RFC 8417, PS512).
//
// It owns a throwaway PKI (root CA, intermediate, the destination's encryption and signature certificates);
// the RSA keys are cached per process because a 4096-bit key takes seconds to generate.
//
// Use:
//
//	s := fitconnecttest.New(t, fitconnecttest.Options{AutoAccept: true})
//	// point a sender at s.URL(), s.TokenURL(), s.ClientID(), s.ClientSecret(), trust s.RootPEM(),
//	// send to s.DestinationID() for one of Options.Services …
//	got := s.Submissions() // what the authority received, decrypted and checked
//	refused := s.Refusals() // what it refused, with the reason (errors.Is with ErrHashMismatch, …)
//
// Where FITKO's documentation leaves a choice open, the double is strict: JSON members are matched
// case-sensitively and unknown ones refused, a submission must name its public service in the metadata,
// every attachment needs a filename, and a submission is submitted once (a second PUT answers 409).
package fitconnecttest

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// DefaultService is the LeiKa identifier the destination offers when Options.Services is empty.
const DefaultService = "urn:de:fim:leika:leistung:99000000000000"

// Options shape a Service. The zero value is a correct, active destination with a 4096-bit key.
type Options struct {
	KeyBits       int           // destination encryption key size; default 4096 (tests pass 2048 to see a refusal)
	OmitWrapKey   bool          // the encryption key's key_ops lack wrapKey
	WrongRoot     bool          // the destination's encryption key chains to another root than RootPEM
	TokenLifetime time.Duration // default 1h; tests use a few seconds to see renewal
	Services      []string      // LeiKa identifiers the destination offers; default DefaultService
	Failures      int           // the next N requests to the submission API answer 503 (a 5xx storm)

	// SchemaURIs names, per LeiKa identifier, the submission schemas the destination accepts. A service
	// without an entry accepts any schema URI (the destination then lists AnySchemaURI).
	SchemaURIs map[string][]string
	// DataSchemas holds JSON Schemas by URI; data whose metadata names such a schema URI is validated
	// against it, as the specialist procedure would.
	DataSchemas map[string][]byte
	Inactive    bool   // the destination's status is "inactive" and it takes no submissions
	AutoAccept  bool   // the authority accepts every submission that passes its checks
	Addr        string // listen address; default "127.0.0.1:0"
	// EventKeyBits is the size of the keys that sign events (the service's and the destination's
	// signature key); default 4096. A long run may pass 2048 to halve the double's signing cost.
	EventKeyBits int
	Clock        func() time.Time // default time.Now; tests move time to expire tokens
}

// AnySchemaURI is the submission schema listed for a service without Options.SchemaURIs.
const AnySchemaURI = "https://schema.buergerkoffer.example/fitconnecttest/any.schema.json"

// Service is a running double. All methods are safe for concurrent use.
type Service struct {
	opt           Options
	base          string
	ln            net.Listener
	srv           *http.Server
	keys          *pki
	metaSchema    *jsonschema.Schema
	dataSchemas   map[string]*jsonschema.Schema
	destinationID string
	clientID      string
	clientSecret  string

	ctx    context.Context // ends on Close; owns the callback deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu               sync.Mutex
	tokens           map[string]time.Time // access token → expiry
	issued           int
	failNext         int // requests still to answer 503, before doing anything
	dropSubmitAnswer bool
	subs             map[string]*submission
	order            []string            // submission ids in creation order
	events           map[string][]string // case id → event log (compact SETs)
	faults           map[string]eventFault
	refusals         []Refusal
	callback         *callbackTarget
	callbacks        []CallbackResult
	closed           bool
}

// New starts a Service on loopback and stops it when the test ends.
func New(t testing.TB, opt Options) *Service {
	t.Helper()
	s, err := NewServer(opt)
	if err != nil {
		t.Fatalf("fitconnecttest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// NewServer starts a Service outside a test (for example for an end-to-end run of the worker binary).
// The caller stops it with Close.
func NewServer(opt Options) (*Service, error) {
	opt = withDefaults(opt)
	keys, err := newPKI(opt)
	if err != nil {
		return nil, fmt.Errorf("make PKI: %w", err)
	}
	schema, err := compileMetadataSchema()
	if err != nil {
		return nil, fmt.Errorf("compile metadata schema: %w", err)
	}
	dataSchemas, err := compileDataSchemas(opt.DataSchemas)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opt.Addr, err)
	}
	s := newService(opt, keys, schema, ln)
	s.dataSchemas = dataSchemas
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func withDefaults(opt Options) Options {
	if opt.KeyBits == 0 {
		opt.KeyBits = 4096
	}
	if opt.EventKeyBits == 0 {
		opt.EventKeyBits = 4096
	}
	if opt.TokenLifetime == 0 {
		opt.TokenLifetime = time.Hour
	}
	if len(opt.Services) == 0 {
		opt.Services = []string{DefaultService}
	}
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	return opt
}

func newService(opt Options, keys *pki, schema *jsonschema.Schema, ln net.Listener) *Service {
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		opt:           opt,
		base:          "http://" + ln.Addr().String(),
		ln:            ln,
		keys:          keys,
		metaSchema:    schema,
		destinationID: uuid.NewString(),
		clientID:      uuid.NewString(),
		clientSecret:  randomToken(),
		ctx:           ctx,
		cancel:        cancel,
		tokens:        map[string]time.Time{},
		failNext:      opt.Failures,
		subs:          map[string]*submission{},
		events:        map[string][]string{},
		faults:        map[string]eventFault{},
	}
}

// Close stops the listener, the open connections and the callback deliveries.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.srv.Close()
	s.wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close fitconnecttest server: %w", err)
	}
	return nil
}

// URL is the Submission API's base URL (without /v1).
func (s *Service) URL() string { return s.base }

// TokenURL is the OAuth 2.0 token endpoint.
func (s *Service) TokenURL() string { return s.base + "/token" }

// ClientID is the only client the token endpoint knows.
func (s *Service) ClientID() string { return s.clientID }

// ClientSecret is that client's secret.
func (s *Service) ClientSecret() string { return s.clientSecret }

// DestinationID is the id of the one destination.
func (s *Service) DestinationID() string { return s.destinationID }

// RootPEM is the trust anchor (the administration PKI's root) in PEM.
func (s *Service) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.keys.root.Raw})
}

// EncryptionKid is the key id of the destination's encryption key.
func (s *Service) EncryptionKid() string { return s.keys.encKid }

// SignatureKid is the key id of the destination's signature key (accept/reject events).
func (s *Service) SignatureKid() string { return s.keys.sigKid }

// TokensIssued counts the access tokens the token endpoint handed out.
func (s *Service) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// FailNext makes the next n submission-API requests answer 503 before they do anything.
func (s *Service) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

func (s *Service) now() time.Time { return s.opt.Clock() }

// randomToken is 256 random bits (crypto/rand.Text gives 128 each).
func randomToken() string { return rand.Text() + rand.Text() }
