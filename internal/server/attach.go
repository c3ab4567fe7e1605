package server

// This file holds the resumable attachment upload (after tus 1.0): HEAD
// tells the offset, PATCH appends at it, GET returns a complete
// attachment. An attachment is addressed by its record and the SHA-256 of
// its plain bytes: two records with the same bytes have one upload each,
// sealed under each record's own key. The body of a PATCH is stored piece
// by piece, each piece in its own small transaction, so that a connection
// cut mid-upload keeps what arrived and the next PATCH continues from
// there.

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

	"github.com/buergerkoffer/kit/internal/crypto"
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

// handleLegacyAttachment answers the first protocol's path, which named an
// attachment by its SHA-256 alone: that cannot say whose it is.
func (s *Server) handleLegacyAttachment(w http.ResponseWriter, r *http.Request, dev Device) {
	writeError(w, http.StatusGone, "attachments are addressed by record: /v1/tenants/T/records/R/attachments/SHA")
}

func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request, dev Device) {
	ref := AttachmentRef{Tenant: dev.Tenant, RecordID: r.PathValue("record"), SHA256: r.PathValue("sha")}
	if !validSHA(ref.SHA256) {
		writeError(w, http.StatusBadRequest, "attachment address must be a lower-case hex SHA-256")
		return
	}
	if !domain.ValidID(ref.RecordID) {
		writeError(w, http.StatusBadRequest, "attachment's record must be a UUID")
		return
	}
	switch r.Method {
	case http.MethodHead:
		a, err := s.st.Attachment(r.Context(), ref)
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
		s.patchAttachment(w, r, ref)
	case http.MethodGet:
		s.getAttachment(w, r, ref)
	}
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, ref AttachmentRef) {
	a, err := s.st.Attachment(r.Context(), ref)
	if errors.Is(err, ErrNotFound) || (err == nil && !a.Complete) {
		writeError(w, http.StatusNotFound, "no such attachment")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The headers go out with the first piece: until then a failure (a
	// database that is away) can still be answered with its own status.
	started := false
	start := func() {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(a.Length, 10))
		w.Header().Set(syncproto.HeaderUploadSHA256, a.SealedSHA256)
	}
	err = s.st.AttachmentData(r.Context(), ref, func(b []byte) error {
		if !started {
			start()
		}
		_, err := w.Write(b)
		return err
	})
	switch {
	case err == nil && !started: // no piece: an empty attachment
		start()
	case err != nil && !started:
		s.fail(w, r, err)
	case err != nil && r.Context().Err() == nil:
		s.log.Error("attachment download cut short", "tenant", ref.Tenant, "record", ref.RecordID, "sha256", ref.SHA256,
			"err", err)
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

func (s *Server) patchAttachment(w http.ResponseWriter, r *http.Request, ref AttachmentRef) {
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
	if id := r.Header.Get(syncproto.HeaderRecordID); id != "" && id != ref.RecordID {
		writeError(w, http.StatusBadRequest, syncproto.HeaderRecordID+" names another record than the path")
		return
	}

	a, err := s.st.Attachment(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		if !hasLength || sealedSHA == "" {
			writeError(w, http.StatusBadRequest, "a new upload needs Upload-Length and Upload-Sealed-Sha256")
			return
		}
		if offset != 0 {
			conflictOffset(w, 0)
			return
		}
		a = Attachment{AttachmentRef: ref, Length: length, SealedSHA256: sealedSHA, CreatedAt: s.now()}
		if err = s.st.StartAttachment(ctx, a); err == nil {
			a, err = s.st.Attachment(ctx, ref)
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
			next, aerr := s.st.AppendAttachment(pctx, ref, off, buf[:n])
			cancel()
			if errors.Is(aerr, ErrOffset) {
				conflictOffset(w, next) // another PATCH of the same upload ran meanwhile
				return
			}
			if aerr != nil {
				s.fail(w, r, aerr)
				return
			}
			s.metrics.uploadBytes.WithLabelValues(ref.Tenant).Add(float64(next - off))
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
		s.log.Info("attachment upload interrupted", "tenant", ref.Tenant, "record", ref.RecordID, "sha256", ref.SHA256,
			"offset", off)
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
	if err := s.st.AttachmentData(ctx, a.AttachmentRef, func(b []byte) error {
		h.Write(b)
		return nil
	}); err != nil {
		return false, err
	}
	if hex.EncodeToString(h.Sum(nil)) != a.SealedSHA256 {
		if err := s.st.DiscardAttachment(ctx, a.AttachmentRef); err != nil {
			return false, err
		}
		s.log.Warn("attachment discarded: bytes do not match their SHA-256", "tenant", a.Tenant, "record", a.RecordID,
			"sha256", a.SHA256)
		s.metrics.uploads.WithLabelValues(a.Tenant, uploadDiscarded).Inc()
		return false, nil
	}
	if err := s.st.CompleteAttachment(ctx, a.AttachmentRef, s.now()); err != nil {
		return false, err
	}
	s.metrics.uploads.WithLabelValues(a.Tenant, uploadCompleted).Inc()
	return true, nil
}

func conflictOffset(w http.ResponseWriter, off int64) {
	w.Header().Set(syncproto.HeaderUploadOffset, strconv.FormatInt(off, 10))
	writeError(w, http.StatusConflict, "upload offset does not match")
}

// attachmentAAD binds an attachment's sealed bytes to its content address,
// as the field store seals them.
func attachmentAAD(sha string) []byte { return []byte("attachment:" + sha) }

// OpenAttachment returns a record's attachment in clear, opened with that
// record's key and checked against its SHA-256 (for the back office and
// tests); ErrNotFound if no complete upload of it is here.
func (s *Server) OpenAttachment(ctx context.Context, ref AttachmentRef) ([]byte, error) {
	a, err := s.st.Attachment(ctx, ref)
	if err == nil && !a.Complete {
		err = fmt.Errorf("attachment %s: not complete: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("server: open attachment: %w", err)
	}
	sealed := make([]byte, 0, a.Length)
	if err := s.st.AttachmentData(ctx, ref, func(b []byte) error {
		sealed = append(sealed, b...)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("server: open attachment: %w", err)
	}
	k, ok, err := s.st.RecordKey(ctx, ref.Tenant, ref.RecordID)
	if err != nil {
		return nil, fmt.Errorf("server: open attachment %s: %w", ref, err)
	}
	if !ok {
		return nil, fmt.Errorf("server: open attachment %s: record has no key: %w", ref, ErrNotFound)
	}
	ck, err := s.contentKey(ctx, s.st, k)
	if err != nil {
		return nil, fmt.Errorf("server: open attachment %s: %w", ref, err)
	}
	defer ck.Zero()
	plain, err := crypto.OpenValue(ck, sealed, attachmentAAD(ref.SHA256))
	if err != nil {
		return nil, fmt.Errorf("server: open attachment %s: %w", ref, err)
	}
	if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, fmt.Errorf("server: open attachment %s: content does not match its address", ref)
	}
	return plain, nil
}

// metaAttachmentsToCopy marks a database whose uploads were keyed by
// SHA-256 alone (set by migration 0002): copySharedAttachments runs once.
const metaAttachmentsToCopy = "attachments_to_copy"

// copySharedAttachments gives every record that references bytes it has
// no upload of, because under the first schema another record's upload of
// the same bytes was taken for it, its own upload: the donor's bytes
// opened with the donor's key and sealed under the record's own. Run once
// after migration 0002; a record that cannot be copied (no key, a donor
// that does not open) is logged and left. A database error leaves the
// mark, so the next start tries again.
func (s *Server) copySharedAttachments(ctx context.Context) error {
	mark, err := s.st.Meta(ctx, metaAttachmentsToCopy)
	if err != nil || mark == "" {
		return err
	}
	copied, left := 0, 0
	err = s.st.SharedAttachments(ctx, func(missing, donor AttachmentRef) error {
		err := s.copyAttachment(ctx, missing, donor)
		if errors.Is(err, errNoCopy) {
			left++
			s.log.Warn("attachment not copied for its record", "tenant", missing.Tenant, "record", missing.RecordID,
				"sha256", missing.SHA256, "from_record", donor.RecordID, "err", err)
			return nil
		}
		if err != nil {
			return err
		}
		copied++
		return nil
	})
	if err != nil {
		return fmt.Errorf("server: copy shared attachments: %w", err)
	}
	if copied+left > 0 {
		s.log.Info("attachments shared between records copied for each", "copied", copied, "left", left)
	}
	return s.st.Update(ctx, "", func(tx Tx) error { return tx.SetMeta(ctx, metaAttachmentsToCopy, "") })
}

// errNoCopy: this record's attachment cannot be made from the donor.
var errNoCopy = errors.New("no copy possible")

// copyAttachment stores donor's bytes, sealed under missing's record key,
// as missing's complete upload.
func (s *Server) copyAttachment(ctx context.Context, missing, donor AttachmentRef) error {
	plain, err := s.OpenAttachment(ctx, donor)
	if err != nil {
		return fmt.Errorf("%w: open %s: %w", errNoCopy, donor, err)
	}
	k, ok, err := s.st.RecordKey(ctx, missing.Tenant, missing.RecordID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: record has no key", errNoCopy)
	}
	ck, err := s.contentKey(ctx, s.st, k)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoCopy, err)
	}
	defer ck.Zero()
	sealed, err := crypto.SealValue(ck, plain, attachmentAAD(missing.SHA256))
	clear(plain)
	if err != nil {
		return fmt.Errorf("seal %s: %w", missing, err)
	}
	sum := sha256.Sum256(sealed)
	a := Attachment{AttachmentRef: missing, Length: int64(len(sealed)), SealedSHA256: hex.EncodeToString(sum[:]),
		CreatedAt: s.now()}
	if err := s.st.StartAttachment(ctx, a); err != nil {
		return err
	}
	for off := int64(0); off < a.Length; {
		next, err := s.st.AppendAttachment(ctx, missing, off, sealed[off:min(off+uploadPiece, a.Length)])
		if errors.Is(err, ErrOffset) {
			return fmt.Errorf("%w: an upload of it is under way", errNoCopy)
		}
		if err != nil {
			return err
		}
		off = next
	}
	return s.st.CompleteAttachment(ctx, missing, s.now())
}
