package server

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

func statFile(path string) (os.FileInfo, error) { return os.Stat(path) }

func attPath(l *laptop, sha string) string {
	return "/v1/tenants/" + l.tenant + "/attachments/" + sha
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
	st, b, _ := l.k.do("PATCH", attPath(l, sha), l.token, data, patchHeaders(0, len(data), sealed, record))
	if st != http.StatusNoContent {
		t.Fatalf("upload: %d %s", st, b)
	}
}

// headOffset returns the upload offset the server reports (-1: 404).
func headOffset(t *testing.T, l *laptop, sha string) int64 {
	t.Helper()
	st, _, hdr := l.k.do("HEAD", attPath(l, sha), l.token, nil, nil)
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
	path := attPath(a, sha)

	if off := headOffset(t, a, sha); off != -1 {
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
	for headOffset(t, a, sha) != 4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("offset %d after the cut, want %d", headOffset(t, a, sha), 4<<20)
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
	if off := headOffset(t, c, sha); off != -1 {
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
	st, _, _ := k.do("PATCH", attPath(a, sha), a.token, data, patchHeaders(0, len(data), sha256hex([]byte("other")), record))
	if st != http.StatusUnprocessableEntity {
		t.Fatalf("hash mismatch: %d", st)
	}
	if off := headOffset(t, a, sha); off != -1 {
		t.Fatalf("discarded upload at offset %d", off)
	}
	// Too large.
	st, _, _ = k.do("PATCH", attPath(a, sha), a.token, data,
		patchHeaders(0, syncproto.MaxAttachmentBytes+1, sha256hex(data), record))
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", st)
	}
	// A body longer than the upload.
	st, _, _ = k.do("PATCH", attPath(a, sha), a.token, data, patchHeaders(0, 10, sha256hex(data), record))
	if st != http.StatusRequestEntityTooLarge {
		t.Errorf("body past length: %d", st)
	}
	// Malformed addresses and headers.
	if st, _, _ := k.do("HEAD", attPath(a, "ABC"), a.token, nil, nil); st != http.StatusBadRequest {
		t.Errorf("bad address: %d", st)
	}
	h := patchHeaders(0, len(data), sha256hex(data), record)
	delete(h, syncproto.HeaderUploadOffset)
	sha2 := sha256hex([]byte("two"))
	if st, _, _ := k.do("PATCH", attPath(a, sha2), a.token, data, h); st != http.StatusBadRequest {
		t.Errorf("no offset: %d", st)
	}
	h = patchHeaders(0, len(data), sha256hex(data), "not-a-uuid")
	if st, _, _ := k.do("PATCH", attPath(a, sha2), a.token, data, h); st != http.StatusBadRequest {
		t.Errorf("bad record id: %d", st)
	}
	// In two PATCHes, the second repeated (idempotent once complete).
	h = patchHeaders(0, len(data), sha256hex(data), record)
	if st, _, hdr := k.do("PATCH", attPath(a, sha2), a.token, data[:400], h); st != http.StatusNoContent ||
		hdr.Get(syncproto.HeaderUploadOffset) != "400" {
		t.Fatalf("first half: %d %v", st, hdr)
	}
	h[syncproto.HeaderUploadOffset] = "400"
	for i := 0; i < 2; i++ {
		body := data[400:]
		if i == 1 {
			h[syncproto.HeaderUploadOffset], body = "1000", nil
		}
		if st, b, _ := k.do("PATCH", attPath(a, sha2), a.token, body, h); st != http.StatusNoContent {
			t.Fatalf("second half (%d): %d %s", i, st, b)
		}
	}
	if st, got, _ := k.do("GET", attPath(a, sha2), a.token, nil, nil); st != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET %d", st)
	}
	// Upload-Length cannot change.
	h[syncproto.HeaderUploadLength] = "2000"
	if st, _, _ := k.do("PATCH", attPath(a, sha2), a.token, nil, h); st != http.StatusBadRequest {
		t.Errorf("changed length: %d", st)
	}
	if st, body, _ := k.do("PUT", attPath(a, sha2), a.token, nil, nil); st != http.StatusMethodNotAllowed ||
		!strings.Contains(string(body), "error") {
		t.Errorf("PUT: %d", st)
	}
}
