package store

import (
	"errors"

	"github.com/buergerkoffer/kit/internal/sqlmigrate"
)

// Errors a caller can act on; test with errors.Is.
var (
	// ErrTooNew: the database was written by a newer version of the kit.
	// It is sqlmigrate's, which refuses such a database for both ends.
	ErrTooNew = sqlmigrate.ErrTooNew
	// ErrWrongPassword: the clerk name or password is not right. Which of the
	// two is deliberately not said.
	ErrWrongPassword = errors.New("store: wrong clerk name or password")
	// ErrNotSetUp: no clerk can unlock this laptop yet.
	ErrNotSetUp = errors.New("store: laptop not set up yet")
	// ErrAlreadySetUp: Setup on a laptop that already has clerks.
	ErrAlreadySetUp = errors.New("store: laptop already set up")
	// ErrNotFound: no such record (or clerk).
	ErrNotFound = errors.New("store: not found")
	// ErrStale: the record changed since the version the caller based its
	// change on; reload and apply again.
	ErrStale = errors.New("store: record changed meanwhile")
	// ErrImmutable: the citizen's data of a signed case cannot change.
	ErrImmutable = errors.New("store: signed case cannot change")
	// ErrShredded: the record's key was destroyed; its content is gone.
	ErrShredded = errors.New("store: record content destroyed")
	// ErrLocked: the session was locked.
	ErrLocked = errors.New("store: session locked")
	// ErrClerkName: a clerk's user name must have 1 to 64 characters.
	ErrClerkName = errors.New("store: clerk name must have 1 to 64 characters")
	// ErrShortPassword: a password must have at least MinPassword bytes.
	ErrShortPassword = errors.New("store: password too short")
	// ErrClerkExists: a clerk of that name exists already.
	ErrClerkExists = errors.New("store: clerk exists already")
	// ErrDiskFull: the laptop's disk (or the database's size limit) is
	// full; nothing of the write was kept, and nothing before it is lost.
	ErrDiskFull = errors.New("store: disk full")
	// ErrUnknownOwnChange: a pulled stub of this laptop's own change names
	// a feed position no change here holds (the push's answer never came,
	// or the store was restored); nothing of the chunk was kept. Pull the
	// page again with the own changes in full.
	ErrUnknownOwnChange = errors.New("store: pulled own change not known here")
)
