package fitconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Event types of the FIT-Connect event log.
const (
	EventSubmit = "https://schema.fitko.de/fit-connect/events/submit-submission"
	EventAccept = "https://schema.fitko.de/fit-connect/events/accept-submission"
	EventReject = "https://schema.fitko.de/fit-connect/events/reject-submission"
)

// Event is one verified security event token.
type Event struct {
	ID, Type, Issuer string
	IssuedAt         time.Time
	SubmissionID     string
	CaseID           string
	Problems         []Problem // reject reasons (type, title, detail)
}

// Problem is a reason given in a reject event.
type Problem struct {
	Type, Title, Detail, Instance string
	Status                        int
}

// EventLog is a case's event log after verification.
type EventLog struct {
	Events  []Event        // verified, in log order
	Refused []RefusedEvent // tokens that failed verification, with why
}

// RefusedEvent is a token of the log that failed verification; Err wraps ErrEventRefused
// and never holds the token's contents.
type RefusedEvent struct {
	Index int
	Err   error
}

// eventPageSize asks for the Submission API's default page of the event log (its maximum is
// larger); shorter pages from the server are followed all the same.
const eventPageSize = 100

type eventPage struct {
	Offset     int      `json:"offset"`
	Count      int      `json:"count"`
	TotalCount int      `json:"totalCount"`
	EventLog   []string `json:"eventLog"`
}

// Events is GET /v1/cases/{caseId}/events (all pages), each token verified by its issuer and
// checked against the submission (sub "submission:<id>", txn "case:<caseId>").
func (c *Client) Events(ctx context.Context, caseID, destinationID, submissionID string) (EventLog, error) {
	tokens, err := c.eventTokens(ctx, caseID)
	if err != nil {
		return EventLog{}, err
	}
	v := &setVerifier{c: c, caseID: caseID, destinationID: destinationID, submissionID: submissionID,
		destKeys: map[string]keyResult{}}
	var log EventLog
	for i, tok := range tokens {
		ev, err := v.verify(ctx, tok)
		switch {
		case err == nil:
			log.Events = append(log.Events, ev)
		case errors.Is(err, ErrEventRefused):
			log.Refused = append(log.Refused, RefusedEvent{Index: i, Err: err})
		default:
			return EventLog{}, err // the keys could not be fetched: try again later
		}
	}
	return log, nil
}

// eventTokens reads every page of the case's event log.
func (c *Client) eventTokens(ctx context.Context, caseID string) ([]string, error) {
	var all []string
	for {
		var page eventPage
		u := c.endpoint("v1", "cases", caseID, "events") +
			"?limit=" + strconv.Itoa(eventPageSize) + "&offset=" + strconv.Itoa(len(all))
		if err := c.do(ctx, call{op: "get events", method: http.MethodGet, url: u, auth: true, out: &page}); err != nil {
			return nil, err
		}
		if page.Offset != len(all) || page.Count != len(page.EventLog) {
			return nil, errors.New("fitconnect: get events: page does not match offset/count")
		}
		all = append(all, page.EventLog...)
		if len(all) >= page.TotalCount {
			return all, nil
		}
		if len(page.EventLog) == 0 {
			return nil, fmt.Errorf("fitconnect: get events: empty page at %d of %d", len(all), page.TotalCount)
		}
	}
}
