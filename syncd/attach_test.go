package main

// Attachments belong to a record: two cases whose attachments have the
// same bytes (a signature PNG from a replayed pad) each keep their own
// copy, under their own key, on the laptop and at the server.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

func TestSync_AttachmentWithSameBytesStaysWithEachCase(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	sig := []byte("\x89PNG the same signature, replayed from the pad")

	// Two cases, each with the same signature bytes.
	var ids [2]string
	var vs [2]int64
	for i := range ids {
		c, err := a.ss.CreateCase(k.ctx, anmeldung())
		if err != nil {
			t.Fatal(err)
		}
		_, v, err := a.ss.PutAttachment(k.ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, sig)
		if err != nil {
			t.Fatalf("case %d: %v", i+1, err)
		}
		if v, err = a.ss.SetCaseStatus(k.ctx, c.ID, v, domain.StatusSigned); err != nil {
			t.Fatal(err)
		}
		ids[i], vs[i] = c.ID, v
	}
	sum := sha256.Sum256(sig)
	sha := hex.EncodeToString(sum[:])

	// The first is sealed and synced: its key is shredded.
	if _, err := a.ss.SetCaseStatus(k.ctx, ids[0], vs[0], domain.StatusSealed); err != nil {
		t.Fatal(err)
	}
	a.sync()
	if _, _, err := a.ss.Case(k.ctx, ids[0]); !errors.Is(err, store.ErrShredded) {
		t.Fatalf("first case after sync: %v, want ErrShredded", err)
	}

	// The second case's signature still opens on the laptop.
	got, err := a.ss.Attachment(k.ctx, ids[1], sha)
	if err != nil || !bytes.Equal(got, sig) {
		t.Fatalf("second case's signature after the first was shredded: %q, %v", got, err)
	}
	if _, err := a.ss.Attachment(k.ctx, ids[0], sha); !errors.Is(err, store.ErrShredded) {
		t.Errorf("first case's signature after it was shredded: %v, want ErrShredded", err)
	}

	// At the town hall each case has its own copy of the signature,
	// opened with its own key.
	srv := k.openServer()
	for i, id := range ids {
		got, err := srv.OpenAttachment(k.ctx, server.AttachmentRef{Tenant: "musterstadt", RecordID: id, SHA256: sha})
		if err != nil || !bytes.Equal(got, sig) {
			t.Errorf("server: case %d's signature: %q, %v", i+1, got, err)
		}
	}

	// Sealed and synced too, the second case is shredded in its turn.
	if _, err := a.ss.SetCaseStatus(k.ctx, ids[1], vs[1], domain.StatusSealed); err != nil {
		t.Fatal(err)
	}
	a.sync()
	if _, err := a.ss.Attachment(k.ctx, ids[1], sha); !errors.Is(err, store.ErrShredded) {
		t.Errorf("second case's signature after it was sealed and synced: %v, want ErrShredded", err)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != 0 {
		t.Errorf("%d changes still pending", n)
	}
}
