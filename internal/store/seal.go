package store

// The app's half of the key model (see DOMAIN.md, "Keys"): it seals record
// keys for the server when it writes them, and opens what the agent pulled.
// The agent never calls anything in this file.

import (
	"context"
	"crypto/rsa"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
)

// sealBatch is how many record keys share one seal key: one RSA operation
// per this many cases.
const sealBatch = 10000

// Meta keys of the enrolment and the device key pair.
const (
	metaServerURL   = "enrol.server_url"
	metaTenant      = "enrol.tenant"
	metaServerID    = "enrol.device_id"
	metaToken       = "enrol.token"
	metaServerKey   = "enrol.server_key"
	metaServerKeyID = "enrol.server_kid"
	metaCA          = "enrol.ca"
	metaDevicePub   = "device.public_key"
	metaDevicePriv  = "device.private_wrapped"
)

func devicePrivAAD() []byte { return []byte("device_key") }

type sealState struct {
	id    string
	key   crypto.ContentKey
	count int
}

// sealForServer wraps a new record's content key for the server, under the
// session's seal key, making one (and its JWE) when there is none or it has
// served sealBatch keys. Before enrolment there is no server key: it
// returns nulls, and SealPending catches up later.
//
// A seal made here is a row of tx: the session keeps it for later writes
// only once tx has committed (onTxEnd). Until then only tx uses it, so a
// transaction that rolls back (a full disk, a later record of a batch, a
// cancelled context) takes its seal with it and the next write seals anew.
func (ss *Session) sealForServer(ctx context.Context, tx *sql.Tx, keyID string, ck crypto.ContentKey) (any, any, error) {
	cur, err := ss.currentSeal(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	if cur == nil || cur.count >= sealBatch {
		if cur, err = ss.newSeal(ctx, tx); err != nil || cur == nil {
			return nil, nil, err
		}
	}
	wrapped, err := crypto.WrapKey(crypto.DataKey(cur.key), ck[:], keyAAD(keyID))
	if err != nil {
		return nil, nil, fmt.Errorf("seal record key: %w", err)
	}
	ss.mu.Lock()
	cur.count++
	ss.mu.Unlock()
	return cur.id, wrapped, nil
}

// currentSeal returns the seal tx should use: the one tx made itself, or
// the session's committed one if its row is still there (nil if neither).
func (ss *Session) currentSeal(ctx context.Context, tx *sql.Tx) (*sealState, error) {
	ss.mu.Lock()
	if ss.txOf == tx && ss.txSeal != nil {
		defer ss.mu.Unlock()
		return ss.txSeal, nil
	}
	cur := ss.seal
	ss.mu.Unlock()
	if cur == nil {
		return nil, nil
	}
	var n int
	if err := ss.st.txQueryRow(ctx, tx, `SELECT count(*) FROM seal WHERE id = ?`, cur.id).Scan(&n); err != nil {
		return nil, fmt.Errorf("read seal: %w", err)
	}
	if n == 0 { // gone (a file restored from before it): seal again
		ss.mu.Lock()
		if ss.seal == cur {
			ss.seal = nil
		}
		ss.mu.Unlock()
		return nil, nil
	}
	return cur, nil
}

// newSeal makes a seal key, seals it for the server's key and stores it in
// tx; nil if the laptop has no server key yet.
func (ss *Session) newSeal(ctx context.Context, tx *sql.Tx) (*sealState, error) {
	var pemKey, kid string
	err := ss.st.txQueryRow(ctx, tx, `SELECT (SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?)`,
		metaServerKey, metaServerKeyID).Scan(&nullString{&pemKey}, &nullString{&kid})
	if err != nil {
		return nil, fmt.Errorf("read server key: %w", err)
	}
	if pemKey == "" {
		return nil, nil
	}
	pub, err := crypto.ParsePublicKeyPEM([]byte(pemKey))
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	sk, err := crypto.NewContentKey()
	if err != nil {
		return nil, err
	}
	jwe, err := crypto.SealKey(pub, sk, kid)
	if err != nil {
		return nil, err
	}
	cur := &sealState{id: domain.NewID(), key: sk}
	if _, err := ss.st.txExec(ctx, tx, `INSERT INTO seal(id, jwe, created_at) VALUES (?, ?, ?)`,
		cur.id, jwe, fmtTime(ss.st.now())); err != nil {
		return nil, fmt.Errorf("store seal: %w", err)
	}
	ss.mu.Lock()
	ss.txSeal, ss.txOf = cur, tx
	ss.mu.Unlock()
	ss.st.onTxEnd(tx, func(committed bool) {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if ss.txOf == tx {
			ss.txSeal, ss.txOf = nil, nil
		}
		if committed && !ss.locked {
			if ss.seal != nil && ss.seal != cur {
				ss.seal.key.Zero()
			}
			ss.seal = cur
			return
		}
		cur.key.Zero()
	})
	return cur, nil
}

// nullString scans a nullable text column into a string ("" for NULL).
type nullString struct{ s *string }

func (n *nullString) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*n.s = ""
	case string:
		*n.s = v
	case []byte:
		*n.s = string(v)
	default:
		return fmt.Errorf("scan %T into string", v)
	}
	return nil
}

