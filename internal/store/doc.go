// Package store owns the field store of a laptop: one SQLite file (pure Go,
// modernc.org/sqlite) shared by the clerks' app and `syncd agent`, two
// processes working on it at once.
//
// A Store alone (what the agent opens) sees versions, field names, the outbox
// and sealed bytes, never a citizen's data in clear. A Session (what the app
// gets when a clerk unlocks the laptop with a password) holds the device
// data key and reads and writes records: every mutation writes, in the same
// transaction, the record, an entry in the change log (the transactional
// outbox that sync pushes) and an entry in the keyed audit chain. The
// clerks' entries are keyed by the data key, the agent's by a key of its
// own; the server anchors the chain's head (audit.go says why and how).
package store
