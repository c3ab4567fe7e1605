package domain

import (
	"fmt"

	"github.com/google/uuid"
)

// NewID returns a new UUIDv7: time-ordered, so records created on one laptop
// sort roughly by creation time and index well, yet unique without any
// coordination between laptops.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only if the system's random source fails; nothing
		// sensible can continue without randomness.
		panic(fmt.Sprintf("domain: no randomness for UUIDv7: %v", err))
	}
	return id.String()
}

// ValidID reports whether s is a canonical UUID string.
func ValidID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
