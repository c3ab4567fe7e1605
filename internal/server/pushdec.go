package server

// A push body is the server's hottest input. It is read once and decoded
// with goccy/go-json (encoding/json's decode was a quarter of the server's
// CPU per push). A body go-json refuses goes to encoding/json on the same
// bytes, so that every error answer is the one encoding/json gives.

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/buergerkoffer/kit/internal/syncproto"
	gojson "github.com/goccy/go-json"
)

// decodePush reads a push body (syncproto.PushBody, of either revision)
// into req; false if it answered an error.
func decodePush(w http.ResponseWriter, r *http.Request, req *syncproto.PushRequest) bool {
	var b syncproto.PushBody
	if !decodePushBody(w, r, &b) {
		return false
	}
	*req = b.Request()
	return true
}

func decodePushBody(w http.ResponseWriter, r *http.Request, b *syncproto.PushBody) bool {
	body := http.MaxBytesReader(w, r.Body, syncproto.MaxBodyBytes)
	buf, err := readBody(body, r.ContentLength)
	if err != nil {
		// Too big or cut off: the decoder sees the same bytes and then
		// the same error, as when it read the body itself.
		return decodeJSON(w, io.MultiReader(bytes.NewReader(buf), errReader{err}), b)
	}
	if gojson.Unmarshal(buf, b) == nil {
		return true
	}
	*b = syncproto.PushBody{}
	return decodeJSON(w, bytes.NewReader(buf), b)
}

// compactAnswers reports whether the laptop behind r takes push answers
// without change ids (revision 2).
func (s *Server) compactAnswers(r *http.Request) bool {
	client, ok := syncproto.ParseRange(r.Header.Get(syncproto.HeaderProtocol))
	return ok && s.protocol.Common(client) >= syncproto.RevisionCompact
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// readBody reads r to its end, sized by the request's Content-Length.
func readBody(r io.Reader, n int64) ([]byte, error) {
	size := 4096
	if n > 0 && n < syncproto.MaxBodyBytes {
		size = int(n) + 1
	}
	b := make([]byte, 0, size)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			if errors.Is(err, io.EOF) {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
