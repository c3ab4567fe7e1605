// Package crashtest kills the real syncd processes (`syncd serve`, `syncd
// agent`) with SIGKILL in the middle of pushes, pulls and attachment
// uploads, restarts them on the same files, and checks after every kill
// that the databases are intact and, at the end, that every laptop and the
// server converge with nothing lost and nothing applied twice. The
// server's database is SQLite, or PostgreSQL with BK_TEST_SERVER_DB=postgres.
//
// It holds tests only; they build the syncd binary once (TestMain) and
// are skipped with -short.
package crashtest
