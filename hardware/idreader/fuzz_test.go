// Fuzzing the frame decoders: a serial line delivers anything, so no byte
// sequence may make a decoder panic, and how the bytes are split into reads
// must not change what comes out.
package idreader_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/buergerkoffer/kit/hardware/idreader"
)

func fuzzDecoder(f *testing.F, framing idreader.Framing, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s, uint8(3))
	}
	f.Add([]byte{}, uint8(0))
	f.Add([]byte("\x01\x02\x03\r\n\x00\xff_<"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		whole := idreader.NewDecoder(framing)
		docs, errs := feed(whole, in, 0)
		for _, d := range docs {
			n := len(d.Lines)
			if n != 2 && n != 3 {
				t.Fatalf("document of %d lines", n)
			}
			for _, l := range d.Lines {
				if len(l) != len(d.Lines[0]) {
					t.Fatalf("lines of different length in %q", d.Lines)
				}
			}
		}
		if whole.Skipped() > len(in) {
			t.Fatalf("skipped %d of %d bytes", whole.Skipped(), len(in))
		}
		pieces := idreader.NewDecoder(framing)
		docs2, errs2 := feed(pieces, in, int(split)%17+1)
		if !reflect.DeepEqual(lines(docs), lines(docs2)) || !reflect.DeepEqual(errs, errs2) {
			t.Fatalf("split reads changed the outcome:\n%q %v\n%q %v", lines(docs), errs, lines(docs2), errs2)
		}
	})
}

func FuzzDecoderPlain(f *testing.F) {
	fuzzDecoder(f, idreader.FramingPlain, plain(td3, "\r"), plain(td1, "\r\n"), slices.Concat([]byte("\x00#"), plain(td2, "\r")), plain(frcni, "\r"))
}

func FuzzDecoderSTX(f *testing.F) {
	fuzzDecoder(f, idreader.FramingSTX, stxDoc(td1), stxPerLine(td3), slices.Concat([]byte("\x00#"), stxDoc(td2)), stxDoc(frcni))
}

func FuzzDecoderRTE(f *testing.F) {
	fuzzDecoder(f, idreader.FramingRTE, rteTD2, rte(td1), rte(td3), slices.Concat([]byte("\x01\x10\x00OU"), rte(td3)), rte(frcni))
}

func FuzzDecoderAuto(f *testing.F) {
	fuzzDecoder(f, idreader.FramingAuto, slices.Concat(plain(td1, "\r"), stxDoc(td2), rte(td3)), rteTD2, slices.Concat(plain(frcni, "\r"), rte(td2)))
}
