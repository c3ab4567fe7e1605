package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/sqlmigrate"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

func statFile(path string) (os.FileInfo, error) { return os.Stat(path) }

func attPath(l *laptop, record, sha string) string {
	return syncproto.AttachmentPath(l.tenant, record, sha)
}

func patchHeaders(off int64, length int, sealed, record string) map[string]string {
	return map[string]string{
		syncproto.HeaderUploadOffset: strconv.FormatInt(off, 10),
		syncproto.HeaderUploadLength: strconv.Itoa(length),
		syncproto.HeaderUploadSHA256: sealed,
		syncproto.HeaderRecordID:     record,
	}
}

// upload sends a whole attachment in one PATCH.
func upload(t *testing.T, l *laptop, sha, record string, data []byte, sealed string) {
	t.Helper()
	st, b, _ := l.k.do("PATCH", attPath(l, record, sha), l.token, data, patchHeaders(0, len(data), sealed, record))
	if st != http.StatusNoContent {
		t.Fatalf("upload: %d %s", st, b)
	}
}

// headOffset returns the upload offset the server reports (-1: 404).
func headOffset(t *testing.T, l *laptop, record, sha string) int64 {
	t.Helper()
	st, _, hdr := l.k.do("HEAD", attPath(l, record, sha), l.token, nil, nil)
	if st == http.StatusNotFound {
		return -1
	}
	if st != http.StatusOK {
		t.Fatalf("HEAD: %d", st)
	}
	off, err := strconv.ParseInt(hdr.Get(syncproto.HeaderUploadOffset), 10, 64)
	if err != nil {
		t.Fatalf("Upload-Offset %q", hdr.Get(syncproto.HeaderUploadOffset))
	}
	return off
}

// A connection cut at 4 MB of a 5 MB upload leaves offset 4 MB, and the
// next PATCH continues from there.
func TestAttachment_ResumesAfterCut(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	data := make([]byte, 5<<20)
	rand.Read(data)
	sha, sealed, record := sha256hex([]byte("plain picture")), sha256hex(data), domain.NewID()
	path := attPath(a, record, sha)

	if off := headOffset(t, a, record, sha); off != -1 {
		t.Fatalf("HEAD before upload: %d", off)
	}
	// A raw HTTP/1.1 request that promises 5 MB, sends 4 MB and hangs up.
	conn, err := net.Dial("tcp", k.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PATCH %s HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n", path, a.token, len(data))
	for h, v := range patchHeaders(0, len(data), sealed, record) {
		fmt.Fprintf(w, "%s: %s\r\n", h, v)
	}
	w.WriteString("\r\n")
	w.Write(data[:4<<20])
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	deadline := time.Now().Add(10 * time.Second)
	for headOffset(t, a, record, sha) != 4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("offset %d after the cut, want %d", headOffset(t, a, record, sha), 4<<20)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Not yet downloadable.
	if st, _, _ := k.do("GET", path, a.token, nil, nil); st != http.StatusNotFound {
		t.Errorf("GET of a partial upload: %d", st)
	}
	// A PATCH at the wrong offset is told the right one.
	st, _, hdr := k.do("PATCH", path, a.token, data[:10], patchHeaders(0, len(data), sealed, record))
	if st != http.StatusConflict || hdr.Get(syncproto.HeaderUploadOffset) != strconv.Itoa(4<<20) {
		t.Fatalf("wrong offset: %d, offset %q", st, hdr.Get(syncproto.HeaderUploadOffset))
	}
	// The rest.
	st, b, hdr := k.do("PATCH", path, a.token, data[4<<20:], patchHeaders(4<<20, len(data), sealed, record))
	if st != http.StatusNoContent || hdr.Get(syncproto.HeaderUploadOffset) != strconv.Itoa(len(data)) {
		t.Fatalf("resume: %d %s", st, b)
	}
	st, got, _ := k.do("GET", path, a.token, nil, nil)
	if st != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET: %d, %d bytes, equal %v", st, len(got), bytes.Equal(got, data))
	}
	// Tenant-scoped: another tenant's device does not see it.
	c := k.enrol("c", tenantB, 4)
	if off := headOffset(t, c, record, sha); off != -1 {
		t.Errorf("other tenant sees offset %d", off)
	}
}

