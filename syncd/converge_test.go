package main

// The convergence checker: K laptops (real field stores, real agents) and
// a real server make random concurrent creates, edits, deletes, seals and
// conflict resolutions, with two laptop clocks off (an hour ahead, a day
// behind), while the network between them drops, cuts and stalls and the
// agents and the server are stopped and restarted. Then the network heals,
// everything syncs, and the invariants are checked. A failing run prints
// the seed that reproduces it (SOAK_SEED). `make test` runs a short one;
// `make soak DURATION=30m` a long one.
//
// With BK_TEST_SERVER_DB=postgres the server's database is PostgreSQL and
// there are two `syncd serve` processes on it, each behind its own faulty
// network; the laptops are spread over them round robin, and the
// restarts take turns, so that both servers go down and come back.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/faultproxy"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

type soakStats struct {
	Devices, Ops, Creates, Edits, Deletes, Seals, Resolutions, Refused int
	Servers, Faults, AgentKills, ServerKills                           int
	ServerRestarts                                                     []int // per server
	Conflicts, Changes, SealedCases, ConcurrentEdits                   int
	FaultsBy                                                           map[string]int64
}

// soakServer runs `syncd serve` in this process at a fixed address, so it
// can be stopped and started again on the same database.
type soakServer struct {
	dbArgs  []string // --db and --master-key
	listen  string
	cancel  context.CancelFunc
	done    chan int
	up      bool
	proxy   *faultproxy.Proxy // the laptops' way to it
	restart int               // how often it was stopped and started again
}

func (s *soakServer) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan int, 1)
	out := &lineWriter{first: make(chan string, 1)}
	errOut := &lockedBuffer{}
	args := append(append([]string{"serve"}, s.dbArgs...), "--listen", s.listen, "--tenant", "musterstadt")
	go func() { s.done <- run(ctx, args, out, errOut) }()
	select {
	case <-out.first:
	case code := <-s.done:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	s.up = true
}

func (s *soakServer) stop() {
	if !s.up {
		return
	}
	s.cancel()
	<-s.done
	s.up = false
}

type soakDevice struct {
	l      *laptop
	cancel context.CancelFunc
	done   chan struct{}
}

func (d *soakDevice) startAgent() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	a, _ := agent.New(agent.Config{Interval: time.Second, Poll: 100 * time.Millisecond, BackoffMin: 100 * time.Millisecond,
		BackoffMax: time.Second, Client: agent.ClientConfig{Timeout: 2 * time.Second, RetryCount: 1,
			RetryWait: 50 * time.Millisecond, RetryMaxWait: 200 * time.Millisecond}}, d.l.st)
	go func() {
		defer close(d.done)
		a.Run(ctx)
	}()
}

func (d *soakDevice) stopAgent() {
	d.cancel()
	<-d.done
}

func TestConvergence(t *testing.T) {
	runSoak(t, 4, 15*time.Second)
}

func TestSoak(t *testing.T) {
	d := os.Getenv("SOAK_DURATION")
	if d == "" {
		t.Skip("set SOAK_DURATION (make soak DURATION=30m)")
	}
	dur, err := time.ParseDuration(d)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(os.Getenv("SOAK_DEVICES"))
	runSoak(t, max(n, 5), dur)
}

