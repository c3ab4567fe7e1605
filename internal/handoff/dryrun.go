package handoff

// This file is `syncd handoff --dry-run --case ID`: the metadata and data
// a case would send, unencrypted, for IT to inspect. Nothing is sent and
// nothing is written.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// DryRun writes the metadata and data of a case as one pretty JSON
// document {"metadata": …, "data": …} to out.
func (w *Worker) DryRun(ctx context.Context, caseID string, out io.Writer) error {
	doc, err := w.cfg.Build(ctx, w.cfg.Tenant, caseID)
	if err != nil {
		return fmt.Errorf("handoff: dry run of case %s: %w", caseID, err)
	}
	meta, err := w.cfg.Metadata(content(doc, fitconnect.ServiceType{Name: doc.ServiceName, Identifier: doc.LeiKa}))
	if err != nil {
		return fmt.Errorf("handoff: dry run of case %s: metadata: %w", caseID, err)
	}
	b, err := json.MarshalIndent(struct {
		Metadata json.RawMessage `json:"metadata"`
		Data     json.RawMessage `json:"data"`
	}{meta, doc.Data}, "", "  ")
	if err != nil {
		return fmt.Errorf("handoff: dry run of case %s: %w", caseID, err)
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}
