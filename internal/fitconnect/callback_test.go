package fitconnect_test

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// callbackBody is FITKO's documented example body of a new-submissions callback.
const callbackBody = `{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions","submissionIds":["f39ab143-d91a-474a-b69f-b00f1a1873c2"]}`

func sign(secret []byte, ts string, body string) []byte {
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(ts + "." + body))
	return m.Sum(nil)
}

func TestVerifyCallback(t *testing.T) {
	secret := []byte("callback-secret-from-the-portal")
	now := time.Unix(1672527599, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := sign(secret, ts, callbackBody)
	good := hex.EncodeToString(mac)

	if err := fitconnect.VerifyCallback(secret, ts, good, []byte(callbackBody), now.Add(4*time.Minute)); err != nil {
		t.Fatalf("valid callback refused: %v", err)
	}
	if err := fitconnect.VerifyCallback(secret, ts, strings.ToUpper(good), []byte(callbackBody), now); err != nil {
		t.Fatalf("upper-case hex refused: %v", err)
	}
	cases := []struct {
		name, ts, auth, body string
		now                  time.Time
		want                 error
	}{
		{"wrong secret", ts, hex.EncodeToString(sign([]byte("other"), ts, callbackBody)), callbackBody, now, fitconnect.ErrCallbackMAC},
		{"body changed", ts, good, strings.Replace(callbackBody, "f39ab143", "f39ab144", 1), now, fitconnect.ErrCallbackMAC},
		{"timestamp changed", strconv.FormatInt(now.Unix()+1, 10), good, callbackBody, now, fitconnect.ErrCallbackMAC},
		{"base64 not hex", ts, base64.StdEncoding.EncodeToString(mac), callbackBody, now, fitconnect.ErrCallbackMAC},
		{"truncated", ts, good[:64], callbackBody, now, fitconnect.ErrCallbackMAC},
		{"empty", ts, "", callbackBody, now, fitconnect.ErrCallbackMAC},
		{"older than 5 minutes", ts, good, callbackBody, now.Add(5*time.Minute + time.Second), fitconnect.ErrCallbackStale},
		{"from the future", ts, good, callbackBody, now.Add(-10 * time.Minute), fitconnect.ErrCallbackStale},
		{"milliseconds", ts + "000", hex.EncodeToString(sign(secret, ts+"000", callbackBody)), callbackBody, now, fitconnect.ErrCallbackStale},
		{"not a number", "yesterday", good, callbackBody, now, fitconnect.ErrCallbackStale},
	}
	for _, tc := range cases {
		err := fitconnect.VerifyCallback(secret, tc.ts, tc.auth, []byte(tc.body), tc.now)
		if !errors.Is(err, tc.want) || !errors.Is(err, fitconnect.ErrCallbackRefused) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := fitconnect.VerifyCallback(nil, ts, good, []byte(callbackBody), now); !errors.Is(err, fitconnect.ErrCallbackRefused) {
		t.Errorf("no secret: err = %v", err)
	}
}
