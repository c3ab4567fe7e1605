//go:build unix

package crashtest

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
)

// TestUpload_CompletedAfterKillAtFullOffset makes, without a kill, what
// a SIGKILL of `syncd serve` leaves when it lands after the last piece of
// an upload was stored (received = length) and before the upload was
// checked and completed. The agent asks the offset and finds it full; the
// server must complete the upload then, or the change referencing it is
// held back ("attachment missing") on every push from then on.
func TestUpload_CompletedAfterKillAtFullOffset(t *testing.T) {
	c := newCluster(t)
	u := c.addLaptop("u", func(l *laptop, ss *store.Session) { c.caseWith(l, ss, 3<<20, false) })
	var sha, rec string
	for s, r := range u.attachments {
		sha, rec = s, r
	}
	st, err := store.Open(c.ctx, u.path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.Enrolment(c.ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err := st.UploadData(c.ctx, rec, sha)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := agent.NewClient(agent.ClientConfig{BaseURL: e.ServerURL, Token: e.Token})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.UploadAttachment(c.ctx, e.Tenant, rec, sha, data); err != nil {
		t.Fatal(err)
	}
	// The state the kill leaves: every piece stored, not complete.
	db := c.mustServerSQL()
	if _, err := db.ExecContext(c.ctx, `UPDATE attachment SET complete = false, completed_at = NULL`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for range 3 {
		c.run("agent", "sync", "--db", u.path)
	}
	if s := c.state(u); s.pending != 0 {
		t.Errorf("after 3 syncs %d changes still pending", s.pending)
	}
	if _, err := cl.DownloadAttachment(c.ctx, e.Tenant, rec, sha); err != nil {
		t.Errorf("download: %v", err)
	}
}
