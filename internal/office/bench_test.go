package office_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
)

// BenchmarkInbox pages through an inbox of 10,000 arrived cases: the
// first page, a page deep in the list (keyset: it costs what the first
// does), and the whole inbox page as the browser gets it.
func BenchmarkInbox(b *testing.B) {
	e := newEnv(b)
	const n = 10000
	services := []string{"anmeldung", "meldebescheinigung", "hundeanmeldung", "fuehrungszeugnis", "bewohnerparkausweis"}
	statuses := []domain.Status{domain.StatusSealed, domain.StatusSealed, domain.StatusAccepted, domain.StatusRejected, domain.StatusNeedsInfo}
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		c := domain.Case{ID: domain.NewID(), ServiceID: services[i%5], Status: statuses[(i/5)%5], VisitID: fmt.Sprintf("visit-%d", i/20),
			CreatedBy: fmt.Sprintf("clerk-%d", i%7), CreatedAt: at.Add(-10 * time.Minute), SealedAt: at}
		if _, err := e.srv.Central(e.ctx, tenantA, server.CentralChange{RecordID: c.ID, RecordType: domain.TypeCase, Op: "create",
			Set: c.Fields().NonEmpty(), Clerk: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	st := e.srv.Office()
	deep, err := st.Inbox(e.ctx, server.InboxQuery{Tenant: tenantA, Limit: 5000})
	if err != nil || len(deep) != 5000 {
		b.Fatalf("deep: %d %v", len(deep), err)
	}
	after := deep[len(deep)-1]
	b.Run("first-page", func(b *testing.B) {
		for b.Loop() {
			if rows, err := st.Inbox(e.ctx, server.InboxQuery{Tenant: tenantA, Limit: 51}); err != nil || len(rows) != 51 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("page-after-5000", func(b *testing.B) {
		for b.Loop() {
			if rows, err := st.Inbox(e.ctx, server.InboxQuery{Tenant: tenantA, Limit: 51, AfterArrived: after.ArrivedAt,
				AfterRecordID: after.RecordID}); err != nil || len(rows) != 51 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("filtered-status-service", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Inbox(e.ctx, server.InboxQuery{Tenant: tenantA, Limit: 51, Statuses: []string{"rejected"},
				ServiceID: "hundeanmeldung"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("arrived-two-statuses", func(b *testing.B) {
		for b.Loop() {
			if rows, err := st.Inbox(e.ctx, server.InboxQuery{Tenant: tenantA, Limit: 51, Statuses: []string{"sealed", "submitted"},
				AfterArrived: after.ArrivedAt, AfterRecordID: after.RecordID}); err != nil || len(rows) != 51 {
				b.Fatal(len(rows), err)
			}
		}
	})
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.InboxCounts(e.ctx, tenantA); err != nil {
				b.Fatal(err)
			}
		}
	})
	br := e.browser()
	br.login("sb.meier")
	b.Run("http-page", func(b *testing.B) {
		for b.Loop() {
			if code, _, _ := br.get("/inbox?status=eingegangen"); code != http.StatusOK {
				b.Fatal(code)
			}
		}
	})
}
