package agent

import (
	"context"

	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Local is the field store as the agent sees it; *store.Store implements
// it. Nothing here opens personal data: the agent moves sealed bytes,
// field names and versions.
type Local interface {
	// Enrolment returns what `syncd agent enroll` stored, or an error
	// wrapping store.ErrNotEnrolled.
	Enrolment(ctx context.Context) (store.Enrolment, error)
	// ClaimPush returns up to max pending changes not in flight, in
	// outbox order, only of records whose content key the app has sealed
	// for the server, with the seals and keys to send along and the head
	// of the laptop's audit chain (which the server anchors), and marks
	// them in flight as batch before it returns. No changes: nothing to
	// push.
	ClaimPush(ctx context.Context, max int, batch int64) (syncproto.PushRequest, error)
	// ReleasePush clears the in-flight marks of a claimed batch that was
	// not sent: its changes are pending again.
	ReleasePush(ctx context.Context, req syncproto.PushRequest) error
	// ResetPush clears every in-flight mark (left by a push that ended
	// without recording the answer) and returns how many there were.
	ResetPush(ctx context.Context) (int64, error)
	// AckPush records the server's answers: applied and duplicate changes
	// count as pushed, rejected ones are marked with the reason, retry
	// ones stay pending, and the batch's in-flight marks are cleared.
	// Signed cases that are now fully acknowledged are crypto-shredded in
	// the same step, and the audit chain position the server now holds is
	// kept for the next push.
	AckPush(ctx context.Context, req syncproto.PushRequest, resp syncproto.PushResponse) error
	// PendingUploads calls fn for each attachment not yet uploaded whose
	// record key is sealed for the server.
	PendingUploads(ctx context.Context, fn func(store.Upload) error) error
	// UploadData returns the sealed bytes of a record's attachment.
	UploadData(ctx context.Context, recordID, sha string) ([]byte, error)
	// MarkUploaded records that the server holds the whole of a record's
	// attachment.
	MarkUploaded(ctx context.Context, recordID, sha string) error
	// Checkpoint returns the seq after which the next pull starts.
	Checkpoint(ctx context.Context) (int64, error)
	// ApplyPull stores a chunk of a pull page and moves the checkpoint to
	// lastSeq in the same transaction.
	ApplyPull(ctx context.Context, page syncproto.Page, entries []syncproto.Entry, lastSeq int64) error
	// Compact deletes pulled entries that nothing needs any more, a
	// bounded amount per call (store.Compact).
	Compact(ctx context.Context) (store.CompactReport, error)
	// SetServerKey stores the server's current public key (PEM) and its
	// kid, as a pull page announces them after a key rotation, so that the
	// app's next seal is made for it.
	SetServerKey(ctx context.Context, publicPEM, kid string) error
	// SetSyncState records named values for the app to show (keys are
	// the store.State* constants).
	SetSyncState(ctx context.Context, kv map[string]string) error
	// Pending returns the number and size of changes not yet pushed.
	Pending(ctx context.Context) (count, bytes int64, err error)
	// Watermark returns a string that changes whenever the app writes a
	// change or asks for a sync ("sync now"): cheap enough to poll every
	// second.
	Watermark(ctx context.Context) (string, error)
}
