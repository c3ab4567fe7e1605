// Package domain owns the things a Bürgerkoffer field day is made of: clerks,
// devices, visits, appointments, persons, cases and their attachments, and
// the rules that hold whatever store they live in (the status machine of a
// case, which fields are personal data).
//
// Every synced record is also a flat set of named string fields (Fields).
// The store encrypts the personal ones, the change log records field-level
// changes, and the sync engine merges field by field; the typed structs here
// are the view the app works with.
package domain
