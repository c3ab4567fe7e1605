package server

// This file opens the keys the server holds wrapped: a tenant's private
// key (under the master key), a device's seal key (a JWE for the tenant's
// key), and a record's content key (under a seal key or the master key).
// The AAD strings for seal-wrapped record keys are exactly the device's
// (internal/store: "record_key:<record id>").

import (
	"container/list"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func recordKeyAAD(recordID string) []byte { return []byte("record_key:" + recordID) }
func changeAAD(changeID string) []byte    { return []byte("change:" + changeID) }
func tenantKeyAAD(tenant, kid string) []byte {
	return []byte("tenant_key:" + tenant + ":" + kid)
}
func centralKeyAAD(tenant, recordID string) []byte {
	return []byte("central_record_key:" + tenant + ":" + recordID)
}

// Errors of keys that do not open: the data is at fault (a device sent
// it so, or it was damaged since), not the server. A push refuses what
// they concern; a pull leaves the key out and goes on. Other errors (the
// database, the master key) are the server's.
var (
	errBadSeal      = errors.New("seal does not open with the tenant's key")
	errBadRecordKey = errors.New("record key does not open under its seal")
)

// unusableKey reports whether err is one of a key that does not open.
func unusableKey(err error) bool {
	return errors.Is(err, errBadSeal) || errors.Is(err, errBadRecordKey)
}

// tenantKey returns a tenant's private key of that kid ("" for the newest,
// for seals made without a kid), opened once and kept. Keys never change
// once made, so a key rotated in by another process is simply one more.
func (s *Server) tenantKey(ctx context.Context, tenant, kid string) (*rsa.PrivateKey, error) {
	if kid != "" {
		if k, ok := s.cachedTenantKey(tenant, kid); ok {
			return k, nil
		}
	}
	var tk TenantKey
	var err error
	if kid == "" {
		tk, err = s.st.TenantKey(ctx, tenant)
	} else {
		tk, err = s.st.TenantKeyByID(ctx, tenant, kid)
	}
	if errors.Is(err, ErrNotFound) && kid != "" {
		return nil, fmt.Errorf("%w: tenant %s has no key %s", errBadSeal, tenant, kid)
	}
	if err != nil {
		return nil, err
	}
	if k, ok := s.cachedTenantKey(tenant, tk.KeyID); ok {
		return k, nil
	}
	der, err := crypto.UnwrapKey(s.master, tk.PrivateWrapped, tenantKeyAAD(tenant, tk.KeyID))
	if err != nil {
		return nil, fmt.Errorf("open key %s of tenant %s: %w", tk.KeyID, tenant, err)
	}
	defer clear(der)
	k, err := crypto.ParsePrivateKeyDER(der)
	if err != nil {
		return nil, fmt.Errorf("open key %s of tenant %s: %w", tk.KeyID, tenant, err)
	}
	s.keyMu.Lock()
	s.tenantKeys[tenant+"/"+tk.KeyID] = k
	s.keyMu.Unlock()
	return k, nil
}

func (s *Server) cachedTenantKey(tenant, kid string) (*rsa.PrivateKey, bool) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	k, ok := s.tenantKeys[tenant+"/"+kid]
	return k, ok
}

// sealKey returns a device's seal key, opening its JWE (one RSA operation)
// only if it is not in the cache.
func (s *Server) sealKey(ctx context.Context, l Lookup, tenant, sealID string) (crypto.ContentKey, error) {
	if k, ok := s.seals.get(tenant + "/" + sealID); ok {
		return k, nil
	}
	jwe, ok, err := l.Seal(ctx, tenant, sealID)
	if err != nil {
		return crypto.ContentKey{}, err
	}
	if !ok {
		return crypto.ContentKey{}, fmt.Errorf("seal %s: %w: %w", sealID, errBadSeal, ErrNotFound)
	}
	return s.openSeal(ctx, tenant, sealID, jwe)
}

// openSeal opens a seal's JWE with the tenant's key its kid names and
// keeps the seal key in the cache.
func (s *Server) openSeal(ctx context.Context, tenant, sealID, jwe string) (crypto.ContentKey, error) {
	kid, err := crypto.SealedKeyID(jwe)
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("seal %s: %w: %w", sealID, errBadSeal, err)
	}
	priv, err := s.tenantKey(ctx, tenant, kid)
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("seal %s: %w", sealID, err)
	}
	k, err := crypto.OpenKey(priv, jwe)
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("seal %s: %w: %w", sealID, errBadSeal, err)
	}
	s.seals.put(tenant+"/"+sealID, k)
	return k, nil
}

