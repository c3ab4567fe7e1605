// Package sqlitedsn builds the modernc.org/sqlite connection strings both
// ends of the kit open their files with: the laptop's field store and the
// central server's database. The pragmas go in the DSN because a pragma
// set with db.Exec reaches only one pooled connection.
package sqlitedsn

import (
	"fmt"
	"strings"
	"time"
)

// BusyTimeout is how long a connection waits for another connection's (or
// process's) write lock before it gives up. Write transactions here last
// milliseconds.
const BusyTimeout = 10 * time.Second

// DSN returns the connection string for path: WAL, foreign keys,
// synchronous NORMAL and the busy timeout. A read-only connection refuses
// writes (query_only); a writer begins its transactions IMMEDIATE, taking
// the write lock at the start, so two writers never both read and then
// fail to upgrade (SQLITE_BUSY). extra parameters ("_pragma=...") follow.
func DSN(path string, readOnly bool, extra ...string) string {
	p := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", BusyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
	}
	if readOnly {
		p = append(p, "_pragma=query_only(1)")
	} else {
		p = append(p, "_txlock=immediate")
	}
	p = append(p, extra...)
	return "file:" + path + "?" + strings.Join(p, "&")
}
