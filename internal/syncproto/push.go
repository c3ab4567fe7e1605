package syncproto

// The push body as it travels. A PushRequest is what the agent means; the
// body it sends is a PushBody, which a server of every revision reads the
// same (unknown names are ignored, absent ones are empty):
//
//   - Every change names what varies last and what repeats from change to
//     change first, so that zstd finds the repeats as one match; it leaves
//     out "device" (the server sets it from the token) and an empty "old".
//   - Revision 2 (RevisionCompact): a change's id and record id travel as
//     the 22 base64url characters of their 16 bytes (WireID), not as 36
//     hex digits and dashes (zstd codes the hex digits with the table of
//     the sealed values' base64: 14 bytes a change more); a record's key
//     travels inline with the record's first change of the push
//     ("key_seal", "key_wrapped") instead of in Keys, which repeated the
//     record id; and the server
//     answers a laptop that speaks revision 2 without the change ids in its
//     results (one result per change, in order, as always: the laptop
//     knows the ids). An agent sends inline keys only to a server that
//     speaks revision 2; such a server still takes revision-1 bodies.
//
// Together this is ≈ 450 bytes on the socket per pushed change with a
// 200-byte payload under zstd, answer included, against ≈ 1,230 for the
// revision-1 body uncompressed (`syncd bench`).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
)

// RevisionCompact is the revision of the compact push (and pull) forms.
const RevisionCompact = 2

// PushBody is the JSON of a push request as sent.
type PushBody struct {
	Seals   []Seal       `json:"seals,omitempty"`
	Keys    []RecordKey  `json:"keys,omitempty"`
	Changes []PushChange `json:"changes"`
	Audit   *AuditHead   `json:"audit,omitempty"`
}

// PushChange is a Change as a push sends it, repeated parts first.
type PushChange struct {
	RecordType  string                     `json:"record_type"`
	Op          string                     `json:"op"`
	Fields      []string                   `json:"fields"`
	Plain       map[string]PushFieldChange `json:"plain,omitempty"`
	BaseVersion int64                      `json:"base_version"`
	Clerk       string                     `json:"clerk"`
	// KeySeal and KeyWrapped: the record's key (revision 2), as a
	// RecordKey of Keys would carry it.
	KeySeal    string `json:"key_seal,omitempty"`
	HLC        string `json:"hlc"`
	CreatedAt  string `json:"created_at"`
	ID         WireID `json:"id"`
	RecordID   WireID `json:"record_id"`
	KeyWrapped []byte `json:"key_wrapped,omitempty"`
	Secret     []byte `json:"secret,omitempty"`
}

// WireID is a UUID in a push body: decoded, always the canonical form
// (36 characters, lower-case hex); revision 2 sends it as the 22 base64url
// characters (no padding) of its 16 bytes. Anything else decodes as it
// is, for the server's validation to refuse.
type WireID string

// CompactID returns the revision-2 form of a canonical UUID; an id that is
// not canonical stays as it is, so that it decodes to itself.
func CompactID(s string) WireID {
	u, ok := parseUUID(s)
	if !ok {
		return WireID(s)
	}
	return WireID(base64.RawURLEncoding.EncodeToString(u[:]))
}

// UnmarshalJSON takes either form.
func (id *WireID) UnmarshalJSON(data []byte) error {
	var s string
	if n := len(data); n >= 2 && data[0] == '"' && data[n-1] == '"' && bytes.IndexByte(data, '\\') < 0 {
		s = string(data[1 : n-1]) // no escapes: the common case, without a decoder
	} else if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	if len(s) == 22 {
		var b [16]byte
		if n, err := base64.RawURLEncoding.Decode(b[:], []byte(s)); err == nil && n == 16 {
			s = formatUUID(b)
		}
	}
	*id = WireID(s)
	return nil
}

// PushFieldChange is a FieldChange without an empty old value.
type PushFieldChange struct {
	Old string `json:"old,omitempty"`
	New string `json:"new"`
}

