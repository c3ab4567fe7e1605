// Tests for the frame decoders and the assembler: every framing, whole and in
// pieces, with line noise, broken frames and lost lines.
package idreader_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/hardware/idreader"
)

var (
	td3 = []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	td2 = []string{
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"D231458907UTO7408122F1204159<<<<<<<6",
	}
	td1 = []string{
		"IDD<<T220001293<<<<<<<<<<<<<<<",
		"6408125<2010315D<<<<<<<<<<<<<4",
		"MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
	}
	// A TD1 whose holder's date of birth is unknown: its second line
	// starts with fillers (ICAO 9303-3 §4.8).
	td1NoBirthDate = []string{
		"I<UTOD231458907<<<<<<<<<<<<<<<",
		"<<<<<<0F1204159UTO<<<<<<<<<<<6",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	// A French ID card of before 2021 (FR-CNI), built from the published
	// layout with a fictitious holder (see internal/mrz rules_test.go).
	// Its first line ends in digits (the issuing office), unlike the first
	// line of any ICAO two-line document.
	frcni = []string{
		"IDFRAMARTIN<<<<<<<<<<<<<<<<<<<093045",
		"1205930123451ANNE<<MARIE<<<6906207F1",
	}
)

// rteTD2 is td2 as an RTE block, written out by hand: LEN 95 (0x5f) counts
// 'O' through ETX, BCC 0x4c is the XOR of everything after SOH up to ETX.
var rteTD2 = []byte("\x01\x5f\x00OU\x02\x00" +
	"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<________\r" +
	"D231458907UTO7408122F1204159<<<<<<<6________\r" +
	"\x03\x4c")

func plain(lines []string, eol string) []byte {
	return []byte(strings.Join(lines, eol) + eol)
}

func stxDoc(lines []string) []byte {
	return []byte("\x02" + strings.Join(lines, "\r") + "\r\x03")
}

func stxPerLine(lines []string) []byte {
	var b []byte
	for _, l := range lines {
		b = append(b, "\x02"+l+"\x03"...)
	}
	return b
}

// rte builds an RTE block the way rteTD2 was built.
func rte(lines []string) []byte {
	body := []byte("OU\x02\x00")
	for _, l := range lines {
		if len(lines) == 2 {
			l += strings.Repeat("_", 44-len(l))
		}
		body = append(append(body, l...), '\r')
	}
	body = append(body, 0x03)
	b := append([]byte{0x01, byte(len(body)), byte(len(body) >> 8)}, body...)
	return append(b, idreader.RTEChecksum(b[1:]))
}

func lines(docs []idreader.Document) [][]string {
	var out [][]string
	for _, d := range docs {
		out = append(out, d.Lines)
	}
	return out
}

// feed decodes b in pieces of size n (0: at once) and then flushes.
func feed(d *idreader.Decoder, b []byte, n int) ([]idreader.Document, []error) {
	if n <= 0 {
		n = len(b) + 1
	}
	var docs []idreader.Document
	var errs []error
	for len(b) > 0 {
		k := min(n, len(b))
		ds, es := d.Feed(b[:k])
		docs, errs = append(docs, ds...), append(errs, es...)
		b = b[k:]
	}
	ds, es := d.Flush()
	return append(docs, ds...), append(errs, es...)
}

func TestRTEGolden(t *testing.T) {
	if got := rte(td2); !bytes.Equal(got, rteTD2) {
		t.Fatalf("rte(td2) = %q, want %q", got, rteTD2)
	}
}

// Every framing delivers the documents unchanged, whether the port hands
// over everything at once or one byte at a time.
func TestDecoder_Framings(t *testing.T) {
	tests := []struct {
		name    string
		framing idreader.Framing
		in      []byte
		want    [][]string
	}{
		{"plain CR TD3", idreader.FramingPlain, plain(td3, "\r"), [][]string{td3}},
		{"plain CRLF TD1", idreader.FramingPlain, plain(td1, "\r\n"), [][]string{td1}},
		{"plain LF TD2", idreader.FramingPlain, plain(td2, "\n"), [][]string{td2}},
		{"stx document", idreader.FramingSTX, stxDoc(td1), [][]string{td1}},
		{"stx per line", idreader.FramingSTX, stxPerLine(td3), [][]string{td3}},
		{"stx with CRLF after ETX", idreader.FramingSTX, append(stxDoc(td2), "\r\n"...), [][]string{td2}},
		{"rte TD2 golden", idreader.FramingRTE, rteTD2, [][]string{td2}},
		{"rte TD1 unpadded", idreader.FramingRTE, rte(td1), [][]string{td1}},
		{"rte TD3", idreader.FramingRTE, rte(td3), [][]string{td3}},
		{"three documents", idreader.FramingPlain, slices.Concat(plain(td1, "\r"), plain(td2, "\r\n"), plain(td3, "\r")), [][]string{td1, td2, td3}},
		{"auto, every framing", idreader.FramingAuto, slices.Concat(plain(td1, "\r"), stxDoc(td2), rte(td3), stxPerLine(td1), rteTD2, plain(td3, "\r\n")), [][]string{td1, td2, td3, td1, td2, td3}},
		{"plain, last line unterminated", idreader.FramingPlain, []byte(strings.Join(td3, "\r")), [][]string{td3}},
		{"plain TD1, unknown date of birth", idreader.FramingPlain, plain(td1NoBirthDate, "\r"), [][]string{td1NoBirthDate}},
		{"rte TD1, unknown date of birth", idreader.FramingRTE, rte(td1NoBirthDate), [][]string{td1NoBirthDate}},
		{"plain FR-CNI", idreader.FramingPlain, plain(frcni, "\r"), [][]string{frcni}},
		{"stx FR-CNI", idreader.FramingSTX, stxDoc(frcni), [][]string{frcni}},
		{"rte FR-CNI", idreader.FramingRTE, rte(frcni), [][]string{frcni}},
		{"auto, FR-CNI between others", idreader.FramingAuto, slices.Concat(plain(td2, "\r"), stxPerLine(frcni), rte(frcni), plain(td1, "\r")), [][]string{td2, frcni, frcni, td1}},
	}
	for _, tt := range tests {
		for _, piece := range []int{0, 1, 7} {
			d := idreader.NewDecoder(tt.framing)
			docs, errs := feed(d, tt.in, piece)
			if got := lines(docs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s in pieces of %d: got %q, want %q", tt.name, piece, got, tt.want)
			}
			if len(errs) != 0 || d.Skipped() != 0 {
				t.Errorf("%s in pieces of %d: errors %v, skipped %d; want none", tt.name, piece, errs, d.Skipped())
			}
		}
	}
}

// Line noise around and inside the stream is skipped, counted and reported;
// the documents around it still come through.
func TestDecoder_Garbage(t *testing.T) {
	noise := []byte("\x00\xff#~\x80")
	tests := []struct {
		name    string
		framing idreader.Framing
		in      []byte
		want    [][]string
	}{
		{"plain", idreader.FramingPlain, slices.Concat(noise, plain(td3, "\r"), noise, plain(td1, "\r\n"), noise), [][]string{td3, td1}},
		{"stx", idreader.FramingSTX, slices.Concat(noise, stxDoc(td3), noise, stxDoc(td1), noise), [][]string{td3, td1}},
		{"rte", idreader.FramingRTE, slices.Concat(noise, rte(td3), noise, rte(td1), noise), [][]string{td3, td1}},
		{"auto", idreader.FramingAuto, slices.Concat(noise, rte(td3), noise, stxDoc(td1), noise, plain(td2, "\r"), noise), [][]string{td3, td1, td2}},
		// A stray SOH followed by plausible bytes must not swallow the
		// block that follows.
		{"rte after stray SOH", idreader.FramingRTE, slices.Concat([]byte("\x01\x10\x00OU"), rte(td3)), [][]string{td3}},
		{"rte after cut-off block", idreader.FramingAuto, slices.Concat(rte(td1)[:40], rte(td3)), [][]string{td3}},
	}
	for _, tt := range tests {
		for _, piece := range []int{0, 1, 5} {
			d := idreader.NewDecoder(tt.framing)
			docs, errs := feed(d, tt.in, piece)
			if got := lines(docs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s in pieces of %d: got %q, want %q", tt.name, piece, got, tt.want)
			}
			if len(errs) == 0 || d.Skipped() == 0 {
				t.Errorf("%s: no frame error reported", tt.name)
			}
			dropped := 0
			for _, err := range errs {
				var fe *idreader.FrameError
				if !errors.As(err, &fe) || !errors.Is(err, idreader.ErrFrame) {
					t.Fatalf("%s: error %v is not a FrameError", tt.name, err)
				}
				dropped += fe.Bytes
			}
			if dropped != d.Skipped() {
				t.Errorf("%s: errors count %d bytes, Skipped %d", tt.name, dropped, d.Skipped())
			}
		}
	}
}

func TestDecoder_Plain_NoiseCount(t *testing.T) {
	d := idreader.NewDecoder(idreader.FramingPlain)
	_, errs := feed(d, slices.Concat([]byte("\x00\xff\x80"), plain(td3, "\r")), 0)
	if got, want := d.Skipped(), 3; got != want {
		t.Errorf("Skipped = %d, want %d (errors %v)", got, want, errs)
	}
}

// Broken frames are dropped with the reason.
func TestDecoder_BrokenFrames(t *testing.T) {
	badBCC := rte(td3)
	badBCC[len(badBCC)-1] ^= 0xff
	noETX := rte(td3)
	noETX[len(noETX)-2] = '<'
	tests := []struct {
		name       string
		framing    idreader.Framing
		in         []byte
		wantReason string
	}{
		{"rte bad checksum", idreader.FramingRTE, badBCC, "bad checksum"},
		{"rte ETX missing", idreader.FramingRTE, noETX, "ETX missing"},
		{"rte length zero", idreader.FramingRTE, []byte("\x01\x00\x00OU\x02"), "bad length"},
		{"rte one line short", idreader.FramingRTE, rte(td3[:1]), "incomplete document"},
		{"stx not terminated", idreader.FramingSTX, []byte("\x02" + td3[0] + "\r\x02"), "frame not terminated"},
		{"line too long", idreader.FramingPlain, []byte(td3[0] + td3[1] + "\r"), "line too long"},
		{"not an MRZ line", idreader.FramingPlain, []byte("READY\r"), "not an MRZ line"},
		{"second line alone", idreader.FramingPlain, []byte(td3[1] + "\r"), "line without the lines before it"},
		{"first line alone", idreader.FramingPlain, []byte(td3[0] + "\r"), "incomplete document"},
		{"plain bytes to an RTE decoder", idreader.FramingRTE, plain(td3, "\r"), "unexpected bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := idreader.NewDecoder(tt.framing)
			docs, errs := feed(d, tt.in, 0)
			if len(docs) != 0 {
				t.Errorf("got documents %q, want none", lines(docs))
			}
			var reasons []string
			for _, err := range errs {
				var fe *idreader.FrameError
				if errors.As(err, &fe) {
					reasons = append(reasons, fe.Reason)
				}
			}
			if !slices.Contains(reasons, tt.wantReason) {
				t.Errorf("reasons %q, want %q among them", reasons, tt.wantReason)
			}
		})
	}
}

