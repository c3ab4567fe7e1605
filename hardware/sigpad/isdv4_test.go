package sigpad_test

import (
	"bytes"
	"testing"

	"github.com/buergerkoffer/kit/hardware/sigpad"
)

// The example packet from DOMAIN.md, recomputed from the formula:
// x = 0x10<<9 | 0x20<<2 | (0x07>>5)&3 = 8192+128+0 = 8320
// y = 0x05<<9 | 0x06<<2 | (0x07>>3)&3 = 2560+24+0  = 2584
// p = (0x07&7)<<7 | 0x40              = 896+64     = 960
func TestDecodePen_DomainExample(t *testing.T) {
	got := sigpad.DecodePen([9]byte{0xA1, 0x10, 0x20, 0x05, 0x06, 0x40, 0x07, 0x00, 0x00})
	want := sigpad.Pen{X: 8320, Y: 2584, Pressure: 960, Proximity: true, Tip: true}
	if got != want {
		t.Fatalf("DecodePen = %+v, want %+v", got, want)
	}
}

func TestDecodePen_Bits(t *testing.T) {
	for _, tc := range []struct {
		b0   byte
		want sigpad.Pen
	}{
		{0x80, sigpad.Pen{}},
		{0xA0, sigpad.Pen{Proximity: true}},
		{0xA2, sigpad.Pen{Proximity: true, Side: true}},
		{0xA4, sigpad.Pen{Proximity: true, Eraser: true}},
		{0xA5, sigpad.Pen{Proximity: true, Eraser: true, Tip: true}},
	} {
		got := sigpad.DecodePen([9]byte{tc.b0})
		if got != tc.want {
			t.Errorf("byte 0 %#x: got %+v, want %+v", tc.b0, got, tc.want)
		}
	}
	if (sigpad.Pen{Tip: true, Eraser: true}).Ink() {
		t.Error("eraser touching the surface counts as ink")
	}
}

// Every field value survives Encode and DecodePen, at the edges of its range.
func TestPen_EncodeRoundTrip(t *testing.T) {
	for _, p := range []sigpad.Pen{
		{X: 0, Y: 0, Pressure: 0},
		{X: 65535, Y: 65535, Pressure: 1023, TiltX: 127, TiltY: 127, Proximity: true, Tip: true, Side: true, Eraser: true},
		{X: 1, Y: 2, Pressure: 3, Proximity: true},
		{X: 26312, Y: 16520, Pressure: 512, Tip: true, Proximity: true},
	} {
		b := p.Encode()
		for i, c := range b {
			if (c&0x80 != 0) != (i == 0) {
				t.Fatalf("%+v: byte %d = %#x; only byte 0 may have bit 7", p, i, c)
			}
		}
		if got := sigpad.DecodePen(b); got != p {
			t.Errorf("round trip: got %+v, want %+v", got, p)
		}
	}
}

// The query reply's layout: b0 = 0xC0, max x/y/pressure packed like a pen
// packet, b7/b8 tilt, firmware = b9<<7 | b10.
func TestDecodeQuery(t *testing.T) {
	b := [11]byte{0xC0, 0x33, 0x32, 0x20, 0x1A, 0x7F, 0x07, 0x00, 0x00, 0x04, 0x19}
	got := sigpad.DecodeQuery(b)
	want := sigpad.Query{
		MaxX:        0x33<<9 | 0x32<<2, // 26312
		MaxY:        0x20<<9 | 0x1A<<2, // 16488
		MaxPressure: 7<<7 | 0x7F,       // 1023
		Firmware:    4<<7 | 0x19,       // 537
	}
	if got != want {
		t.Fatalf("DecodeQuery = %+v, want %+v", got, want)
	}
	if got.MaxX != 26312 || got.Firmware != 537 {
		t.Fatalf("MaxX %d, Firmware %d; want 26312, 537", got.MaxX, got.Firmware)
	}
	if enc := want.Encode(); enc != b {
		t.Errorf("Encode = % x, want % x", enc, b)
	}
	if !got.Valid() {
		t.Error("a pen query reply is not Valid")
	}
	if (sigpad.Query{DataID: 1, MaxX: 1, MaxY: 1, MaxPressure: 1}).Valid() {
		t.Error("a touch query reply (data id 1) is Valid")
	}
}

func TestDecoder_SplitAnywhere(t *testing.T) {
	q := sigpad.Query{MaxX: 26312, MaxY: 16520, MaxPressure: 1023, Firmware: 537}
	p1 := sigpad.Pen{X: 100, Y: 200, Pressure: 300, Proximity: true, Tip: true}
	p2 := sigpad.Pen{X: 101, Y: 202, Proximity: true}
	qb, b1, b2 := q.Encode(), p1.Encode(), p2.Encode()
	stream := append(append(qb[:], b1[:]...), b2[:]...)
	for cut := range len(stream) {
		var d sigpad.Decoder
		pk := d.Decode(nil, stream[:cut])
		pk = d.Decode(pk, stream[cut:])
		if len(pk) != 3 {
			t.Fatalf("cut at %d: %d packets, want 3", cut, len(pk))
		}
		if pk[0].Kind != sigpad.KindQuery || pk[0].Query != q || pk[1].Pen != p1 || pk[2].Pen != p2 {
			t.Fatalf("cut at %d: got %+v", cut, pk)
		}
		if !bytes.Equal(pk[1].Bytes(), b1[:]) {
			t.Errorf("cut at %d: Bytes = % x, want % x", cut, pk[1].Bytes(), b1)
		}
	}
}

