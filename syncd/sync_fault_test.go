package main

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

func TestSync_InterruptedPullResumesFromCheckpoint(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	p := newCutProxy(t, strings.TrimPrefix(k.url, "http://"))
	b := k.laptopVia("b", "musterstadt", p.URL())
	fs := make([]domain.Fields, 3000)
	for i := range fs {
		fs[i] = domain.Fields{"place": "Ort", "day": "2026-11-23", "venue_address": strings.Repeat("x", 100)}
	}
	if _, err := a.ss.CreateBatch(k.ctx, domain.TypeVisit, fs); err != nil {
		t.Fatal(err)
	}
	a.sync()

	// The network drops halfway into the pull: half of what a whole pull
	// of another laptop took on the same link (compressed, as agents ask).
	c := k.laptopVia("c", "musterstadt", p.URL())
	before := p.down.Load()
	c.sync()
	whole := p.down.Load() - before
	p.cutAfter(0, whole/2)
	ag, err := agent.New(agent.Config{PullChunk: 500}, b.st)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ag.SyncOnce(k.ctx)
	if err == nil {
		t.Fatal("sync through a cut connection succeeded")
	}
	cp, err := b.st.Checkpoint(k.ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := b.st.RemoteChanges(k.ctx)
	if cp == 0 || kept == 0 || kept >= 3000 {
		t.Fatalf("after the cut: checkpoint %d, %d changes kept; want some but not all", cp, kept)
	}
	rep, err := ag.SyncOnce(k.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pulled != 3000-int(kept) {
		t.Errorf("second pull fetched %d, want the %d missing (resume, not restart)", rep.Pulled, 3000-kept)
	}
	if n, _ := b.st.RemoteChanges(k.ctx); n != 3000 {
		t.Errorf("b holds %d changes, want 3000", n)
	}
	if b.export() != k.export("musterstadt") {
		t.Error("b differs from the server after the resumed pull")
	}
}

func TestSync_InterruptedUploadContinues(t *testing.T) {
	k := startKit(t)
	p := newCutProxy(t, strings.TrimPrefix(k.url, "http://"))
	a := k.laptopVia("a", "musterstadt", p.URL())
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 5<<20) // a 5 MB raw pad recording
	rand.Read(raw)
	if _, _, err := a.ss.PutAttachment(k.ctx, c.ID, store.AnyVersion, domain.AttachmentPadRaw, raw); err != nil {
		t.Fatal(err)
	}
	// Cut the upload at 4 MB of its 5.
	p.cutAfter(4<<20, 0)
	before := p.up.Load()
	ag, err := agent.New(agent.Config{}, a.st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ag.SyncOnce(k.ctx); err != nil {
		// Fine: the next round finishes it.
		if _, err := ag.SyncOnce(k.ctx); err != nil {
			t.Fatal(err)
		}
	}
	sent := p.up.Load() - before
	if p.cuts != 1 {
		t.Fatalf("proxy cut %d connections, want 1", p.cuts)
	}
	if sent > 6<<20 {
		t.Errorf("sent %d bytes for a 5 MB attachment cut at 4 MB: it restarted instead of continuing", sent)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 0 {
		t.Errorf("%d changes still pending", n)
	}
	// Another laptop of the tenant gets the attachment's reference, and
	// the server has the bytes.
	b := k.laptop("b", "musterstadt")
	b.sync()
	got, err := b.ss.Get(k.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sha := got.Fields[domain.AttachmentPrefix+string(domain.AttachmentPadRaw)]
	if sha == "" {
		t.Fatalf("b: case has no pad recording reference: %v", got.Fields)
	}
	e := b.enrolment()
	cl, _ := agent.NewClient(agent.ClientConfig{BaseURL: e.ServerURL, Token: e.Token})
	sealed, err := cl.DownloadAttachment(k.ctx, e.Tenant, c.ID, sha)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := a.st.UploadData(k.ctx, c.ID, sha)
	if !bytes.Equal(sealed, local) {
		t.Errorf("server holds %d bytes, laptop sealed %d", len(sealed), len(local))
	}
}
