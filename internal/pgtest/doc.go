// Package pgtest runs a throwaway PostgreSQL cluster for the tests of the
// central server: Debian's postgresql-15 binaries, initdb into a temporary
// directory, listening on a Unix socket there only, started on the first
// DB call of a test binary and stopped when it ends (also when tests fail,
// and, through the parent-death signal, when the test binary is killed).
// As root it runs the server as the postgres system user, since
// PostgreSQL refuses to run as root. Each DB call gets a database of its
// own, dropped at the end of the test.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Nothing is mocked: what a test does against the URL, it does against a
// real PostgreSQL 15. make deps installs the package; without it, DB fails
// the test with a message naming the package, never skips it.
package pgtest