func runSoak(t *testing.T, devices int, dur time.Duration) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("SOAK_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reproduce with SOAK_SEED=%d", seed)
		}
	})
	rng := rand.New(rand.NewSource(seed))
	ctx := context.Background()
	k := &kit{t: t, ctx: ctx, dir: t.TempDir()}
	k.srvDB, k.srvKey = newServerDB(t, k.dir)
	backend, nservers := "sqlite", 1
	if onPostgres() {
		backend, nservers = "postgres", 2
	}
	// Fixed ports, kept across server restarts, each behind its own proxy.
	srvs := make([]*soakServer, nservers)
	for i := range srvs {
		s := &soakServer{dbArgs: k.dbArgs(), listen: "127.0.0.1:" + strconv.Itoa(freePort(t))}
		s.start(t)
		p, err := faultproxy.Start(ctx, s.listen)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		s.proxy = p
		srvs[i] = s
	}
	k.url = "http://" + srvs[0].listen
	st := soakStats{Devices: devices, Servers: nservers}

	offsets := []time.Duration{time.Hour, -24 * time.Hour}
	devs := make([]*soakDevice, devices)
	for i := range devs {
		off := time.Duration(0)
		if i < len(offsets) {
			off = offsets[i]
		}
		p := srvs[i%len(srvs)].proxy
		devs[i] = &soakDevice{l: k.laptopClock(fmt.Sprintf("d%d", i), "musterstadt", p.URL(), off)}
		devs[i].startAgent()
	}
	defer func() {
		for _, d := range devs {
			if d.cancel != nil {
				d.stopAgent()
			}
		}
		for _, s := range srvs {
			s.stop()
		}
	}()

	// The day: operations, faults and kills until the time is up.
	deadline := time.Now().Add(dur)
	nextFault, nextKill := time.Now(), time.Now().Add(2*time.Second)
	for time.Now().Before(deadline) {
		d := devs[rng.Intn(len(devs))]
		soakOp(t, rng, d.l, &st)
		st.Ops++
		if time.Now().After(nextFault) {
			// A new weather for the network: from good to gone.
			f := faultproxy.Faults{Seed: rng.Int63()}
			switch rng.Intn(6) {
			case 0: // a good moment
			case 1:
				f.Down = true
			default:
				f.Refuse, f.Drop, f.Cut = rng.Float64()*0.2, rng.Float64()*0.3, rng.Float64()*0.3
				f.Delay, f.DelayMax = rng.Float64()*0.5, 50*time.Millisecond
				f.Stall, f.StallFor = rng.Float64()*0.1, time.Duration(rng.Intn(3000))*time.Millisecond
				f.Duplicate = rng.Float64() * 0.3
			}
			for i, s := range srvs {
				f.Seed += int64(i)
				s.proxy.Set(f)
			}
			nextFault = time.Now().Add(time.Duration(200+rng.Intn(1500)) * time.Millisecond)
		}
		if time.Now().After(nextKill) {
			if s := serverToRestart(rng, srvs); s != nil {
				s.stop()
				time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
				s.start(t)
				s.restart++
				st.ServerKills++
			} else {
				d := devs[rng.Intn(len(devs))]
				d.stopAgent()
				time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
				d.startAgent()
				st.AgentKills++
			}
			nextKill = time.Now().Add(time.Duration(1000+rng.Intn(3000)) * time.Millisecond)
		}
		time.Sleep(time.Duration(5+rng.Intn(30)) * time.Millisecond)
	}

	// The network heals: stop the agents and sync each laptop until all
	// agree with the server.
	var fs faultproxy.Stats
	for _, s := range srvs {
		s.proxy.Set(faultproxy.Faults{})
		ps := s.proxy.Stats()
		fs.Refused += ps.Refused
		fs.Dropped += ps.Dropped
		fs.Delayed += ps.Delayed
		fs.Cut += ps.Cut
		fs.Stalled += ps.Stalled
		fs.Duplicated += ps.Duplicated
		fs.Down += ps.Down
		st.ServerRestarts = append(st.ServerRestarts, s.restart)
	}
	st.Faults = int(fs.Refused + fs.Dropped + fs.Delayed + fs.Cut + fs.Stalled + fs.Duplicated + fs.Down)
	st.FaultsBy = map[string]int64{"refused": fs.Refused, "dropped": fs.Dropped, "delayed": fs.Delayed, "cut": fs.Cut,
		"stalled": fs.Stalled, "duplicated": fs.Duplicated, "down": fs.Down}
	for _, d := range devs {
		d.stopAgent()
		d.cancel = nil
	}
	converged := false
	for round := 0; round < 10 && !converged; round++ {
		for _, d := range devs {
			a, _ := agent.New(agent.Config{}, d.l.st)
			if _, err := a.SyncOnce(ctx); err != nil {
				t.Logf("heal round %d: %v", round, err)
			}
		}
		converged = true
		want := k.export("musterstadt")
		for _, d := range devs {
			n, _, _ := d.l.st.Pending(ctx)
			if n > 0 || d.l.export() != want {
				converged = false
			}
		}
	}
	for _, s := range srvs {
		s.stop()
	}
	checkSoak(t, k, devs, converged, &st)
	summary, _ := json.Marshal(st)
	fmt.Printf("soak: seed %d, %s, %s: %s\n", seed, dur, backend, summary)
	t.Logf("soak: seed %d, %s, %s: %s", seed, dur, backend, summary)
}

