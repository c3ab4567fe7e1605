package casedoc

// This file collects a case's attachments, opened by the server as the
// office opens them, each with an id that depends only on the case and the
// bytes: a second build (after a crash, or a dry run) gives the same ids,
// so a submission's announced attachments stay the same.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
)

// AttachmentNamespace is the UUIDv5 namespace of attachment ids: itself
// the UUIDv5 of the kit's hand-off URL in the URL namespace.
var AttachmentNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://schema.buergerkoffer.de/handoff/attachment"))

// AttachmentID is the id of an attachment of a case with the given
// SHA-256 (hex): UUIDv5(AttachmentNamespace, caseID + "/" + sha256hex).
func AttachmentID(caseID, sha256hex string) string {
	return uuid.NewSHA1(AttachmentNamespace, []byte(caseID+"/"+sha256hex)).String()
}

// PurposeAttachment is FIT-Connect's purpose of a file that is neither the
// form (the data document is) nor a report.
const PurposeAttachment = "attachment"

// kindOrder puts the signature picture first and its time series second;
// other kinds follow by name.
var kindOrder = map[domain.AttachmentKind]int{domain.AttachmentSignaturePNG: 0, domain.AttachmentISO19794: 1}

// attachments are the case's files: a service the citizen signs on the pad
// must have the picture and the ISO/IEC 19794-7 record.
func attachments(ctx context.Context, srv *server.Server, tenant string, svc *catalog.Service, c server.RecordView) ([]Attachment, error) {
	kinds := map[domain.AttachmentKind]string{}
	for name, sha := range c.Fields {
		if k, ok := strings.CutPrefix(name, domain.AttachmentPrefix); ok && sha != "" {
			kinds[domain.AttachmentKind(k)] = sha
		}
	}
	if svc.MustSign {
		for _, k := range []domain.AttachmentKind{domain.AttachmentSignaturePNG, domain.AttachmentISO19794} {
			if kinds[k] == "" {
				return nil, fmt.Errorf("casedoc: case %s of %s has no %s%s: %w", c.ID, svc.ID, domain.AttachmentPrefix, k, ErrIncomplete)
			}
		}
	}
	order := make([]domain.AttachmentKind, 0, len(kinds))
	for k := range kinds {
		order = append(order, k)
	}
	sort.Slice(order, func(i, j int) bool {
		oi, iok := kindOrder[order[i]]
		oj, jok := kindOrder[order[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return order[i] < order[j]
	})
	out := make([]Attachment, 0, len(order))
	for _, k := range order {
		sha := kinds[k]
		b, err := srv.OpenAttachment(ctx, server.AttachmentRef{Tenant: tenant, RecordID: c.ID, SHA256: sha})
		if err != nil {
			return nil, fmt.Errorf("casedoc: case %s: attachment %s: %w", c.ID, k, err)
		}
		out = append(out, Attachment{ID: AttachmentID(c.ID, sha), Filename: k.FileName(c.ID), MimeType: k.MediaType(),
			Purpose: PurposeAttachment, Description: description(k), Data: b})
	}
	return out, nil
}

func description(k domain.AttachmentKind) string {
	switch k {
	case domain.AttachmentSignaturePNG:
		return "Unterschrift der antragstellenden Person (Bild, PNG)"
	case domain.AttachmentISO19794:
		return "Unterschrift der antragstellenden Person (Zeitreihe nach ISO/IEC 19794-7)"
	case domain.AttachmentPadRaw:
		return "Unterschrift der antragstellenden Person (Rohdaten des Pads, Wacom ISDv4)"
	}
	return "Anlage " + string(k)
}
