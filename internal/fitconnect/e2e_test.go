package fitconnect_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
)

// TestEndToEnd_AgainstFitconnecttest runs the whole sender flow against the independently
// written double: submit, the authority decrypts and checks, events come back verified.
func TestEndToEnd_AgainstFitconnecttest(t *testing.T) {
	ctx := context.Background()
	svc := fitconnecttest.New(t, fitconnecttest.Options{})
	c := doubleClient(t, svc)
	service := fitconnect.ServiceType{Name: "Testleistung", Identifier: fitconnecttest.DefaultService}
	r, err := c.Recipient(ctx, svc.DestinationID(), service)
	if err != nil {
		t.Fatal(err)
	}
	content := testContent()
	content.Service = service

	first := sendContent(t, c, r, content)
	got := svc.Submissions()
	if len(got) != 1 || got[0].SubmissionID != first.SubmissionID || got[0].Creates != 1 ||
		!bytes.Equal(got[0].Data, content.Data) || len(got[0].Attachments) != len(content.Attachments) {
		t.Fatalf("double received %+v, refusals %+v", got, svc.Refusals())
	}
	for _, a := range content.Attachments {
		if !bytes.Equal(got[0].Attachments[a.ID], a.Data) {
			t.Fatalf("attachment %s arrived changed", a.ID)
		}
	}
	if err := svc.Accept(first.SubmissionID); err != nil {
		t.Fatal(err)
	}
	log, err := c.Events(ctx, first.CaseID, svc.DestinationID(), first.SubmissionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Refused) != 0 {
		t.Fatalf("refused a genuine event: %v", log.Refused[0].Err)
	}
	if types := eventTypes(log); types != fitconnect.EventSubmit+" "+fitconnect.EventAccept {
		t.Fatalf("event types = %s", types)
	}

	// Further cases: a tampered and an unsigned event are refused, a genuine reject is read.
	tampered := sendContent(t, c, r, nextCase(content, 2))
	svc.Tamper(tampered.SubmissionID)
	if err := svc.Accept(tampered.SubmissionID); err != nil {
		t.Fatal(err)
	}
	expectRefused(t, c, svc, tampered, fitconnect.ErrEventSignature)

	problems := []fitconnecttest.Problem{{Type: "https://schema.fitko.de/fit-connect/events/problems/x",
		Title: "Nicht zuständig", Detail: "d", Instance: "submission"}}
	unsigned := sendContent(t, c, r, nextCase(content, 3))
	svc.Unsigned(unsigned.SubmissionID)
	if err := svc.Reject(unsigned.SubmissionID, problems); err != nil {
		t.Fatal(err)
	}
	expectRefused(t, c, svc, unsigned, fitconnect.ErrEventHeader)

	rejected := sendContent(t, c, r, nextCase(content, 4))
	if err := svc.Reject(rejected.SubmissionID, problems); err != nil {
		t.Fatal(err)
	}
	log, err = c.Events(ctx, rejected.CaseID, svc.DestinationID(), rejected.SubmissionID)
	if err != nil || len(log.Refused) != 0 {
		t.Fatalf("reject log: %+v, %v", log, err)
	}
	last := log.Events[len(log.Events)-1]
	if last.Type != fitconnect.EventReject || len(last.Problems) != 1 || last.Problems[0].Title != "Nicht zuständig" ||
		last.Problems[0].Instance != "submission" {
		t.Fatalf("last event = %+v", last)
	}
}

// nextCase is another case's content: new attachment ids, other data.
func nextCase(c fitconnect.Content, n int) fitconnect.Content {
	c.Attachments = slices.Clone(c.Attachments)
	for i := range c.Attachments {
		c.Attachments[i].ID = uuid.NewString()
	}
	c.Data = fmt.Appendf(nil, `{"hund":{"nummer":%d}}`, n)
	return c
}

// expectRefused: the case's log holds exactly one refused token, for reason want.
func expectRefused(t testing.TB, c *fitconnect.Client, svc *fitconnecttest.Service, s fitconnect.Created, want error) {
	t.Helper()
	log, err := c.Events(context.Background(), s.CaseID, svc.DestinationID(), s.SubmissionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Refused) != 1 || !errors.Is(log.Refused[0].Err, want) {
		t.Fatalf("refused = %+v, want one refusal for %v", log.Refused, want)
	}
	for _, e := range log.Events {
		if e.Type != fitconnect.EventSubmit {
			t.Fatalf("verified %s although it was broken", e.Type)
		}
	}
}

