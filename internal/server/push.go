package server

// This file takes a device's push: it checks the whole request first
// (nothing of a malformed request is applied), then stores the seals and
// record keys and applies the changes in order, all in one transaction.

import (
	"context"
	"fmt"
	"strings"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// badRequest is an error the client caused; the handler answers 400.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{msg: fmt.Sprintf(format, args...)} }

// Bounds of the free-text parts of a change.
const (
	maxIDLen    = 128
	maxTextLen  = 256
	maxFieldCnt = 4096
)

// validatePush checks every part of a push; the first problem is the
// answer (field names and ids only, never values).
func validatePush(req *syncproto.PushRequest) error {
	for i, sl := range req.Seals {
		if sl.ID == "" || len(sl.ID) > maxIDLen || sl.JWE == "" {
			return badf("seal %d: id and jwe required", i)
		}
	}
	for i, k := range req.Keys {
		if !domain.ValidID(k.RecordID) {
			return badf("key %d: record id is not a UUID", i)
		}
		if k.SealID == "" || len(k.SealID) > maxIDLen || len(k.Wrapped) == 0 {
			return badf("key %d: seal id and wrapped key required", i)
		}
	}
	for i := range req.Changes {
		if err := validateChange(&req.Changes[i]); err != nil {
			return badf("change %d: %v", i, err)
		}
	}
	return validateAuditHead(req.Audit)
}

func validateChange(c *syncproto.Change) error {
	switch {
	case !domain.ValidID(c.ID):
		return fmt.Errorf("id is not a UUID")
	case !domain.ValidID(c.RecordID):
		return fmt.Errorf("record id is not a UUID")
	case c.Op != "create" && c.Op != "update" && c.Op != "delete":
		return fmt.Errorf("op %q", c.Op)
	case !domain.RecordType(c.RecordType).Valid():
		return fmt.Errorf("record type %q", c.RecordType)
	case c.BaseVersion < 0:
		return fmt.Errorf("base version %d", c.BaseVersion)
	case c.HLC == "":
		return fmt.Errorf("no hlc")
	case len(c.Clerk) > maxTextLen || len(c.CreatedAt) > maxTextLen:
		return fmt.Errorf("clerk or created_at too long")
	case len(c.Fields) > maxFieldCnt:
		return fmt.Errorf("%d fields", len(c.Fields))
	}
	if _, err := hlc.Parse(c.HLC); err != nil {
		return fmt.Errorf("hlc: %w", err)
	}
	typ := domain.RecordType(c.RecordType)
	named := make(map[string]bool, len(c.Fields))
	personal := false
	for _, f := range c.Fields {
		if err := domain.CheckFieldName(f); err != nil {
			return err
		}
		if named[f] {
			return fmt.Errorf("field %q named twice", f)
		}
		named[f] = true
		if domain.IsPersonal(typ, f) {
			personal = true
		} else if _, ok := c.Plain[f]; !ok {
			return fmt.Errorf("plain field %q without its values", f)
		}
	}
	for f := range c.Plain {
		if !named[f] {
			return fmt.Errorf("plain values of %q, a field the change does not name", f)
		}
		if domain.IsPersonal(typ, f) {
			return fmt.Errorf("personal field %q sent in clear", f)
		}
	}
	if personal && len(c.Secret) == 0 {
		return fmt.Errorf("personal fields without sealed values")
	}
	return nil
}

// push applies a validated push of device dev.
func (s *Server) push(ctx context.Context, dev Device, req *syncproto.PushRequest) (syncproto.PushResponse, error) {
	resp := syncproto.PushResponse{Results: make([]syncproto.PushResult, len(req.Changes))}
	tenant := dev.Tenant
	// What needs no state is done before the write transaction, so that
	// concurrent pushes do it in parallel.
	ins := make([]incoming, len(req.Changes))
	ids := make([]string, len(req.Changes))
	recordIDs := make([]string, 0, len(req.Changes))
	seenRecord := make(map[string]bool, len(req.Changes))
	for i := range req.Changes {
		ch := &req.Changes[i]
		ch.Device = dev.ID // the token says who sent it, not the body
		var err error
		if ins[i], err = newIncoming(ch); err != nil {
			return resp, err
		}
		ids[i] = ch.ID
		if !seenRecord[ch.RecordID] {
			seenRecord[ch.RecordID] = true
			recordIDs = append(recordIDs, ch.RecordID)
		}
	}
	refusedKeys, err := s.checkPushKeys(ctx, tenant, req)
	if err != nil {
		return resp, err
	}
	var chainFlag string // the audit chain went back or forked (chain.go)
	err = s.st.Update(ctx, tenant, func(tx Tx) error {
		now := s.now()
		seals := make(map[string]bool, len(req.Seals))
		rows := make([]SealRow, 0, len(req.Seals))
		for _, sl := range req.Seals {
			rows = append(rows, SealRow{Tenant: tenant, ID: sl.ID, Device: dev.ID, JWE: sl.JWE, CreatedAt: now})
			seals[sl.ID] = true
		}
		if err := tx.PutSeals(ctx, rows); err != nil {
			return err
		}
		keys := make(map[string]bool, len(req.Keys)) // records with a key: sent now or stored
		krows := make([]RecordKey, 0, len(req.Keys))
		for i, k := range req.Keys {
			if !seals[k.SealID] {
				_, ok, err := tx.Seal(ctx, tenant, k.SealID)
				if err != nil {
					return err
				}
				if !ok {
					return badf("key %d: unknown seal %s", i, k.SealID)
				}
				seals[k.SealID] = true
			}
			krows = append(krows, RecordKey{Tenant: tenant, RecordID: k.RecordID, SealID: k.SealID, Wrapped: k.Wrapped,
				OriginDevice: dev.ID, CreatedAt: now})
			keys[k.RecordID] = true
		}
		if err := tx.PutRecordKeys(ctx, krows); err != nil {
			return err
		}
		var ask []string
		for _, id := range recordIDs {
			if !keys[id] {
				ask = append(ask, id)
			}
		}
		stored, err := tx.HasRecordKeys(ctx, tenant, ask)
		if err != nil {
			return err
		}
		for id := range stored {
			keys[id] = true
		}
		known, err := tx.Changes(ctx, ids)
		if err != nil {
			return err
		}
		a, err := s.newApplier(ctx, tx, tenant)
		if err != nil {
			return err
		}
		if err := a.prefetch(recordIDs); err != nil {
			return err
		}

		fourEyes := &fourEyesCheck{tx: tx, tenant: tenant}
		done := make(map[string]int, len(req.Changes)) // change id -> index of its result
		held := map[string]bool{}                      // records with a change held back (retry)
		rowOf := make([]int, len(req.Changes))         // index of each change's feed row, -1 if none
		for i := range req.Changes {
			ch := &req.Changes[i]
			res := &resp.Results[i]
			*res, rowOf[i] = syncproto.PushResult{ID: ch.ID}, -1
			if j, ok := done[ch.ID]; ok {
				*res, rowOf[i] = resp.Results[j], rowOf[j]
				if res.Status == syncproto.StatusApplied {
					res.Status = syncproto.StatusDuplicate
				}
				continue
			}
			done[ch.ID] = i
			if ref, ok := known[ch.ID]; ok {
				if ref.Tenant != tenant {
					res.Status, res.Reason = syncproto.StatusRejected, syncproto.ReasonIDInUse
				} else {
					res.Status, res.Seq, res.Version = syncproto.StatusDuplicate, ref.Seq, ref.Version
				}
				continue
			}
			if why, ok := refusedKeys[ch.RecordID]; ok && !keys[ch.RecordID] {
				res.Status, res.Reason = syncproto.StatusRejected, why
				continue
			}
			if held[ch.RecordID] {
				res.Status, res.Reason = syncproto.StatusRetry, "an earlier change of the record is not yet accepted"
				continue
			}
			if why, err := s.missing(ctx, tx, tenant, ch, keys); err != nil {
				return err
			} else if why != "" {
				held[ch.RecordID] = true
				res.Status, res.Reason = syncproto.StatusRetry, why
				continue
			}
			if why, err := fourEyes.refusal(ctx, a, ch); err != nil {
				return err
			} else if why != "" {
				res.Status, res.Reason = syncproto.StatusRejected, why
				continue
			}
			restamped := a.receive(ch)
			if *res, rowOf[i], err = a.apply(ins[i]); err != nil {
				return err
			}
			res.Restamped = restamped
		}
		if err := a.flush(); err != nil {
			return err
		}
		for i, r := range rowOf {
			if r >= 0 {
				resp.Results[i].Seq = a.seq(r)
			}
		}
		resp.AuditKnown, chainFlag, err = s.checkChain(ctx, tx, dev, req.Audit)
		return err
	})
	if err != nil {
		return syncproto.PushResponse{}, err
	}
	if chainFlag != "" {
		s.log.Warn("device audit chain did not extend the known head", "tenant", tenant, "device", dev.ID, "finding", chainFlag)
	}
	return resp, nil
}

// missing says what a change waits for: its record's key (keys holds the
// records that have one) or an attachment it references; "" if nothing.
func (s *Server) missing(ctx context.Context, tx Tx, tenant string, ch *syncproto.Change, keys map[string]bool) (string, error) {
	// Conflict records are written by the server and have no key; the
	// clerk's resolution carries plain fields only.
	if ch.RecordType != string(domain.TypeConflict) && !keys[ch.RecordID] {
		return "record key missing", nil
	}
	for _, f := range ch.Fields {
		if !strings.HasPrefix(f, domain.AttachmentPrefix) {
			continue
		}
		sha := ch.Plain[f].New
		if sha == "" {
			continue
		}
		// The record's own upload: another record's copy of the same
		// bytes is sealed under that record's key.
		ok, err := tx.AttachmentComplete(ctx, AttachmentRef{Tenant: tenant, RecordID: ch.RecordID, SHA256: sha})
		if err != nil {
			return "", err
		}
		if !ok {
			return "attachment missing", nil
		}
	}
	return "", nil
}