// contentKey opens a record's content key.
func (s *Server) contentKey(ctx context.Context, l Lookup, k RecordKey) (crypto.ContentKey, error) {
	if k.SealID == "" {
		raw, err := crypto.UnwrapKey(s.master, k.Wrapped, centralKeyAAD(k.Tenant, k.RecordID))
		if err != nil {
			return crypto.ContentKey{}, fmt.Errorf("open key of record %s: %w: %w", k.RecordID, errBadRecordKey, err)
		}
		return contentKeyOf(k.RecordID, raw)
	}
	sk, err := s.sealKey(ctx, l, k.Tenant, k.SealID)
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("open key of record %s: %w", k.RecordID, err)
	}
	return unwrapRecordKey(sk, k.RecordID, k.Wrapped)
}

// unwrapRecordKey opens a record's content key wrapped under a seal key.
func unwrapRecordKey(sk crypto.ContentKey, recordID string, wrapped []byte) (crypto.ContentKey, error) {
	raw, err := crypto.UnwrapKey(crypto.DataKey(sk), wrapped, recordKeyAAD(recordID))
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("open key of record %s: %w: %w", recordID, errBadRecordKey, err)
	}
	return contentKeyOf(recordID, raw)
}

// contentKeyOf copies raw into a content key and clears it.
func contentKeyOf(recordID string, raw []byte) (crypto.ContentKey, error) {
	defer clear(raw)
	var ck crypto.ContentKey
	if len(raw) != len(ck) {
		return crypto.ContentKey{}, fmt.Errorf("open key of record %s: %w: %d bytes", recordID, errBadRecordKey, len(raw))
	}
	copy(ck[:], raw)
	return ck, nil
}

// checkPushKeys opens every seal and record key of a push before anything
// is stored, so that a key no one can open never reaches the feed (where
// it would stop the pull of every laptop of the tenant). It drops what
// does not open from req and returns, by record id, why the changes of
// those records are refused. A key whose seal is unknown is left in, for
// the push to answer as a bad request. Errors are the server's own.
func (s *Server) checkPushKeys(ctx context.Context, tenant string, req *syncproto.PushRequest) (map[string]string, error) {
	if len(req.Keys) == 0 && len(req.Seals) == 0 {
		return nil, nil
	}
	open := make(map[string]crypto.ContentKey, len(req.Seals)) // seal id -> seal key
	bad := map[string]error{}                                  // seal id -> why it does not open
	seals := req.Seals[:0]
	for _, sl := range req.Seals {
		sk, err := s.pushedSeal(ctx, tenant, sl)
		switch {
		case unusableKey(err):
			bad[sl.ID] = err
			s.log.Warn("push: seal refused", "tenant", tenant, "seal", sl.ID, "err", err)
			continue
		case err != nil:
			return nil, err
		}
		open[sl.ID] = sk
		seals = append(seals, sl)
	}
	req.Seals = seals

	var refused map[string]string
	keys := req.Keys[:0]
	for _, k := range req.Keys {
		sk, ok := open[k.SealID]
		err := bad[k.SealID]
		if !ok && err == nil {
			sk, err = s.sealKey(ctx, s.st, tenant, k.SealID)
			if errors.Is(err, ErrNotFound) {
				keys = append(keys, k) // unknown seal: the push refuses it whole
				continue
			}
		}
		if err == nil {
			var ck crypto.ContentKey
			ck, err = unwrapRecordKey(sk, k.RecordID, k.Wrapped)
			ck.Zero()
		}
		switch {
		case unusableKey(err):
			if refused == nil {
				refused = map[string]string{}
			}
			refused[k.RecordID] = refusedReason(err)
			s.log.Warn("push: record key refused", "tenant", tenant, "record", k.RecordID, "seal", k.SealID, "err", err)
		case err != nil:
			return nil, err
		default:
			keys = append(keys, k)
		}
	}
	req.Keys = keys
	return refused, nil
}

// pushedSeal opens a seal sent with a push. A seal the server has already
// is opened as stored (a push never replaces a stored seal).
func (s *Server) pushedSeal(ctx context.Context, tenant string, sl syncproto.Seal) (crypto.ContentKey, error) {
	sk, err := s.sealKey(ctx, s.st, tenant, sl.ID)
	if errors.Is(err, ErrNotFound) {
		return s.openSeal(ctx, tenant, sl.ID, sl.JWE)
	}
	return sk, err
}

// refusedReason is what a device is told of a change whose record key was
// refused.
func refusedReason(err error) string {
	if errors.Is(err, errBadSeal) {
		return "record key refused: its seal does not open with the server's key"
	}
	return "record key refused: it does not open under its seal"
}

// lru is a small least-recently-used cache of keys.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *lruEntry, most recent first
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	val crypto.ContentKey
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) (crypto.ContentKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return crypto.ContentKey{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).val, true
}

func (c *lru) put(key string, val crypto.ContentKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*lruEntry).val = val
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, val: val})
	for c.order.Len() > c.max {
		last := c.order.Back()
		ent := last.Value.(*lruEntry)
		ent.val.Zero()
		delete(c.items, ent.key)
		c.order.Remove(last)
	}
}