func TestEndToEnd_DoubleKeysRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		opt  fitconnecttest.Options
		want error
	}{
		"2048 bits":  {fitconnecttest.Options{KeyBits: 2048}, fitconnect.ErrKeyTooShort},
		"no wrapKey": {fitconnecttest.Options{OmitWrapKey: true}, fitconnect.ErrKeyOps},
		"wrong root": {fitconnecttest.Options{WrongRoot: true}, fitconnect.ErrKeyChain},
		"inactive":   {fitconnecttest.Options{Inactive: true}, fitconnect.ErrDestinationInactive},
	} {
		svc := fitconnecttest.New(t, tc.opt)
		c := doubleClient(t, svc)
		_, err := c.Recipient(context.Background(), svc.DestinationID(),
			fitconnect.ServiceType{Name: "Testleistung", Identifier: fitconnecttest.DefaultService})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func doubleClient(t testing.TB, svc *fitconnecttest.Service) *fitconnect.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(svc.RootPEM()) {
		t.Fatal("double's root is not PEM")
	}
	c, err := fitconnect.New(fitconnect.Config{SubmissionAPI: svc.URL(), TokenURL: svc.TokenURL(),
		ClientID: svc.ClientID(), ClientSecret: svc.ClientSecret(), TrustAnchors: pool})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sendContent is the worker's flow in short: metadata, encrypt, create, upload, submit.
func sendContent(t testing.TB, c *fitconnect.Client, r fitconnect.Recipient, content fitconnect.Content) fitconnect.Created {
	t.Helper()
	ctx := context.Background()
	meta, err := fitconnect.Metadata(content)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range content.Attachments {
		ids = append(ids, a.ID)
	}
	created, err := c.CreateSubmission(ctx, r.DestinationID, r.Service, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range content.Attachments {
		if err := c.UploadAttachment(ctx, created.SubmissionID, a.ID, mustEncrypt(t, r, a.Data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Submit(ctx, created.SubmissionID, mustEncrypt(t, r, meta), mustEncrypt(t, r, content.Data)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Submission(ctx, created.SubmissionID)
	if err != nil || !s.Submitted {
		t.Fatalf("submission after submit = %+v, %v", s, err)
	}
	return created
}

func mustEncrypt(t testing.TB, r fitconnect.Recipient, b []byte) string {
	t.Helper()
	s, err := r.Encrypt(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eventTypes(log fitconnect.EventLog) string {
	var s string
	for i, e := range log.Events {
		if i > 0 {
			s += " "
		}
		s += e.Type
	}
	return s
}

// TestEndToEnd_ServerStormIsTemporaryAndNotRetried: the client leaves retries to the worker.
func TestEndToEnd_ServerStormIsTemporaryAndNotRetried(t *testing.T) {
	svc := fitconnecttest.New(t, fitconnecttest.Options{})
	c := doubleClient(t, svc)
	svc.FailNext(2)
	for range 2 {
		_, err := c.Destination(context.Background(), svc.DestinationID())
		var p *fitconnect.ProblemError
		if !errors.As(err, &p) || !p.Temporary() {
			t.Fatalf("err = %v, want a temporary problem", err)
		}
	}
	if _, err := c.Destination(context.Background(), svc.DestinationID()); err != nil {
		t.Fatalf("after the storm: %v", err)
	}
}

// TestEndToEnd_TokenRenewedAfterExpiry: the double's token expires; the client renews it.
func TestEndToEnd_TokenRenewedAfterExpiry(t *testing.T) {
	clk := &clock{t: time.Now()}
	svc := fitconnecttest.New(t, fitconnecttest.Options{TokenLifetime: 2 * time.Minute, Clock: clk.Now})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(svc.RootPEM())
	c, err := fitconnect.New(fitconnect.Config{SubmissionAPI: svc.URL(), TokenURL: svc.TokenURL(),
		ClientID: svc.ClientID(), ClientSecret: svc.ClientSecret(), TrustAnchors: pool, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		clk.Advance(step)
		if _, err := c.Destination(context.Background(), svc.DestinationID()); err != nil {
			t.Fatalf("after %v: %v", step, err)
		}
	}
	if n := svc.TokensIssued(); n != 2 {
		t.Fatalf("tokens issued = %d, want 2 (one renewal after expiry)", n)
	}
}
