package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// BenchmarkCreateCase writes one Anmeldung draft (about 20 form fields) with
// its record key, encrypted content, change entry, audit entry and HLC, in
// one transaction: what a clerk's "save" costs.
func BenchmarkCreateCase(b *testing.B) {
	ctx := context.Background()
	ss, _ := newSession(b)
	c := sampleCase()
	for i := 0; i < 14; i++ {
		c.Form["extra_"+string(rune('a'+i))] = "Feldwert mit etwas Text"
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.ID = ""
		if _, err := ss.CreateCase(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}

// BenchmarkRawInsert is modernc's single-table insert rate on the same file
// settings (WAL, synchronous=NORMAL, immediate transactions), one row of
// about the same size per transaction: the floor CreateCase is measured
// against.
func BenchmarkRawInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", store.RawDSN(path))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t(id TEXT PRIMARY KEY, v BLOB) STRICT`); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 600)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO t(id, v) VALUES (?, ?)`, domain.NewID(), payload); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
