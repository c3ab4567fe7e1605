//go:build race

package agent_test

// raceEnabled: the race detector slows the large-backlog test tenfold.
const raceEnabled = true
