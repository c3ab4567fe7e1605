package fitconnect

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Callback freshness: FITKO requires refusing timestamps older than 5 minutes; one from
// more than a minute ahead of our clock is refused as well.
const (
	callbackMaxAge    = 5 * time.Minute
	callbackMaxFuture = time.Minute
)

// VerifyCallback checks a callback of the submission service: the header
// callback-authentication must be the hex-encoded HMAC-SHA512, keyed with the callback
// secret, of the header callback-timestamp (Unix seconds), a '.' and the raw body, as
// FITKO's callback documentation prescribes; the comparison takes constant time, and the
// timestamp must not be older than 5 minutes.
func VerifyCallback(secret []byte, timestamp, authentication string, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no callback secret configured", ErrCallbackRefused)
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w (timestamp is not Unix seconds)", ErrCallbackStale)
	}
	sent := time.Unix(secs, 0)
	if now.Sub(sent) > callbackMaxAge || sent.Sub(now) > callbackMaxFuture {
		return ErrCallbackStale
	}
	got, err := hex.DecodeString(authentication)
	if err != nil || len(got) != sha512.Size {
		return fmt.Errorf("%w (not a hex SHA-512 HMAC)", ErrCallbackMAC)
	}
	if !hmac.Equal(got, callbackMAC(secret, timestamp, body)) {
		return ErrCallbackMAC
	}
	return nil
}

func callbackMAC(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}
