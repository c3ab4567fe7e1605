package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// BenchmarkApplyPull measures a fresh laptop applying a pull of 20,000
// new cases (as `syncd bench` makes them: five fields, 358 sealed bytes,
// a wrapped key), in the agent's chunks of 500.
func BenchmarkApplyPull(b *testing.B) {
	const n, chunk = 20000, 500
	secret, key := make([]byte, 358), make([]byte, 61)
	rand.Read(secret)
	rand.Read(key)
	fields := []string{"form.given_names", "form.note", "form.surname", "service_id", "status"}
	entries := make([]syncproto.Entry, n)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for i := range entries {
		id := domain.NewID()
		e := syncproto.Entry{Seq: int64(i + 1), Version: 1, Key: key, Change: syncproto.Change{ID: id, RecordID: domain.NewID(),
			RecordType: string(domain.TypeCase), Op: "create", Fields: fields, Secret: secret,
			Plain: map[string]syncproto.FieldChange{"service_id": {New: "anmeldung"}, "status": {New: "draft"}},
			HLC:   fmt.Sprintf("%015d-%010d", 1795966945934+i/4, i%4), Device: "elsewhere", Clerk: "clerk", CreatedAt: at}}
		e.State = map[string]syncproto.FieldState{}
		for _, f := range fields {
			e.State[f] = syncproto.FieldState{Src: id, Version: 1}
		}
		entries[i] = e
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		b.StopTimer()
		st := open(b, filepath.Join(b.TempDir(), "field.db"))
		b.StartTimer()
		page := syncproto.Page{ID: domain.NewID(), JWE: "a.b.c.d.e"}
		for i := 0; i < n; i += chunk {
			part := entries[i:min(i+chunk, n)]
			if err := st.ApplyPull(ctx, page, part, part[len(part)-1].Seq); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "changes/s")
}