// NewPushBody writes req as a body for a server that speaks revision rev
// (the newest both sides speak): with inline keys from RevisionCompact on.
func NewPushBody(req *PushRequest, rev int) PushBody {
	b := PushBody{Seals: req.Seals, Audit: req.Audit, Changes: make([]PushChange, len(req.Changes))}
	var inline map[string]*RecordKey
	if rev >= RevisionCompact {
		inline = make(map[string]*RecordKey, len(req.Keys))
		for i := range req.Keys {
			inline[req.Keys[i].RecordID] = &req.Keys[i]
		}
	} else {
		b.Keys = req.Keys
	}
	id := func(s string) WireID { return WireID(s) }
	if rev >= RevisionCompact {
		id = CompactID
	}
	for i := range req.Changes {
		c := &req.Changes[i]
		pc := PushChange{RecordType: c.RecordType, Op: c.Op, Fields: c.Fields, BaseVersion: c.BaseVersion, Clerk: c.Clerk,
			HLC: c.HLC, CreatedAt: c.CreatedAt, ID: id(c.ID), RecordID: id(c.RecordID), Secret: c.Secret}
		if c.Plain != nil {
			pc.Plain = make(map[string]PushFieldChange, len(c.Plain))
			for f, v := range c.Plain {
				pc.Plain[f] = PushFieldChange(v)
			}
		}
		if k := inline[c.RecordID]; k != nil {
			pc.KeySeal, pc.KeyWrapped = k.SealID, k.Wrapped
			delete(inline, c.RecordID)
		}
		b.Changes[i] = pc
	}
	// A key without a change of its record in this push (none is made so,
	// but the form allows it) goes in Keys.
	for i := range req.Keys {
		if inline[req.Keys[i].RecordID] != nil {
			b.Keys = append(b.Keys, req.Keys[i])
		}
	}
	return b
}

// Request turns a received body back into what the device meant: inline
// keys join Keys, in the order of their changes. Device is left empty (the
// server sets it).
func (b *PushBody) Request() PushRequest {
	req := PushRequest{Seals: b.Seals, Keys: b.Keys, Audit: b.Audit, Changes: make([]Change, len(b.Changes))}
	for i := range b.Changes {
		pc := &b.Changes[i]
		c := Change{ID: string(pc.ID), RecordID: string(pc.RecordID), RecordType: pc.RecordType, Op: pc.Op, Fields: pc.Fields,
			Secret: pc.Secret, BaseVersion: pc.BaseVersion, HLC: pc.HLC, Clerk: pc.Clerk, CreatedAt: pc.CreatedAt}
		if pc.Plain != nil {
			c.Plain = make(map[string]FieldChange, len(pc.Plain))
			for f, v := range pc.Plain {
				c.Plain[f] = FieldChange(v)
			}
		}
		if pc.KeySeal != "" || len(pc.KeyWrapped) > 0 {
			req.Keys = append(req.Keys, RecordKey{RecordID: string(pc.RecordID), SealID: pc.KeySeal, Wrapped: pc.KeyWrapped})
		}
		req.Changes[i] = c
	}
	return req
}

// PushAnswer is the JSON of a push answer to a laptop that speaks
// revision 2: PushResponse without the ids of its results.
type PushAnswer struct {
	Results    []PushResultCompact `json:"results"`
	AuditKnown int64               `json:"audit_known,omitempty"`
}

// PushResultCompact is a PushResult without its id.
type PushResultCompact struct {
	Status    string `json:"status"`
	Seq       int64  `json:"seq,omitempty"`
	Version   int64  `json:"version,omitempty"`
	Conflicts int    `json:"conflicts,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Restamped bool   `json:"restamped,omitempty"`
}

// CompactAnswer drops the ids of resp's results.
func CompactAnswer(resp *PushResponse) PushAnswer {
	a := PushAnswer{AuditKnown: resp.AuditKnown, Results: make([]PushResultCompact, len(resp.Results))}
	for i, r := range resp.Results {
		a.Results[i] = PushResultCompact{Status: r.Status, Seq: r.Seq, Version: r.Version, Conflicts: r.Conflicts,
			Reason: r.Reason, Restamped: r.Restamped}
	}
	return a
}