func TestAttachment_Refusals(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	data := bytes.Repeat([]byte("x"), 1000)
	record := domain.NewID()

	// Bytes that do not match their hash: 422, and the upload is gone.
	sha := sha256hex([]byte("one"))
	st, _, _ := k.do("PATCH", attPath(a, record, sha), a.token, data, patchHeaders(0, len(data), sha256hex([]byte("other")), record))
	if st != http.StatusUnprocessableEntity {
		t.Fatalf("hash mismatch: %d", st)
	}
	if off := headOffset(t, a, record, sha); off != -1 {
		t.Fatalf("discarded upload at offset %d", off)
	}
	// Too large.
	st, _, _ = k.do("PATCH", attPath(a, record, sha), a.token, data,
		patchHeaders(0, syncproto.MaxAttachmentBytes+1, sha256hex(data), record))
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", st)
	}
	// A body longer than the upload.
	st, _, _ = k.do("PATCH", attPath(a, record, sha), a.token, data, patchHeaders(0, 10, sha256hex(data), record))
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("body past length: %d", st)
	}
	// Malformed addresses and headers.
	if st, _, _ := k.do("HEAD", attPath(a, record, "ABC"), a.token, nil, nil); st != http.StatusBadRequest {
		t.Errorf("bad address: %d", st)
	}
	h := patchHeaders(0, len(data), sha256hex(data), record)
	delete(h, syncproto.HeaderUploadOffset)
	sha2 := sha256hex([]byte("two"))
	if st, _, _ := k.do("PATCH", attPath(a, record, sha2), a.token, data, h); st != http.StatusBadRequest {
		t.Errorf("no offset: %d", st)
	}
	h = patchHeaders(0, len(data), sha256hex(data), record)
	if st, _, _ := k.do("PATCH", attPath(a, "not-a-uuid", sha2), a.token, data, h); st != http.StatusBadRequest {
		t.Errorf("bad record id: %d", st)
	}
	h = patchHeaders(0, len(data), sha256hex(data), domain.NewID())
	if st, _, _ := k.do("PATCH", attPath(a, record, sha2), a.token, data, h); st != http.StatusBadRequest {
		t.Errorf("header naming another record than the path: %d", st)
	}
	// The first protocol's path, by SHA-256 alone, is gone.
	if st, _, _ := k.do("HEAD", "/v1/tenants/"+a.tenant+"/attachments/"+sha2, a.token, nil, nil); st != http.StatusGone {
		t.Errorf("HEAD at the path without a record: %d", st)
	}
	// In two PATCHes, the second repeated (idempotent once complete).
	h = patchHeaders(0, len(data), sha256hex(data), record)
	if st, _, hdr := k.do("PATCH", attPath(a, record, sha2), a.token, data[:400], h); st != http.StatusNoContent ||
		hdr.Get(syncproto.HeaderUploadOffset) != "400" {
		t.Fatalf("first half: %d %v", st, hdr)
	}
	h[syncproto.HeaderUploadOffset] = "400"
	for i := 0; i < 2; i++ {
		body := data[400:]
		if i == 1 {
			h[syncproto.HeaderUploadOffset], body = "1000", nil
		}
		if st, b, _ := k.do("PATCH", attPath(a, record, sha2), a.token, body, h); st != http.StatusNoContent {
			t.Fatalf("second half (%d): %d %s", i, st, b)
		}
	}
	if st, got, _ := k.do("GET", attPath(a, record, sha2), a.token, nil, nil); st != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET %d", st)
	}
	// Upload-Length cannot change.
	h[syncproto.HeaderUploadLength] = "2000"
	if st, _, _ := k.do("PATCH", attPath(a, record, sha2), a.token, nil, h); st != http.StatusBadRequest {
		t.Errorf("changed length: %d", st)
	}
	if st, body, _ := k.do("PUT", attPath(a, record, sha2), a.token, nil, nil); st != http.StatusMethodNotAllowed ||
		!strings.Contains(string(body), "error") {
		t.Errorf("PUT: %d", st)
	}
}

