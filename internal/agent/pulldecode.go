package agent

// Which form a pull answer comes in: a server of revision 2 or later
// frames it (syncproto/pullframe.go) and says so in its Content-Type; one
// of revision 1 sends JSON lines.

import (
	"encoding/json"
	"io"
	"mime"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// pullDecoder returns the reader of a pull body of that content type.
func pullDecoder(contentType string, body io.Reader) func(*syncproto.PullLine) error {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == syncproto.PullTypeFrames {
		return syncproto.NewPullReader(body).Next
	}
	dec := json.NewDecoder(body)
	return func(line *syncproto.PullLine) error { return dec.Decode(line) }
}
