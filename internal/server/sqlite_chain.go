package server

// This file stores the heads of the devices' audit chains (chain.go).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const chainColumns = `device, count, hash, flag, flag_detail, flagged_at, updated_at`

func scanChain(sc interface{ Scan(...any) error }) (DeviceChain, error) {
	var c DeviceChain
	var flagged, updated sql.NullString
	if err := sc.Scan(&c.Device, &c.Count, &c.Hash, &c.Flag, &c.FlagDetail, &flagged, &updated); err != nil {
		return DeviceChain{}, err
	}
	c.FlaggedAt, c.UpdatedAt = parseTime(flagged), parseTime(updated)
	return c, nil
}

func (t *sqliteTx) DeviceChain(ctx context.Context, device string) (DeviceChain, bool, error) {
	c, err := scanChain(t.tx.QueryRowContext(ctx, `SELECT `+chainColumns+` FROM device_chain WHERE device = ?`, device))
	if errors.Is(err, sql.ErrNoRows) {
		return DeviceChain{}, false, nil
	}
	if err != nil {
		return DeviceChain{}, false, fmt.Errorf("read audit head of %s: %w", device, err)
	}
	return c, true, nil
}

func (t *sqliteTx) PutDeviceChain(ctx context.Context, c DeviceChain) error {
	var flagged any
	if !c.FlaggedAt.IsZero() {
		flagged = fmtTime(c.FlaggedAt)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO device_chain(`+chainColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(device) DO UPDATE SET count = excluded.count, hash = excluded.hash, flag = excluded.flag,
		flag_detail = excluded.flag_detail, flagged_at = excluded.flagged_at, updated_at = excluded.updated_at`,
		c.Device, c.Count, c.Hash, c.Flag, c.FlagDetail, flagged, fmtTime(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("write audit head of %s: %w", c.Device, err)
	}
	return nil
}

func (s *sqliteStore) DeviceChains(ctx context.Context, tenant string) (map[string]DeviceChain, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+chainColumns+` FROM device_chain
		WHERE device IN (SELECT id FROM device WHERE tenant = ?)`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list audit heads: %w", err)
	}
	defer rows.Close()
	out := map[string]DeviceChain{}
	for rows.Next() {
		c, err := scanChain(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit heads: %w", err)
		}
		out[c.Device] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit heads: %w", err)
	}
	return out, nil
}
