//go:build unix

package crashtest

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// killDelay is how long a round lets the processes run before the kill:
// 50 ms to upTo, short of a full sync of the backlogs below, so that most
// kills land in the middle of a transfer.
func (c *cluster) killDelay(upTo time.Duration) time.Duration {
	return 50*time.Millisecond + time.Duration(c.rng.Int64N(int64(upTo-50*time.Millisecond)+1))
}

// restart starts whatever is down: the server, then the agents.
func (c *cluster) restart() {
	c.t.Helper()
	if !c.server.running() {
		c.startServer()
	}
	for _, l := range c.laptops {
		if !l.agent.running() {
			c.startAgent(l)
		}
	}
}

// TestCrash_PushAndPull kills the agents and the server while laptop a
// pushes a backlog of 20,000 changes and a 3 MB attachment and laptop b
// pulls them, while the clerks keep writing (new visits, edits of their
// own and of each other's records, sealed cases). After every kill the
// files are checked; at the end everything must converge with every
// change at the server exactly once and every sealed case shredded.
func TestCrash_PushAndPull(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	own := map[*laptop][]string{} // visits each laptop made, to edit
	a := c.addLaptop("a", func(l *laptop, ss *store.Session) {
		for range 4 {
			own[l] = append(own[l], c.visits(ss, 5000)...)
		}
		c.caseWith(l, ss, 3<<20, false)
		for range 3 {
			c.caseWith(l, ss, 300<<10, true)
		}
	})
	b := c.addLaptop("b", func(l *laptop, ss *store.Session) {
		own[l] = c.visits(ss, 2000)
		for range 2 {
			c.caseWith(l, ss, 1<<20, true)
		}
	})
	t.Logf("set up: a with 20,000 visits and 4 cases, b with 2,000 visits and 2 cases (%v)", time.Since(start).Round(time.Millisecond))
	others := map[*laptop]*laptop{a: b, b: a}
	edits, skipped := 0, 0

	const rounds = 10
	for round := 1; round <= rounds; round++ {
		c.restart()
		// The clerks write while the agents run.
		for _, l := range []*laptop{a, b} {
			if c.rng.IntN(100) >= 60 {
				continue
			}
			c.work(l, func(ss *store.Session) {
				if l == a {
					own[l] = append(own[l], c.visits(ss, 500+c.rng.IntN(1001))...)
				} else {
					own[l] = append(own[l], c.visits(ss, 100+c.rng.IntN(301))...)
				}
				// Edits of its own visits and of the other laptop's,
				// which it has only if it pulled them.
				for i := 0; i < 20; i++ {
					from := own[l]
					if i%2 == 1 {
						from = own[others[l]]
					}
					id := from[c.rng.IntN(len(from))]
					_, err := ss.Update(c.ctx, id, store.AnyVersion, domain.Fields{"venue_address": "Saal " + strconv.Itoa(round)})
					switch {
					case errors.Is(err, store.ErrNotFound):
						skipped++
					case err != nil:
						t.Fatalf("%s edits visit %s: %v", l.name, id, err)
					default:
						edits++
					}
				}
				if c.rng.IntN(100) < 30 {
					c.caseWith(l, ss, 1<<20, true)
				}
			})
		}
		time.Sleep(c.killDelay(1500 * time.Millisecond))
		var victims []*laptop
		server := false
		switch r := c.rng.IntN(100); {
		case r < 35:
			victims = []*laptop{a}
		case r < 60:
			victims = []*laptop{b}
		case r < 85:
			server = true
		default:
			victims, server = []*laptop{a, b}, true
		}
		c.killAndCheck(round, server, victims)
	}
	t.Logf("%d edits, %d edits of records not pulled yet skipped", edits, skipped)
	c.converge(20 * time.Second)
	c.assertConverged()
	c.report(start)
}

// TestCrash_AttachmentUpload kills the agent and the server while a
// laptop uploads 3 MB attachments (each round the clerk adds three to five
// more, half of them on cases that are then sealed), so that kills land
// between and inside the pieces of an upload. At the end every attachment
// must be at the server whole, byte for byte, and every sealed case
// shredded on the laptop.
func TestCrash_AttachmentUpload(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	u := c.addLaptop("u", func(l *laptop, ss *store.Session) {
		c.visits(ss, 500)
		for i := range 4 {
			c.caseWith(l, ss, 3<<20, i%2 == 0)
		}
	})
	c.addLaptop("v", func(l *laptop, ss *store.Session) {
		c.visits(ss, 100)
	})
	t.Logf("set up: u with 4 cases with 3 MB each, v with 100 visits (%v)", time.Since(start).Round(time.Millisecond))

	const rounds = 12
	for round := 1; round <= rounds; round++ {
		// New attachments first, so that an agent started now begins
		// with uploads.
		c.work(u, func(ss *store.Session) {
			for range 3 + c.rng.IntN(3) {
				c.caseWith(u, ss, 3<<20, c.rng.IntN(2) == 0)
			}
		})
		c.restart()
		// 3 MB uploads in 1 MB PATCHes go fast on loopback: kill early.
		time.Sleep(c.killDelay(600 * time.Millisecond))
		switch r := c.rng.IntN(100); {
		case r < 50:
			c.killAndCheck(round, false, []*laptop{u})
		case r < 80:
			c.killAndCheck(round, true, nil)
		default:
			c.killAndCheck(round, true, []*laptop{u})
		}
	}
	c.converge(20 * time.Second)
	c.assertConverged()
	c.report(start)
}
