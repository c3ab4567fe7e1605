package ui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/buergerkoffer/kit/internal/store"
)

// Settings are the laptop's app settings. They hold no personal data and
// live in the field store's meta table, so the laptop keeps them across
// updates and the agent's database is the one place to back up.
type Settings struct {
	Lang      string        // "de" or "en"
	LockAfter time.Duration // inactivity lock; BSI SYS.2.1.A1 asks for one
	IDReader  string        // serial port of the ID-document reader
	Pad       string        // serial port of the signature pad
}

// LockChoices are the inactivity timeouts a clerk can choose.
var LockChoices = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute}

// DefaultSettings are a new laptop's settings.
func DefaultSettings() Settings {
	return Settings{Lang: "de", LockAfter: 5 * time.Minute}
}

const (
	metaLang      = "app.lang"
	metaLockAfter = "app.lock_after_s"
	metaIDReader  = "app.port.id_reader"
	metaPad       = "app.port.pad"
)

// LoadSettings reads the settings; unset ones keep their defaults.
func LoadSettings(ctx context.Context, st *store.Store) (Settings, error) {
	s := DefaultSettings()
	get := func(key string) (string, error) {
		v, err := st.Meta(ctx, key)
		if err != nil {
			return "", fmt.Errorf("settings: %s: %w", key, err)
		}
		return v, nil
	}
	var err error
	var v string
	if v, err = get(metaLang); err != nil {
		return s, err
	} else if v == "de" || v == "en" {
		s.Lang = v
	}
	if v, err = get(metaLockAfter); err != nil {
		return s, err
	} else if n, perr := strconv.Atoi(v); perr == nil && n > 0 {
		s.LockAfter = time.Duration(n) * time.Second
	}
	if s.IDReader, err = get(metaIDReader); err != nil {
		return s, err
	}
	if s.Pad, err = get(metaPad); err != nil {
		return s, err
	}
	return s, nil
}

// SaveSettings writes the settings.
func SaveSettings(ctx context.Context, st *store.Store, s Settings) error {
	for k, v := range map[string]string{
		metaLang: s.Lang, metaLockAfter: strconv.Itoa(int(s.LockAfter / time.Second)),
		metaIDReader: s.IDReader, metaPad: s.Pad,
	} {
		if err := st.SetMeta(ctx, k, v); err != nil {
			return fmt.Errorf("settings: %s: %w", k, err)
		}
	}
	return nil
}