// Line noise between packets: stray data bytes are skipped, a false lead
// byte starts a packet that the next real one cuts short (dropped), and
// every real packet still comes through unchanged.
func TestDecoder_Resynchronises(t *testing.T) {
	p1 := sigpad.Pen{X: 8320, Y: 2584, Pressure: 960, Proximity: true, Tip: true}
	p2 := sigpad.Pen{X: 8330, Y: 2590, Pressure: 950, Proximity: true, Tip: true}
	b1, b2 := p1.Encode(), p2.Encode()
	var stream []byte
	stream = append(stream, 0x11, 0x22)             // stray before anything
	stream = append(stream, b1[:5]...)              // packet cut short …
	stream = append(stream, b1[:]...)               // … by a whole one
	stream = append(stream, 0x7f)                   // stray
	stream = append(stream, 0x93, 0x01, 0x02)       // touch packet: skipped
	stream = append(stream, 0xE0, 0x01, 0x02, 0x03) // control packet cut short
	stream = append(stream, b2[:]...)
	var d sigpad.Decoder
	pk := d.Decode(nil, stream)
	if len(pk) != 2 || pk[0].Pen != p1 || pk[1].Pen != p2 {
		t.Fatalf("got %+v, want the two pen packets", pk)
	}
	got, want := d.Stats(), sigpad.Stats{Packets: 2, Dropped: 2, Stray: 3, Touch: 1}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func FuzzDecode(f *testing.F) {
	q := sigpad.Query{MaxX: 26312, MaxY: 16520, MaxPressure: 1023, Firmware: 537}.Encode()
	p := sigpad.Pen{X: 8320, Y: 2584, Pressure: 960, Proximity: true, Tip: true}.Encode()
	f.Add(q[:])
	f.Add(p[:])
	f.Add([]byte{0xA1, 0x10, 0x20, 0x05, 0x06, 0x40, 0x07, 0x00, 0x00})
	f.Add(append(append([]byte{0x01, 0xA1, 0x02}, p[:]...), 0x93, 0x00))
	f.Add([]byte{0xff, 0xff, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		var d sigpad.Decoder
		pk := d.Decode(nil, data)
		// Every byte is accounted for exactly once.
		s := d.Stats()
		if s.Packets != len(pk) {
			t.Fatalf("Stats.Packets %d, got %d packets", s.Packets, len(pk))
		}
		inPackets := 0
		for _, p := range pk {
			b := p.Bytes()
			inPackets += len(b)
			if b[0]&0x80 == 0 {
				t.Fatalf("packet does not start with a lead byte: % x", b)
			}
			for _, c := range b[1:] {
				if c&0x80 != 0 {
					t.Fatalf("data byte with bit 7 in % x", b)
				}
			}
			switch p.Kind {
			case sigpad.KindPen:
				if len(b) != sigpad.PenPacketLen {
					t.Fatalf("pen packet of %d bytes", len(b))
				}
				// Decoding is exact: re-encoding gives the bytes back,
				// but for bit 3 of byte 0, which the protocol leaves 0.
				want := append([]byte{b[0] &^ 0x08}, b[1:]...)
				if enc := p.Pen.Encode(); !bytes.Equal(enc[:], want) {
					t.Fatalf("pen %+v encodes to % x, read % x", p.Pen, enc, b)
				}
			case sigpad.KindQuery:
				if len(b) != sigpad.QueryPacketLen {
					t.Fatalf("query packet of %d bytes", len(b))
				}
				if enc := p.Query.Encode(); !bytes.Equal(enc[:], b) {
					t.Fatalf("query %+v encodes to % x, read % x", p.Query, enc, b)
				}
			default:
				t.Fatalf("packet of kind %v", p.Kind)
			}
		}
		if inPackets+s.Stray > len(data) {
			t.Fatalf("%d bytes in packets + %d stray > %d input bytes", inPackets, s.Stray, len(data))
		}
		// Decoding byte by byte gives the same packets.
		var d2 sigpad.Decoder
		n := 0
		for _, c := range data {
			if p2, ok := d2.Push(c); ok {
				if n >= len(pk) || !bytes.Equal(p2.Bytes(), pk[n].Bytes()) {
					t.Fatalf("Push and Decode disagree at packet %d", n)
				}
				n++
			}
		}
	})
}
