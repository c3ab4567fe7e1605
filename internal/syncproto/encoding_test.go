package syncproto_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

func TestPickEncoding(t *testing.T) {
	for accept, want := range map[string]string{
		"":                      "",
		"zstd, gzip":            "zstd",
		"gzip":                  "gzip",
		"gzip, zstd;q=0.5":      "gzip",
		"zstd;q=0, gzip":        "gzip",
		"br":                    "",
		"*":                     "zstd",
		"*;q=0":                 "",
		"ZSTD":                  "zstd",
		"identity, gzip;q=0.1":  "gzip",
		"gzip;q=0, zstd;q=0, *": "",
	} {
		if got := syncproto.PickEncoding(accept); got != want {
			t.Errorf("PickEncoding(%q) = %q, want %q", accept, got, want)
		}
	}
}

// A body survives both codings, in one piece and streamed with flushes.
func TestCodingsRoundTrip(t *testing.T) {
	body := bytes.Repeat([]byte(`{"entry":{"seq":1,"id":"01a227fc-3e81-77a0-aa30-1a48db87a412"}}`+"\n"), 2000)
	for _, coding := range []string{syncproto.EncodingZstd, syncproto.EncodingGzip} {
		var buf bytes.Buffer
		enc, err := syncproto.NewEncoder(&buf, coding)
		if err != nil {
			t.Fatal(err)
		}
		half := len(body) / 2
		enc.Write(body[:half])
		if err := enc.Flush(); err != nil {
			t.Fatal(err)
		}
		flushed := buf.Len()
		enc.Write(body[half:])
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if flushed == 0 || buf.Len() >= len(body)/4 {
			t.Errorf("%s: %d bytes after the flush, %d in all for %d", coding, flushed, buf.Len(), len(body))
		}
		// What was flushed decodes on its own: a stream reader gets the
		// first half before the encoder is closed.
		dec, _ := syncproto.NewDecoder(bytes.NewReader(buf.Bytes()[:flushed]), coding)
		got, _ := io.ReadAll(io.LimitReader(dec, int64(half)))
		dec.Close()
		if !bytes.Equal(got, body[:half]) {
			t.Errorf("%s: the flushed part decodes to %d bytes, want %d", coding, len(got), half)
		}
		dec, _ = syncproto.NewDecoder(bytes.NewReader(buf.Bytes()), coding)
		got, err = io.ReadAll(dec)
		dec.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: round trip gave %d bytes, %v", coding, len(got), err)
		}
	}
}

// Corrupt and cut bodies fail with a CodingError, not a silent EOF.
func TestDecoderErrors(t *testing.T) {
	body := []byte(strings.Repeat("Bürgerkoffer ", 1000))
	for _, coding := range []string{syncproto.EncodingZstd, syncproto.EncodingGzip} {
		z, err := syncproto.Compress(body, coding)
		if err != nil {
			t.Fatal(err)
		}
		flipped := bytes.Clone(z)
		flipped[len(flipped)/2] ^= 0xff
		spoilt := map[string][]byte{"cut": z[:len(z)-5], "flipped": flipped}
		if coding == syncproto.EncodingGzip {
			spoilt["empty"] = nil // (no zstd frame at all reads as an empty body)
		}
		for name, b := range spoilt {
			dec, err := syncproto.NewDecoder(bytes.NewReader(b), coding)
			if err == nil {
				_, err = io.ReadAll(dec)
				dec.Close()
			}
			var ce *syncproto.CodingError
			if !errors.As(err, &ce) || ce.Coding != coding {
				t.Errorf("%s %s body: %v, want a CodingError", name, coding, err)
			}
		}
	}
	if _, err := syncproto.NewDecoder(bytes.NewReader(nil), "br"); !errors.Is(err, syncproto.ErrUnknownCoding) {
		t.Errorf("br: %v", err)
	}
}
