package crypto_test

import (
	"fmt"

	"github.com/buergerkoffer/kit/internal/crypto"
)

// A clerk unlocks the app, the app encrypts a field at rest, and a signed
// case is sealed for the server with one RSA operation.
func Example() {
	server, _, err := sharedKeys()
	if err != nil {
		panic(err)
	}

	// Enrolment: a data key, wrapped under the clerk's password.
	dk, _ := crypto.NewDataKey()
	wrapped, _ := crypto.WrapWithPassword(dk, []byte("Korrekt Pferd"), crypto.TestKDFParams())
	dk.Zero()

	// Unlock.
	dk, err = crypto.UnwrapWithPassword(wrapped, []byte("Korrekt Pferd"))
	if err != nil {
		panic(err)
	}
	defer dk.Zero()

	// At rest: bound to table, column and record.
	aad := []byte("persons/family_name/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	blob, _ := crypto.Encrypt(dk, []byte("Mustermann"), aad)

	// For the server: one content key per case, sealed once.
	kid, _ := crypto.KeyID(&server.PublicKey)
	ck, _ := crypto.NewContentKey()
	sealedKey, _ := crypto.SealKey(&server.PublicKey, ck, kid)
	sealedValue, _ := crypto.SealValue(ck, []byte("Mustermann"), []byte("change/1/family_name"))
	ck.Zero()

	// On the server.
	ck2, _ := crypto.OpenKey(server, sealedKey)
	v, _ := crypto.OpenValue(ck2, sealedValue, []byte("change/1/family_name"))
	local, _ := crypto.Decrypt(dk, blob, aad)
	fmt.Println(string(v), string(local))
	// Output: Mustermann Mustermann
}
