package crypto

// A secret that a laptop's background service must read without a clerk's
// password (the device token that `syncd agent` sends with every request)
// is protected with what the operating system offers for that, so that a
// copy of the field store taken off the laptop (a backup, a stolen disk
// image read elsewhere) does not carry it in clear.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// localPrefix marks a value protected by ProtectLocal.
const localPrefix = "dpapi:"

// ErrLocalProtection: a value was protected by another operating system's
// key store (DPAPI) that this one cannot open.
var ErrLocalProtection = errors.New("crypto: value is protected by Windows DPAPI, which this system does not have")

// ProtectLocal returns secret as it is kept at rest on this machine: on
// Windows sealed with DPAPI in machine scope (CryptProtectData with
// CRYPTPROTECT_LOCAL_MACHINE, so the agent running as a service and the
// app under a clerk's account can both open it, and no other machine
// can), elsewhere unchanged. Values not marked as protected open as they
// are, so a token stored before this protection still works.
func ProtectLocal(secret string) (string, error) {
	b, ok, err := protectLocal([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("crypto: protect local secret: %w", err)
	}
	if !ok {
		return secret, nil
	}
	return localPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// UnprotectLocal opens what ProtectLocal returned.
func UnprotectLocal(stored string) (string, error) {
	enc, ok := strings.CutPrefix(stored, localPrefix)
	if !ok {
		return stored, nil
	}
	blob, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("crypto: open local secret: %w", err)
	}
	b, err := unprotectLocal(blob)
	if err != nil {
		return "", fmt.Errorf("crypto: open local secret: %w", err)
	}
	return string(b), nil
}

// localEntropy ties DPAPI blobs to this use, so another program's blob
// cannot be passed off as ours.
var localEntropy = []byte("buergerkoffer device secret v1")