// serverToRestart decides whether a kill round restarts a server, and
// which: one round in four, the server restarted least; with several
// servers, first each in turn, so that every one goes down even in a
// short run. nil means an agent.
func serverToRestart(rng *rand.Rand, srvs []*soakServer) *soakServer {
	least := srvs[0]
	for _, s := range srvs[1:] {
		if s.restart < least.restart {
			least = s
		}
	}
	if (len(srvs) > 1 && least.restart == 0) || rng.Intn(4) == 0 {
		return least
	}
	return nil
}

// soakOp does one thing a clerk does on laptop l.
func soakOp(t *testing.T, rng *rand.Rand, l *laptop, st *soakStats) {
	ctx := l.k.ctx
	ss := l.ss
	refused := func(err error) {
		if err != nil {
			// Stale views and signed cases refuse edits; what matters is
			// that what was written syncs.
			st.Refused++
		}
	}
	switch r := rng.Intn(100); {
	case r < 20:
		_, err := ss.CreateVisit(ctx, domain.Visit{Place: fmt.Sprintf("Ort %d", rng.Intn(1000)), Day: "2026-11-24"})
		refused(err)
		st.Creates++
	case r < 35:
		c := anmeldung()
		c.Form["given_names"] = fmt.Sprintf("Erika %d", rng.Intn(1000))
		_, err := ss.CreateCase(ctx, c)
		refused(err)
		st.Creates++
	case r < 60:
		vs, _ := ss.List(ctx, domain.TypeVisit, nil)
		if len(vs) > 0 {
			v := vs[rng.Intn(len(vs))]
			_, err := ss.Update(ctx, v.ID, v.Version, domain.Fields{"venue_address": fmt.Sprintf("Saal %d", rng.Intn(100))})
			refused(err)
			st.Edits++
		}
	case r < 80:
		cs, _ := ss.List(ctx, domain.TypeCase, domain.Fields{"status": "draft"})
		if len(cs) > 0 {
			c := cs[rng.Intn(len(cs))]
			_, err := ss.UpdateCaseForm(ctx, c.ID, c.Version, domain.Fields{"new_street": fmt.Sprintf("Weg %d", rng.Intn(100))})
			refused(err)
			st.Edits++
		}
	case r < 86:
		vs, _ := ss.List(ctx, domain.TypeVisit, nil)
		if len(vs) > 0 {
			v := vs[rng.Intn(len(vs))]
			refused(ss.Delete(ctx, v.ID, v.Version))
			st.Deletes++
		}
	case r < 92:
		cs, _ := ss.List(ctx, domain.TypeCase, domain.Fields{"status": "draft"})
		if len(cs) > 0 {
			c := cs[rng.Intn(len(cs))]
			v, err := ss.SetCaseStatus(ctx, c.ID, c.Version, domain.StatusSigned)
			if err == nil {
				_, err = ss.SetCaseStatus(ctx, c.ID, v, domain.StatusSealed)
			}
			refused(err)
			st.Seals++
		}
	default:
		cs, _ := ss.Conflicts(ctx, true)
		if len(cs) > 0 {
			c := cs[rng.Intn(len(cs))]
			choice := store.ResolveA
			if c.Kind == "delete" {
				choice = store.ResolveKeep
			} else if rng.Intn(2) == 0 {
				choice = store.ResolveB
			}
			refused(ss.ResolveConflict(ctx, c.ID, choice, ""))
			st.Resolutions++
		}
	}
}

