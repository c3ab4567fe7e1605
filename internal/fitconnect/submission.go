package fitconnect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Created is the answer to a created submission.
type Created struct{ SubmissionID, CaseID string }

// Submission is what GET /v1/submissions/{id} tells the sender.
type Submission struct {
	ID, CaseID, DestinationID string
	Attachments               []string // announced attachment ids
	Submitted                 bool     // encryptedMetadata/encryptedData are present: the submit happened
}

type serviceTypeJSON struct {
	Name       string `json:"name,omitempty"`
	Identifier string `json:"identifier"`
}

type submissionJSON struct {
	DestinationID     string   `json:"destinationId"`
	SubmissionID      string   `json:"submissionId"`
	CaseID            string   `json:"caseId"`
	Attachments       []string `json:"attachments"`
	EncryptedMetadata string   `json:"encryptedMetadata"`
	EncryptedData     string   `json:"encryptedData"`
}

// CreateSubmission is POST /v1/submissions with destinationId, serviceType and announcedAttachments.
func (c *Client) CreateSubmission(ctx context.Context, destinationID string, service ServiceType, attachmentIDs []string) (Created, error) {
	if attachmentIDs == nil {
		attachmentIDs = []string{}
	}
	body, err := json.Marshal(struct {
		DestinationID        string          `json:"destinationId"`
		AnnouncedAttachments []string        `json:"announcedAttachments"`
		ServiceType          serviceTypeJSON `json:"serviceType"`
	}{destinationID, attachmentIDs, serviceTypeJSON{service.Name, service.Identifier}})
	if err != nil {
		return Created{}, fmt.Errorf("fitconnect: create submission: %w", err)
	}
	var ans submissionJSON
	err = c.do(ctx, call{op: "create submission", method: http.MethodPost, url: c.endpoint("v1", "submissions"),
		body: body, contentType: "application/json", auth: true, out: &ans})
	if err != nil {
		return Created{}, err
	}
	if ans.SubmissionID == "" || ans.CaseID == "" {
		return Created{}, errors.New("fitconnect: create submission: answer lacks submissionId or caseId")
	}
	return Created{SubmissionID: ans.SubmissionID, CaseID: ans.CaseID}, nil
}

// UploadAttachment is PUT /v1/submissions/{id}/attachments/{attachmentId} with a JWE (application/jose).
func (c *Client) UploadAttachment(ctx context.Context, submissionID, attachmentID, jwe string) error {
	if jwe == "" {
		return errors.New("fitconnect: upload attachment: empty JWE")
	}
	return c.do(ctx, call{op: "upload attachment", method: http.MethodPut,
		url:  c.endpoint("v1", "submissions", submissionID, "attachments", attachmentID),
		body: []byte(jwe), contentType: "application/jose", auth: true})
}

// Submit is PUT /v1/submissions/{id} with encryptedMetadata and encryptedData.
func (c *Client) Submit(ctx context.Context, submissionID, encryptedMetadata, encryptedData string) error {
	if encryptedMetadata == "" {
		return errors.New("fitconnect: submit: encrypted metadata is required")
	}
	body, err := json.Marshal(struct {
		EncryptedMetadata string `json:"encryptedMetadata"`
		EncryptedData     string `json:"encryptedData,omitempty"`
	}{encryptedMetadata, encryptedData})
	if err != nil {
		return fmt.Errorf("fitconnect: submit: %w", err)
	}
	return c.do(ctx, call{op: "submit", method: http.MethodPut, url: c.endpoint("v1", "submissions", submissionID),
		body: body, contentType: "application/json", auth: true})
}

// Submission is GET /v1/submissions/{id}; after a crash it tells whether the submit already happened.
func (c *Client) Submission(ctx context.Context, submissionID string) (Submission, error) {
	var ans submissionJSON
	err := c.do(ctx, call{op: "get submission", method: http.MethodGet,
		url: c.endpoint("v1", "submissions", submissionID), auth: true, out: &ans})
	if err != nil {
		return Submission{}, err
	}
	if !strings.EqualFold(ans.SubmissionID, submissionID) {
		return Submission{}, errors.New("fitconnect: get submission: answer is for another submission")
	}
	return Submission{
		ID: ans.SubmissionID, CaseID: ans.CaseID, DestinationID: ans.DestinationID,
		Attachments: ans.Attachments,
		Submitted:   ans.EncryptedMetadata != "" || ans.EncryptedData != "",
	}, nil
}
