package server

// What the PostgreSQL store tells /metrics about its two pools (writes
// and reads, see postgres.go).

import "github.com/jackc/pgx/v5/pgxpool"

var _ poolStatser = (*pgStore)(nil)

// PoolStats reports the write and the read pool.
func (s *pgStore) PoolStats() []PoolStats {
	return []PoolStats{pgPoolStats("write", s.w), pgPoolStats("read", s.r)}
}

func pgPoolStats(name string, p *pgxpool.Pool) PoolStats {
	st := p.Stat()
	return PoolStats{Pool: name, MaxOpen: int(st.MaxConns()), Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()),
		Idle: int(st.IdleConns()), WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime()}
}