// checkSoak checks the invariants after the network healed.
func checkSoak(t *testing.T, k *kit, devs []*soakDevice, converged bool, st *soakStats) {
	ctx := k.ctx
	want := k.export("musterstadt")
	// 1. Every device's export equals the server's.
	if !converged {
		for i, d := range devs {
			if got := d.l.export(); got != want {
				t.Errorf("invariant: device %d export differs from the server's (%d vs %d bytes):\n%s", i, len(got), len(want),
					firstDiff(got, want))
			}
		}
	}
	st.Conflicts = strings.Count(want, `"type":"conflict"`)

	db := k.serverSQL()

	// 2. Every change made anywhere is on the server exactly once.
	for i, d := range devs {
		err := d.l.st.Changes(ctx, 0, 0, false, func(c store.Change) error {
			var n int
			if err := db.queryRow(`SELECT count(*) FROM change WHERE id = ?`, c.ID).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				t.Errorf("invariant: device %d change %s (%s %s) is on the server %d times", i, c.ID, c.Op, c.RecordType, n)
			}
			st.Changes++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// 3. Every concurrent edit of a field (the field's last setter was
	// another device, after the change's base) is a conflict record that
	// names the change, on the server and so, by 1, on every device.
	conflictsOf := map[string]map[string]bool{} // b_change -> fields
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		var r syncproto.ExportRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Type == "conflict" {
			if conflictsOf[r.Fields["b_change"]] == nil {
				conflictsOf[r.Fields["b_change"]] = map[string]bool{}
			}
			conflictsOf[r.Fields["b_change"]][r.Fields["field"]] = true
		}
	}
	type setter struct {
		device  string
		version int64
	}
	last := map[string]map[string]setter{} // record -> field -> last setter
	rows, err := db.query(`SELECT id, record_id, record_type, op, fields, base_version, version, device, state
		FROM change WHERE device != 'central' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, rec, typ, op, fields, device, state string
		var base, version int64
		if err := rows.Scan(&id, &rec, &typ, &op, &fields, &base, &version, &device, &state); err != nil {
			t.Fatal(err)
		}
		var names []string
		var fs map[string]syncproto.FieldState
		json.Unmarshal([]byte(fields), &names)
		json.Unmarshal([]byte(state), &fs)
		if last[rec] == nil {
			last[rec] = map[string]setter{}
		}
		concurrent := false
		for _, f := range names {
			if prev, ok := last[rec][f]; ok && prev.device != device && prev.version > base {
				concurrent = true
				if op == "update" && !conflictsOf[id][f] && !conflictsOf[id]["_deleted"] {
					t.Errorf("invariant: change %s edited %s of %s %s concurrently with another device, and there is no conflict record", id, f, typ, rec)
				}
			}
		}
		if concurrent {
			st.ConcurrentEdits++
			if op == "delete" && !conflictsOf[id]["_deleted"] {
				t.Errorf("invariant: delete %s of %s raced an edit, and there is no conflict record", id, rec)
			}
		}
		for f, s := range fs {
			if s.Src == id {
				last[rec][f] = setter{device, version}
			}
		}
	}
	rows.Close()

	// 4. No sealed case is lost: the server has every case a laptop
	// sealed, sealed, with its content.
	srv := k.openServer()
	for i, d := range devs {
		err := d.l.st.Changes(ctx, 0, 0, false, func(c store.Change) error {
			if c.RecordType != domain.TypeCase || c.PlainValues["status"].New != string(domain.StatusSealed) {
				return nil
			}
			st.SealedCases++
			r, err := srv.Record(ctx, "musterstadt", c.RecordID)
			if err != nil {
				t.Errorf("invariant: device %d sealed case %s: %v", i, c.RecordID, err)
				return nil
			}
			if r.Fields["status"] == string(domain.StatusDraft) || r.Fields["form.surname"] == "" {
				t.Errorf("invariant: device %d sealed case %s is at the server as status %q with surname set %v", i, c.RecordID,
					r.Fields["status"], r.Fields["form.surname"] != "")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// 5. Every audit chain verifies.
	for i, d := range devs {
		if _, err := d.l.st.VerifyAudit(ctx); err != nil {
			t.Errorf("invariant: device %d audit chain: %v", i, err)
		}
	}
}

// firstDiff shows the first lines where two exports differ (exports hold
// no personal data).
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	gs := map[string]bool{}
	for _, l := range g {
		gs[l] = true
	}
	ws := map[string]bool{}
	for _, l := range w {
		ws[l] = true
	}
	var out []string
	for _, l := range w {
		if !gs[l] && len(out) < 4 {
			out = append(out, "server only: "+l)
		}
	}
	for _, l := range g {
		if !ws[l] && len(out) < 8 {
			out = append(out, "device only: "+l)
		}
	}
	return strings.Join(out, "\n")
}