// A lost line costs one document, not the ones after it.
func TestDecoder_LostLine(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want [][]string
	}{
		{"TD3 second line lost", slices.Concat([]byte(td3[0]+"\r"), plain(td2, "\r"), plain(td3, "\r")), [][]string{td2, td3}},
		{"TD3 first line lost", slices.Concat([]byte(td3[1]+"\r"), plain(td3, "\r")), [][]string{td3}},
		{"TD1 middle line lost", slices.Concat([]byte(td1[0]+"\r"+td1[2]+"\r"), plain(td1, "\r")), [][]string{td1}},
		{"TD1 last line lost", slices.Concat([]byte(td1[0]+"\r"+td1[1]+"\r"), plain(td1, "\r")), [][]string{td1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, errs := feed(idreader.NewDecoder(idreader.FramingPlain), tt.in, 0)
			if got := lines(docs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(errs) == 0 {
				t.Error("the lost line was not reported")
			}
		})
	}
}

// Frame errors never repeat what they dropped: it may be personal data.
func TestFrameError_NoContent(t *testing.T) {
	in := slices.Concat([]byte(td3[0]+"\r"), []byte("\x02"+td1[0]+"\x02"), []byte(td1[2]+"X\r"))
	_, errs := feed(idreader.NewDecoder(idreader.FramingAuto), in, 0)
	if len(errs) == 0 {
		t.Fatal("no errors")
	}
	for _, err := range errs {
		for _, w := range []string{"ERIKSSON", "MUSTERMANN", "T22000129"} {
			if strings.Contains(err.Error(), w) {
				t.Errorf("error %q contains personal data", err)
			}
		}
	}
}

func TestReset_ForgetsPartialInput(t *testing.T) {
	d := idreader.NewDecoder(idreader.FramingAuto)
	d.Feed([]byte(td3[0] + "\r\x01\x5f"))
	d.Reset()
	docs, errs := feed(d, plain(td2, "\r"), 0)
	if got, want := lines(docs), [][]string{td2}; !reflect.DeepEqual(got, want) || len(errs) != 0 {
		t.Errorf("after Reset got %q, %v; want %q", got, errs, want)
	}
}

func TestParseFraming(t *testing.T) {
	for _, f := range []idreader.Framing{idreader.FramingAuto, idreader.FramingPlain, idreader.FramingSTX, idreader.FramingRTE} {
		got, err := idreader.ParseFraming(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFraming(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := idreader.ParseFraming("xmodem"); err == nil {
		t.Error("ParseFraming(xmodem) succeeded")
	}
}
