//go:build !windows

package crypto

// Without DPAPI the secret is kept as it is: the field store's file
// permissions protect it (see README, "Keys").
func protectLocal(secret []byte) ([]byte, bool, error) { return nil, false, nil }

func unprotectLocal(blob []byte) ([]byte, error) { return nil, ErrLocalProtection }