// SealPending seals for the server the keys of records written before the
// device was enrolled, and those whose seal is missing, so that the agent
// can push their changes. The app
// calls it after unlocking; it returns how many keys it sealed.
func (ss *Session) SealPending(ctx context.Context) (int, error) {
	dk, err := ss.dataKey()
	if err != nil {
		return 0, err
	}
	if k, err := ss.st.Meta(ctx, metaServerKey); err != nil || k == "" {
		return 0, err
	}
	n := 0
	for {
		var ids []string
		var wraps [][]byte
		rows, err := ss.st.r.QueryContext(ctx, `SELECT id, local_wrapped FROM record_key
			WHERE origin = 'local' AND local_wrapped IS NOT NULL AND (server_wrapped IS NULL
				OR (key_pushed_at IS NULL AND NOT EXISTS (SELECT 1 FROM seal s WHERE s.id = record_key.seal_id)))
			LIMIT 500`)
		if err != nil {
			return n, fmt.Errorf("store: seal pending: %w", err)
		}
		for rows.Next() {
			var id string
			var w []byte
			if err := rows.Scan(&id, &w); err != nil {
				rows.Close()
				return n, fmt.Errorf("store: seal pending: %w", err)
			}
			ids, wraps = append(ids, id), append(wraps, w)
		}
		rows.Close()
		if len(ids) == 0 {
			return n, nil
		}
		err = ss.st.writeTx(ctx, func(tx *sql.Tx) error {
			for i, id := range ids {
				raw, err := crypto.UnwrapKey(dk, wraps[i], keyAAD(id))
				if err != nil {
					return fmt.Errorf("unwrap key: %w", err)
				}
				var ck crypto.ContentKey
				copy(ck[:], raw)
				clear(raw)
				sealID, sw, err := ss.sealForServer(ctx, tx, id, ck)
				if err != nil {
					return err
				}
				if sw == nil {
					return errors.New("no server key")
				}
				if _, err := ss.st.txExec(ctx, tx, `UPDATE record_key SET seal_id = ?, server_wrapped = ? WHERE id = ?`,
					sealID, sw, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("store: seal pending: %w", err)
		}
		n += len(ids)
	}
}

// DeviceKey returns the device's public key (PEM), making the key pair on
// first use: the private key is kept wrapped under the data key, so only
// an unlocked app can open what the server seals for this device.
func (ss *Session) DeviceKey(ctx context.Context) (string, error) {
	if pub, err := ss.st.Meta(ctx, metaDevicePub); err != nil || pub != "" {
		return pub, err
	}
	dk, err := ss.dataKey()
	if err != nil {
		return "", err
	}
	priv, err := crypto.GenerateKeyPair()
	if err != nil {
		return "", fmt.Errorf("store: device key: %w", err)
	}
	der, err := crypto.MarshalPrivateKeyDER(priv)
	if err != nil {
		return "", fmt.Errorf("store: device key: %w", err)
	}
	wrapped, err := crypto.WrapKey(dk, der, devicePrivAAD())
	clear(der)
	if err != nil {
		return "", fmt.Errorf("store: device key: %w", err)
	}
	pub, err := crypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return "", fmt.Errorf("store: device key: %w", err)
	}
	err = ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key = ?`, metaDevicePub).Scan(&n); err != nil {
			return err
		}
		if n > 0 { // made by another process meanwhile: keep that one
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?), (?, ?)`,
			metaDevicePub, string(pub), metaDevicePriv, base64.StdEncoding.EncodeToString(wrapped)); err != nil {
			return err
		}
		return ss.appendAudit(ctx, tx, AuditEntry{At: ss.st.now(), DeviceID: ss.st.deviceID, ClerkID: ss.clerk.ID,
			Action: "device.key_created", RecordType: "device", RecordID: ss.st.deviceID})
	})
	if err != nil {
		return "", fmt.Errorf("store: device key: %w", err)
	}
	return ss.st.Meta(ctx, metaDevicePub)
}

