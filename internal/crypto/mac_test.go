package crypto_test

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
)

func TestAuditMACKey_DerivedPerDataKey(t *testing.T) {
	dk1, _ := crypto.NewDataKey()
	dk2, _ := crypto.NewDataKey()
	a, err := crypto.AuditMACKey(dk1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := crypto.AuditMACKey(dk1)
	other, _ := crypto.AuditMACKey(dk2)
	if a != again {
		t.Error("the same data key derives another audit key")
	}
	if a == other || [32]byte(a) == [32]byte(dk1) {
		t.Error("the audit key is not a key of its own")
	}
	msg := []byte(`[1,"x"]`)
	if got, want := crypto.MACHex(a, msg), crypto.MACHex(again, msg); !crypto.EqualMACHex(got, want) || len(got) != 64 {
		t.Errorf("MACHex = %q, %q", got, want)
	}
	if crypto.EqualMACHex(crypto.MACHex(a, msg), crypto.MACHex(other, msg)) {
		t.Error("two keys give the same MAC")
	}
}