// Two records whose attachments have the same plain bytes (a replayed
// signature) each have their own upload, sealed under their own key; a
// change of one record is not satisfied by the other's upload, and a
// discarded upload of one leaves the other's alone.
func TestAttachment_PerRecord(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c1, k1 := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft"})
	c2, k2 := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft"})
	wantStatus(t, a.push([]syncproto.RecordKey{k1, k2}, c1, c2), syncproto.StatusApplied, syncproto.StatusApplied)
	plain := []byte("\x89PNG one signature")
	sha := sha256hex(plain)
	sealed := map[string][]byte{}
	for _, id := range []string{c1.RecordID, c2.RecordID} {
		b, err := crypto.SealValue(a.keys[id], plain, []byte("attachment:"+sha))
		if err != nil {
			t.Fatal(err)
		}
		sealed[id] = b
	}

	upload(t, a, sha, c1.RecordID, sealed[c1.RecordID], sha256hex(sealed[c1.RecordID]))
	att1 := a.change("update", domain.TypeCase, c1.RecordID, 1, nil, domain.Fields{"attachment.signature_png": sha})
	att2 := a.change("update", domain.TypeCase, c2.RecordID, 1, nil, domain.Fields{"attachment.signature_png": sha})
	rs := a.push(nil, att1, att2)
	wantStatus(t, rs, syncproto.StatusApplied, syncproto.StatusRetry)
	if rs[1].Reason != "attachment missing" {
		t.Errorf("second record's change: %+v", rs[1])
	}

	// An upload for the second record whose bytes do not match is
	// discarded; the first record's stays.
	bad := sealed[c2.RecordID]
	if st, b, _ := k.do("PATCH", attPath(a, c2.RecordID, sha), a.token, bad,
		patchHeaders(0, len(bad), sha256hex([]byte("other")), c2.RecordID)); st != http.StatusUnprocessableEntity {
		t.Fatalf("mismatching upload for the second record: %d %s", st, b)
	}
	upload(t, a, sha, c2.RecordID, sealed[c2.RecordID], sha256hex(sealed[c2.RecordID]))
	wantStatus(t, a.push(nil, att2), syncproto.StatusApplied)

	for _, id := range []string{c1.RecordID, c2.RecordID} {
		st, got, _ := k.do("GET", attPath(a, id, sha), a.token, nil, nil)
		if st != http.StatusOK || !bytes.Equal(got, sealed[id]) {
			t.Errorf("GET of record %s's attachment: %d, its own bytes %v", id, st, bytes.Equal(got, sealed[id]))
		}
		// The back office opens each with its own record's key.
		opened, err := k.srv.OpenAttachment(k.ctx, AttachmentRef{Tenant: tenantA, RecordID: id, SHA256: sha})
		if err != nil || !bytes.Equal(opened, plain) {
			t.Errorf("open record %s's attachment: %v", id, err)
		}
	}
	// A record with no upload of these bytes has none.
	if _, err := k.srv.OpenAttachment(k.ctx, AttachmentRef{Tenant: tenantA, RecordID: domain.NewID(), SHA256: sha}); !errors.Is(err, ErrNotFound) {
		t.Errorf("open an attachment never uploaded: %v, want ErrNotFound", err)
	}
}