// deviceKey opens the device's private key.
func (ss *Session) deviceKey(ctx context.Context, q querier) (*rsa.PrivateKey, error) {
	ss.mu.Lock()
	k := ss.devKey
	ss.mu.Unlock()
	if k != nil {
		return k, nil
	}
	dk, err := ss.dataKey()
	if err != nil {
		return nil, err
	}
	var enc string
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaDevicePriv).Scan(&enc); err != nil {
		return nil, fmt.Errorf("read device key: %w", err)
	}
	wrapped, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("read device key: %w", err)
	}
	der, err := crypto.UnwrapKey(dk, wrapped, devicePrivAAD())
	if err != nil {
		return nil, fmt.Errorf("open device key: %w", err)
	}
	defer clear(der)
	if k, err = crypto.ParsePrivateKeyDER(der); err != nil {
		return nil, fmt.Errorf("open device key: %w", err)
	}
	ss.mu.Lock()
	if !ss.locked {
		ss.devKey = k
	}
	ss.mu.Unlock()
	return k, nil
}

// pageKey opens a pull page's key with the device's private key: one RSA
// operation per page, cached for the session.
func (ss *Session) pageKey(ctx context.Context, q querier, pageID string) (crypto.ContentKey, error) {
	ss.mu.Lock()
	pk, ok := ss.pages[pageID]
	ss.mu.Unlock()
	if ok {
		return pk, nil
	}
	var jwe string
	if err := q.QueryRowContext(ctx, `SELECT jwe FROM pull_page WHERE id = ?`, pageID).Scan(&jwe); err != nil {
		return crypto.ContentKey{}, fmt.Errorf("read page %s: %w", pageID, err)
	}
	priv, err := ss.deviceKey(ctx, q)
	if err != nil {
		return crypto.ContentKey{}, err
	}
	if pk, err = crypto.OpenKey(priv, jwe); err != nil {
		return crypto.ContentKey{}, fmt.Errorf("open page %s: %w", pageID, err)
	}
	ss.mu.Lock()
	if !ss.locked {
		ss.pages[pageID] = pk
	}
	ss.mu.Unlock()
	return pk, nil
}

// adoptKey keeps a pulled record key under the data key once the app has
// opened it, so the page key is not needed for it again.
func (ss *Session) adoptKey(ctx context.Context, tx *sql.Tx, keyID string, ck crypto.ContentKey) error {
	if ck == (crypto.ContentKey{}) {
		return nil
	}
	dk, err := ss.dataKey()
	if err != nil {
		return err
	}
	var has bool
	if err := ss.st.txQueryRow(ctx, tx, `SELECT local_wrapped IS NOT NULL FROM record_key WHERE id = ?`, keyID).Scan(&has); err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	if has {
		return nil
	}
	wrapped, err := crypto.WrapKey(dk, ck[:], keyAAD(keyID))
	if err != nil {
		return fmt.Errorf("wrap record key: %w", err)
	}
	if _, err := ss.st.txExec(ctx, tx, `UPDATE record_key SET local_wrapped = ?, page_id = NULL, page_wrapped = NULL
		WHERE id = ? AND shredded_at IS NULL`, wrapped, keyID); err != nil {
		return fmt.Errorf("adopt record key: %w", err)
	}
	return nil
}

// changeValue returns the new value of a personal field from a change
// entry, local or pulled, opened with the record's key.
func (ss *Session) changeValue(ctx context.Context, q querier, ck crypto.ContentKey, changeID, field string) (string, error) {
	var sealed []byte
	err := q.QueryRowContext(ctx, `SELECT secret_values FROM change_log WHERE id = ?
		UNION ALL SELECT secret_values FROM remote_change WHERE id = ? LIMIT 1`, changeID, changeID).Scan(&sealed)
	if err != nil {
		return "", fmt.Errorf("change %s: %w", changeID, err)
	}
	if sealed == nil {
		return "", fmt.Errorf("change %s: %w", changeID, ErrShredded)
	}
	pt, err := crypto.OpenValue(ck, sealed, changeAAD(changeID))
	if err != nil {
		return "", fmt.Errorf("open change %s: %w", changeID, err)
	}
	var vals map[string]FieldChange
	if err := json.Unmarshal(pt, &vals); err != nil {
		return "", fmt.Errorf("change %s: values: %w", changeID, err)
	}
	return vals[field].New, nil
}

// DevicePublicKey returns the device's public key (PEM), "" before the app
// made the key pair (Session.DeviceKey).
func (s *Store) DevicePublicKey(ctx context.Context) (string, error) {
	return s.Meta(ctx, metaDevicePub)
}
