package office

// This file is the inbox: the tenant's cases that arrived, newest first,
// filtered by status, service, visit, day and clerk, paged by key (the
// last row's arrival and id), with counts per status. It shows plain
// fields only; personal data is shown (and the reading logged) when a
// case is opened.

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
)

// InboxPageSize is how many cases a page of the inbox shows.
const InboxPageSize = 50

// statusGroups are the inbox's status filters, in order.
var statusGroups = []struct {
	Key, Label string
	Statuses   []string
}{
	{"eingegangen", "Eingegangen", []string{string(domain.StatusSealed), string(domain.StatusSubmitted)}},
	{"angenommen", "Angenommen", []string{string(domain.StatusAccepted)}},
	{"abgelehnt", "Abgelehnt", []string{string(domain.StatusRejected)}},
	{"rueckfrage", "Rückfrage", []string{string(domain.StatusNeedsInfo)}},
}

// statusLabel is a case status as the town hall names it.
func statusLabel(s string) string {
	switch domain.Status(s) {
	case domain.StatusSealed, domain.StatusSubmitted:
		return "Eingegangen"
	case domain.StatusAccepted:
		return "Angenommen"
	case domain.StatusRejected:
		return "Abgelehnt"
	case domain.StatusNeedsInfo:
		return "Rückfrage"
	case domain.StatusDraft:
		return "Entwurf"
	case domain.StatusSigned:
		return "Unterschrieben"
	}
	return s
}

func init() { funcs["status"] = statusLabel }

type option struct {
	Value, Label string
	Selected     bool
}

type inboxRow struct {
	server.InboxRow
	Service, Visit string
}

type inboxData struct {
	Groups             []groupCount
	Services, Visits   []option
	Status, Day, Clerk string
	Rows               []inboxRow
	Next               template.URL // the next page, "" if none
	First              template.URL // the first page with the same filters
	Paged              bool         // not the first page
	Total              int
}

type groupCount struct {
	Key, Label string
	N          int
	Selected   bool
}

// visitOptions lists the tenant's visits (newest day first) and a label
// of each by id.
func (o *Office) visitOptions(r *http.Request, s *session, selected string) ([]option, map[string]string, error) {
	vs, err := o.listVisits(r.Context(), s.Tenant)
	if err != nil {
		return nil, nil, err
	}
	labels := map[string]string{}
	var opts []option
	for _, v := range vs {
		l := v.Place + ", " + germanDate(v.Day)
		labels[v.ID] = l
		opts = append(opts, option{Value: v.ID, Label: l, Selected: v.ID == selected})
	}
	return opts, labels, nil
}

func (o *Office) serviceOptions(lang, selected string) []option {
	var opts []option
	for _, svc := range o.cat.Services() {
		opts = append(opts, option{Value: svc.ID, Label: svc.Label.In(lang), Selected: svc.ID == selected})
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].Label < opts[j].Label })
	return opts
}

func (o *Office) serviceLabel(lang, id string) string {
	if svc, ok := o.cat.Service(id); ok {
		return svc.Label.In(lang)
	}
	return id
}

func (o *Office) inbox(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, q := r.Context(), r.URL.Query()
	d := inboxData{Status: q.Get("status"), Day: q.Get("day"), Clerk: q.Get("clerk")}
	iq := server.InboxQuery{Tenant: s.Tenant, ServiceID: q.Get("service"), VisitID: q.Get("visit"), Day: d.Day,
		Clerk: d.Clerk, AfterArrived: q.Get("after_at"), AfterRecordID: q.Get("after_id"), Limit: InboxPageSize + 1}
	d.Paged = iq.AfterRecordID != ""
	counts, err := o.srv.Office().InboxCounts(ctx, s.Tenant)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	for _, g := range statusGroups {
		n := 0
		for _, st := range g.Statuses {
			n += counts[st]
		}
		d.Total += n
		d.Groups = append(d.Groups, groupCount{Key: g.Key, Label: g.Label, N: n, Selected: g.Key == d.Status})
		if g.Key == d.Status {
			iq.Statuses = g.Statuses
		}
	}
	var visitLabels map[string]string
	if d.Visits, visitLabels, err = o.visitOptions(r, s, iq.VisitID); err != nil {
		o.fail(w, r, s, err)
		return
	}
	d.Services = o.serviceOptions(s.lang, iq.ServiceID)
	rows, err := o.srv.Office().Inbox(ctx, iq)
	if err != nil {
		o.fail(w, r, s, err)
		return
	}
	filters := url.Values{}
	for k, v := range q {
		if k != "after_at" && k != "after_id" && k != "lang" {
			filters[k] = v
		}
	}
	d.First = template.URL("/inbox?" + filters.Encode())
	if len(rows) > InboxPageSize {
		rows = rows[:InboxPageSize]
		last := rows[len(rows)-1]
		next := url.Values{}
		for k, v := range filters {
			next[k] = v
		}
		next.Set("after_at", last.ArrivedAt)
		next.Set("after_id", last.RecordID)
		d.Next = template.URL("/inbox?" + next.Encode())
	}
	for _, row := range rows {
		d.Rows = append(d.Rows, inboxRow{InboxRow: row, Service: o.serviceLabel(s.lang, row.ServiceID),
			Visit: visitLabels[row.VisitID]})
	}
	o.render(w, r, s, "inbox", &page{Title: "Eingang", Nav: "inbox", Data: d})
}