// A database of the first schema, with an upload complete and one half
// done, keeps both after the upgrade, each under the record it was made
// for.
func TestMigrate_AttachmentsKeepTheirRecord(t *testing.T) {
	sqliteOnly(t, "migrates an SQLite file of the first schema; PostgreSQL starts at the schema SQLite has after it")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	steps, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := sqlmigrate.Up(ctx, db, steps, 1); err != nil {
		t.Fatal(err)
	}
	rec1, rec2 := domain.NewID(), domain.NewID()
	whole, half := []byte("sealed bytes of the first"), []byte("sealed bytes of the sec")
	sha1, sha2 := sha256hex([]byte("one")), sha256hex([]byte("two"))
	if _, err := db.ExecContext(ctx, `
		INSERT INTO attachment(tenant, sha256, record_id, length, sealed_sha256, received, complete, created_at, completed_at)
		VALUES ('t', ?, ?, ?, ?, ?, 1, 'x', 'y'), ('t', ?, ?, 40, 'abc', ?, 0, 'x', NULL)`,
		sha1, rec1, len(whole), sha256hex(whole), len(whole), sha2, rec2, len(half)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO attachment_piece(tenant, sha256, pos, data)
		VALUES ('t', ?, 0, ?), ('t', ?, 10, ?), ('t', ?, 0, ?)`,
		sha1, whole[:10], sha1, whole[10:], sha2, half); err != nil {
		t.Fatal(err)
	}
	db.Close()

	srv, err := Open(ctx, Config{DBPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, c := range []struct {
		ref      AttachmentRef
		data     []byte
		complete bool
	}{
		{AttachmentRef{"t", rec1, sha1}, whole, true},
		{AttachmentRef{"t", rec2, sha2}, half, false},
	} {
		a, err := srv.st.Attachment(ctx, c.ref)
		if err != nil || a.Complete != c.complete || a.Offset != int64(len(c.data)) {
			t.Errorf("%s after the upgrade: %+v, %v", c.ref, a, err)
			continue
		}
		var got []byte
		if err := srv.st.AttachmentData(ctx, c.ref, func(b []byte) error { got = append(got, b...); return nil }); err != nil ||
			!bytes.Equal(got, c.data) {
			t.Errorf("%s's bytes after the upgrade: %q, %v", c.ref, got, err)
		}
	}
	if _, err := srv.st.Attachment(ctx, AttachmentRef{"t", rec2, sha1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("the first record's upload under the second record: %v", err)
	}
}

// A record whose change was accepted, under the first schema, on the
// strength of another record's upload of the same bytes gets its own
// upload, sealed under its own key, at the first start after the upgrade.
func TestOpen_CopiesAttachmentSharedUnderTheFirstSchema(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	c1, k1 := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft"})
	c2, k2 := a.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft"})
	wantStatus(t, a.push([]syncproto.RecordKey{k1, k2}, c1, c2), syncproto.StatusApplied, syncproto.StatusApplied)
	plain := []byte("\x89PNG one signature")
	sha := sha256hex(plain)
	for _, id := range []string{c1.RecordID, c2.RecordID} {
		b, err := crypto.SealValue(a.keys[id], plain, []byte("attachment:"+sha))
		if err != nil {
			t.Fatal(err)
		}
		upload(t, a, sha, id, b, sha256hex(b))
	}
	wantStatus(t, a.push(nil,
		a.change("update", domain.TypeCase, c1.RecordID, 1, nil, domain.Fields{"attachment.signature_png": sha}),
		a.change("update", domain.TypeCase, c2.RecordID, 1, nil, domain.Fields{"attachment.signature_png": sha})),
		syncproto.StatusApplied, syncproto.StatusApplied)

	// What the first schema left: the second record has no upload, and
	// the database is marked by migration 0002.
	for _, q := range []string{`DELETE FROM attachment_piece WHERE record_id = ?`, `DELETE FROM attachment WHERE record_id = ?`} {
		k.rawExec(q, c2.RecordID)
	}
	k.rawExec(`INSERT INTO meta(key, value) VALUES ('attachments_to_copy', '1')
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`)
	ref2 := AttachmentRef{Tenant: tenantA, RecordID: c2.RecordID, SHA256: sha}
	if _, err := k.srv.OpenAttachment(k.ctx, ref2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before the restart: %v", err)
	}

	k.ts.Close()
	k.srv.Close()
	k.open()
	got, err := k.srv.OpenAttachment(k.ctx, ref2)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("second record's attachment after the restart: %q, %v", got, err)
	}
	st, sealed2, _ := k.do("GET", attPath(a, c2.RecordID, sha), a.token, nil, nil)
	_, sealed1, _ := k.do("GET", attPath(a, c1.RecordID, sha), a.token, nil, nil)
	if st != http.StatusOK || bytes.Equal(sealed1, sealed2) {
		t.Errorf("GET of the copy: %d, same sealed bytes as the first record's: %v", st, bytes.Equal(sealed1, sealed2))
	}
	if mark, _ := k.srv.st.Meta(k.ctx, metaAttachmentsToCopy); mark != "" {
		t.Errorf("mark %q left after the copy", mark)
	}
}
