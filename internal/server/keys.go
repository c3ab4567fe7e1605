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
	"fmt"
	"sync"

	"github.com/buergerkoffer/kit/internal/crypto"
)

func recordKeyAAD(recordID string) []byte { return []byte("record_key:" + recordID) }
func changeAAD(changeID string) []byte    { return []byte("change:" + changeID) }
func tenantKeyAAD(tenant, kid string) []byte {
	return []byte("tenant_key:" + tenant + ":" + kid)
}
func centralKeyAAD(tenant, recordID string) []byte {
	return []byte("central_record_key:" + tenant + ":" + recordID)
}

// tenantKey returns a tenant's private key, opened once and kept.
func (s *Server) tenantKey(ctx context.Context, tenant string) (*rsa.PrivateKey, error) {
	s.keyMu.Lock()
	k, ok := s.tenantKeys[tenant]
	s.keyMu.Unlock()
	if ok {
		return k, nil
	}
	tk, err := s.st.TenantKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	der, err := crypto.UnwrapKey(s.master, tk.PrivateWrapped, tenantKeyAAD(tenant, tk.KeyID))
	if err != nil {
		return nil, fmt.Errorf("open key of tenant %s: %w", tenant, err)
	}
	defer clear(der)
	if k, err = crypto.ParsePrivateKeyDER(der); err != nil {
		return nil, fmt.Errorf("open key of tenant %s: %w", tenant, err)
	}
	s.keyMu.Lock()
	s.tenantKeys[tenant] = k
	s.keyMu.Unlock()
	return k, nil
}

// sealKey returns a device's seal key, opening its JWE (one RSA operation)
// only if it is not in the cache.
func (s *Server) sealKey(ctx context.Context, l Lookup, tenant, sealID string) (crypto.ContentKey, error) {
	ck := tenant + "/" + sealID
	if k, ok := s.seals.get(ck); ok {
		return k, nil
	}
	jwe, ok, err := l.Seal(ctx, tenant, sealID)
	if err != nil {
		return crypto.ContentKey{}, err
	}
	if !ok {
		return crypto.ContentKey{}, fmt.Errorf("seal %s: %w", sealID, ErrNotFound)
	}
	priv, err := s.tenantKey(ctx, tenant)
	if err != nil {
		return crypto.ContentKey{}, err
	}
	k, err := crypto.OpenKey(priv, jwe)
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("open seal %s: %w", sealID, err)
	}
	s.seals.put(ck, k)
	return k, nil
}

// contentKey opens a record's content key.
func (s *Server) contentKey(ctx context.Context, l Lookup, k RecordKey) (crypto.ContentKey, error) {
	var raw []byte
	var err error
	if k.SealID == "" {
		raw, err = crypto.UnwrapKey(s.master, k.Wrapped, centralKeyAAD(k.Tenant, k.RecordID))
	} else {
		var sk crypto.ContentKey
		if sk, err = s.sealKey(ctx, l, k.Tenant, k.SealID); err != nil {
			return crypto.ContentKey{}, err
		}
		raw, err = crypto.UnwrapKey(crypto.DataKey(sk), k.Wrapped, recordKeyAAD(k.RecordID))
	}
	if err != nil {
		return crypto.ContentKey{}, fmt.Errorf("open key of record %s: %w", k.RecordID, err)
	}
	defer clear(raw)
	var ck crypto.ContentKey
	if len(raw) != len(ck) {
		return crypto.ContentKey{}, fmt.Errorf("open key of record %s: %d bytes", k.RecordID, len(raw))
	}
	copy(ck[:], raw)
	return ck, nil
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
