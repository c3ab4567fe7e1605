package pgtest

import (
	"strconv"
	"strings"
)

// Rebind turns the ? placeholders of a statement written for SQLite into
// PostgreSQL's $1, $2, …, so that a test's check of the server database
// reads the same on both backends. It does not look inside string
// literals: a statement to rebind holds no ? but its placeholders.
func Rebind(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
