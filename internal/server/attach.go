package server

// This file holds the resumable attachment upload (after tus 1.0): HEAD
// tells the offset, PATCH appends at it, GET returns a complete
// attachment. The body of a PATCH is stored piece by piece, each piece in
// its own small transaction, so that a connection cut mid-upload keeps
// what arrived and the next PATCH continues from there.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// uploadPiece is how much of a PATCH body is stored per transaction.
const uploadPiece = 256 << 10

// pieceTimeout bounds the write of one piece, which runs even when the
// client has gone (its bytes arrived; keeping them is the point).
const pieceTimeout = 30 * time.Second

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request, dev Device) {
	sha := r.PathValue("sha")
	if !validSHA(sha) {
		writeError(w, http.StatusBadRequest, "attachment address must be a lower-case hex SHA-256")
		return
	}
	switch r.Method {
	case http.MethodHead:
		a, err := s.st.Attachment(r.Context(), dev.Tenant, sha)
		if errors.Is(err, ErrNotFound) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if a.Offset == a.Length && !a.Complete {
			// Every byte arrived but the server stopped (a crash) before
			// checking and completing the upload: do it now, or the
			// device, seeing nothing left to send, would wait for ever.
			ok, err := s.completeUpload(context.WithoutCancel(r.Context()), a)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !ok {
				w.WriteHeader(http.StatusNotFound) // discarded: upload again from 0
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set(syncproto.HeaderUploadOffset, strconv.FormatInt(a.Offset, 10))
		w.Header().Set(syncproto.HeaderUploadLength, strconv.FormatInt(a.Length, 10))
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		s.patchAttachment(w, r, dev, sha)
	case http.MethodGet:
		s.getAttachment(w, r, dev, sha)
	}
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, dev Device, sha string) {
	a, err := s.st.Attachment(r.Context(), dev.Tenant, sha)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.Complete) {
		writeError(w, http.StatusNotFound, "no such attachment")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(a.Length, 10))
	w.Header().Set(syncproto.HeaderUploadSHA256, a.SealedSHA256)
	err = s.st.AttachmentData(r.Context(), dev.Tenant, sha, func(b []byte) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil && r.Context().Err() == nil {
		s.log.Error("attachment download cut short", "tenant", dev.Tenant, "sha256", sha, "err", err)
	}
}

func headerInt(r *http.Request, name string) (int64, bool, error) {
	v := r.Header.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, true, fmt.Errorf("%s must be a number, 0 or more", name)
	}
	return n, true, nil
}

func (s *Server) patchAttachment(w http.ResponseWriter, r *http.Request, dev Device, sha string) {
	ctx := r.Context()
	offset, ok, err := headerInt(r, syncproto.HeaderUploadOffset)
	if err == nil && !ok {
		err = fmt.Errorf("%s required", syncproto.HeaderUploadOffset)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	length, hasLength, err := headerInt(r, syncproto.HeaderUploadLength)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if hasLength && length > syncproto.MaxAttachmentBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "attachment too large")
		return
	}
	sealedSHA := r.Header.Get(syncproto.HeaderUploadSHA256)
	if sealedSHA != "" && !validSHA(sealedSHA) {
		writeError(w, http.StatusBadRequest, syncproto.HeaderUploadSHA256+" must be a lower-case hex SHA-256")
		return
	}
	recordID := r.Header.Get(syncproto.HeaderRecordID)
	if recordID != "" && !domain.ValidID(recordID) {
		writeError(w, http.StatusBadRequest, syncproto.HeaderRecordID+" must be a UUID")
		return
	}

	a, err := s.st.Attachment(ctx, dev.Tenant, sha)
	if errors.Is(err, ErrNotFound) {
		if !hasLength || sealedSHA == "" || recordID == "" {
			writeError(w, http.StatusBadRequest, "a new upload needs Upload-Length, Upload-Sealed-Sha256 and Upload-Record-Id")
			return
		}
		if offset != 0 {
			conflictOffset(w, 0)
			return
		}
		a = Attachment{Tenant: dev.Tenant, SHA256: sha, RecordID: recordID, Length: length, SealedSHA256: sealedSHA,
			CreatedAt: s.now()}
		if err = s.st.StartAttachment(ctx, a); err == nil {
			a, err = s.st.Attachment(ctx, dev.Tenant, sha)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if (hasLength && length != a.Length) || (sealedSHA != "" && sealedSHA != a.SealedSHA256) {
		writeError(w, http.StatusBadRequest, "Upload-Length or Upload-Sealed-Sha256 differ from the upload's")
		return
	}
	if offset != a.Offset {
		conflictOffset(w, a.Offset)
		return
	}
	if a.Complete {
		w.Header().Set(syncproto.HeaderUploadOffset, strconv.FormatInt(a.Offset, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	remaining := a.Length - a.Offset
	if r.ContentLength > remaining {
		writeError(w, http.StatusRequestEntityTooLarge, "body runs past Upload-Length")
		return
	}

	// The pieces are written with a context that outlives the request:
	// when the client cuts the connection, what it sent is kept.
	wctx := context.WithoutCancel(ctx)
	body := http.MaxBytesReader(w, r.Body, remaining)
	buf := make([]byte, uploadPiece)
	off := a.Offset
	for {
		// At the end, one more byte is asked for: the body must end there.
		n, err := io.ReadFull(body, buf[:min(int64(len(buf)), max(a.Length-off, 1))])
		if n > 0 {
			pctx, cancel := context.WithTimeout(wctx, pieceTimeout)
			next, aerr := s.st.AppendAttachment(pctx, dev.Tenant, sha, off, buf[:n])
			cancel()
			if errors.Is(aerr, ErrOffset) {
				conflictOffset(w, next) // another PATCH of the same upload ran meanwhile
				return
			}
			if aerr != nil {
				s.fail(w, r, aerr)
				return
			}
			off = next
		}
		if err == nil {
			continue
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body runs past Upload-Length")
			return
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The body ended, or the connection was cut: what arrived is
			// stored either way, and the answer says how much that is.
			break
		}
		s.log.Info("attachment upload interrupted", "tenant", dev.Tenant, "sha256", sha, "offset", off)
		return
	}
	if off < a.Length {
		w.Header().Set(syncproto.HeaderUploadOffset, strconv.FormatInt(off, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.finishAttachment(w, r, a)
}

// finishAttachment checks a fully received upload against its sealed
// SHA-256: complete (204), or discarded (422).
func (s *Server) finishAttachment(w http.ResponseWriter, r *http.Request, a Attachment) {
	ok, err := s.completeUpload(context.WithoutCancel(r.Context()), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "the uploaded bytes do not match Upload-Sealed-Sha256; upload again")
		return
	}
	w.Header().Set(syncproto.HeaderUploadOffset, strconv.FormatInt(a.Length, 10))
	w.WriteHeader(http.StatusNoContent)
}

// completeUpload checks a whole upload against its announced SHA-256 and
// marks it complete (true), or discards it (false) so that it is sent
// again.
func (s *Server) completeUpload(ctx context.Context, a Attachment) (bool, error) {
	h := sha256.New()
	if err := s.st.AttachmentData(ctx, a.Tenant, a.SHA256, func(b []byte) error {
		h.Write(b)
		return nil
	}); err != nil {
		return false, err
	}
	if hex.EncodeToString(h.Sum(nil)) != a.SealedSHA256 {
		if err := s.st.DiscardAttachment(ctx, a.Tenant, a.SHA256); err != nil {
			return false, err
		}
		s.log.Warn("attachment discarded: bytes do not match their SHA-256", "tenant", a.Tenant, "sha256", a.SHA256)
		return false, nil
	}
	if err := s.st.CompleteAttachment(ctx, a.Tenant, a.SHA256, s.now()); err != nil {
		return false, err
	}
	return true, nil
}

func conflictOffset(w http.ResponseWriter, off int64) {
	w.Header().Set(syncproto.HeaderUploadOffset, strconv.FormatInt(off, 10))
	writeError(w, http.StatusConflict, "upload offset does not match")
}
