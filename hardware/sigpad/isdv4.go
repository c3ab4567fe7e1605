// Package sigpad owns the signature pad: the Wacom ISDv4 (W8001) serial
// protocol (packet decoding and encoding), the driver that starts a pad and
// streams its pen samples, the turning of samples into strokes and a
// Signature, and the rendering of a Signature as a PNG for people.
//
// A Signature is kept three ways: as a PNG (Render, WritePNG), as the raw
// device packets exactly as received (Signature.Raw, replayable through
// hardware/sim/padsim) and as an ISO/IEC 19794-7 time series (subpackage
// iso19794).
//
// This file is the wire protocol. Public descriptions of it, read but not
// copied (both are GPL): Linux drivers/input/touchscreen/wacom_w8001.c and
// xf86-input-wacom include/isdv4.h.
package sigpad

import "fmt"

// Commands are single ASCII bytes written to the pad.
const (
	CmdStop  byte = '0' // stop sampling
	CmdStart byte = '1' // start sampling
	CmdQuery byte = '*' // ask for the 11-byte query reply
)

// Packet lengths.
const (
	PenPacketLen   = 9  // pen coordinate packet
	QueryPacketLen = 11 // reply to CmdQuery (and any other control packet)
)

// Bits of byte 0. Only byte 0 of a packet has bit 7 set; that is how a reader
// finds the start of a packet again after line noise.
//
//	bit  7 6 5 4 3 2 1 0
//	     1 C P T 0 E S Tip
const (
	bitLead      = 0x80 // start of a packet
	bitControl   = 0x40 // C: control packet (query reply), 11 bytes
	bitProximity = 0x20 // P: pen in proximity
	bitTouch     = 0x10 // T: touch packet (finger), length depends on the sensor
	bitEraser    = 0x04 // E: eraser end
	bitSide      = 0x02 // S: side button
	bitTip       = 0x01 // Tip: pen (or eraser) touches the surface
	dataIDMask   = 0x3f // low 6 bits of a control packet's byte 0
)

// Pen is one decoded pen packet.
//
// Layout (b0..b8):
//
//	x        = b1<<9 | b2<<2 | (b6>>5)&3   (16 bits)
//	y        = b3<<9 | b4<<2 | (b6>>3)&3   (16 bits)
//	pressure = (b6&7)<<7 | b5              (10 bits)
//	tilt x   = b7, tilt y = b8             (7 bits each; 0 on pads without tilt)
type Pen struct {
	X         int  `json:"x"`
	Y         int  `json:"y"`
	Pressure  int  `json:"pressure"`
	TiltX     int  `json:"tilt_x,omitempty"`
	TiltY     int  `json:"tilt_y,omitempty"`
	Proximity bool `json:"proximity"`
	Tip       bool `json:"tip"`
	Side      bool `json:"side"`
	Eraser    bool `json:"eraser"`
}

// Ink reports whether the sample leaves ink: the pen tip (not the eraser end)
// touches the surface.
func (p Pen) Ink() bool { return p.Tip && !p.Eraser }

// Query is the decoded reply to CmdQuery: what the pad can report.
//
// Layout (b0..b10), as documented by xf86-input-wacom's isdv4ParseQuery and
// used by Linux wacom_w8001 (which parses the reply like a pen packet):
//
//	b0        1 1 id(6)       header and control bit; data id 0 for the pen query
//	b1..b6    max x, max y and max pressure, packed exactly like x, y and
//	          pressure in a pen packet
//	b7, b8    max tilt (7 bits each; 0 = no tilt). isdv4.h names b7 tilt y
//	          and b8 tilt x, wacom_w8001 reads b7 as x and b8 as y; we follow
//	          wacom_w8001 (b7 = x) and nothing here depends on it.
//	b9, b10   firmware version = b9<<7 | b10 (14 bits)
type Query struct {
	DataID      int `json:"data_id"`
	MaxX        int `json:"max_x"`
	MaxY        int `json:"max_y"`
	MaxPressure int `json:"max_pressure"`
	MaxTiltX    int `json:"max_tilt_x,omitempty"`
	MaxTiltY    int `json:"max_tilt_y,omitempty"`
	Firmware    int `json:"firmware"`
}

// Valid reports whether q is a plausible reply to the pen query: data id 0
// and a non-empty sensor. Line noise at the wrong baud rate fails this.
func (q Query) Valid() bool {
	return q.DataID == 0 && q.MaxX > 0 && q.MaxY > 0 && q.MaxPressure > 0
}

// Kind says what a Packet holds.
type Kind uint8

const (
	KindPen   Kind = iota + 1 // a pen coordinate packet
	KindQuery                 // a control packet: the query reply (DataID 0) or another one
)

func (k Kind) String() string {
	switch k {
	case KindPen:
		return "pen"
	case KindQuery:
		return "query"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Packet is one complete packet read from the wire.
type Packet struct {
	Kind  Kind
	Pen   Pen   // when Kind == KindPen
	Query Query // when Kind == KindQuery
	raw   [QueryPacketLen]byte
	n     uint8
}

// Bytes returns the packet's bytes exactly as received.
func (p *Packet) Bytes() []byte { return p.raw[:p.n] }

// DecodePen decodes a 9-byte pen packet. It does not check bit 7 of the data
// bytes; Decoder does.
func DecodePen(b [PenPacketLen]byte) Pen {
	return Pen{
		X:         int(b[1]&0x7f)<<9 | int(b[2]&0x7f)<<2 | int(b[6]>>5)&3,
		Y:         int(b[3]&0x7f)<<9 | int(b[4]&0x7f)<<2 | int(b[6]>>3)&3,
		Pressure:  int(b[6]&7)<<7 | int(b[5]&0x7f),
		TiltX:     int(b[7] & 0x7f),
		TiltY:     int(b[8] & 0x7f),
		Proximity: b[0]&bitProximity != 0,
		Tip:       b[0]&bitTip != 0,
		Side:      b[0]&bitSide != 0,
		Eraser:    b[0]&bitEraser != 0,
	}
}

// Encode packs p into a 9-byte pen packet; it is what a pad sends (the
// simulator uses it). Values are truncated to their field widths: x and y to
// 16 bits, pressure to 10, tilt to 7.
func (p Pen) Encode() [PenPacketLen]byte {
	var b [PenPacketLen]byte
	b[0] = bitLead
	if p.Proximity {
		b[0] |= bitProximity
	}
	if p.Eraser {
		b[0] |= bitEraser
	}
	if p.Side {
		b[0] |= bitSide
	}
	if p.Tip {
		b[0] |= bitTip
	}
	packXYP(b[:], p.X, p.Y, p.Pressure)
	b[7] = byte(p.TiltX) & 0x7f
	b[8] = byte(p.TiltY) & 0x7f
	return b
}

// DecodeQuery decodes an 11-byte control packet.
func DecodeQuery(b [QueryPacketLen]byte) Query {
	return Query{
		DataID:      int(b[0] & dataIDMask),
		MaxX:        int(b[1]&0x7f)<<9 | int(b[2]&0x7f)<<2 | int(b[6]>>5)&3,
		MaxY:        int(b[3]&0x7f)<<9 | int(b[4]&0x7f)<<2 | int(b[6]>>3)&3,
		MaxPressure: int(b[6]&7)<<7 | int(b[5]&0x7f),
		MaxTiltX:    int(b[7] & 0x7f),
		MaxTiltY:    int(b[8] & 0x7f),
		Firmware:    int(b[9]&0x7f)<<7 | int(b[10]&0x7f),
	}
}

// Encode packs q into an 11-byte query reply.
func (q Query) Encode() [QueryPacketLen]byte {
	var b [QueryPacketLen]byte
	b[0] = bitLead | bitControl | byte(q.DataID)&dataIDMask
	packXYP(b[:], q.MaxX, q.MaxY, q.MaxPressure)
	b[7] = byte(q.MaxTiltX) & 0x7f
	b[8] = byte(q.MaxTiltY) & 0x7f
	b[9] = byte(q.Firmware>>7) & 0x7f
	b[10] = byte(q.Firmware) & 0x7f
	return b
}

// packXYP writes x, y and pressure into b[1..6] in the pen-packet layout.
func packXYP(b []byte, x, y, pressure int) {
	b[1] = byte(x>>9) & 0x7f
	b[2] = byte(x>>2) & 0x7f
	b[3] = byte(y>>9) & 0x7f
	b[4] = byte(y>>2) & 0x7f
	b[5] = byte(pressure) & 0x7f
	b[6] = byte(x&3)<<5 | byte(y&3)<<3 | byte(pressure>>7)&7
}

// Stats counts what a Decoder saw besides good packets.
type Stats struct {
	Packets int `json:"packets"` // complete packets returned
	Dropped int `json:"dropped"` // packets cut short by a new lead byte
	Stray   int `json:"stray"`   // data bytes outside any packet (line noise)
	Touch   int `json:"touch"`   // touch (finger) packets, skipped
}

// Decoder turns a stream of bytes into packets. It keeps the bytes of an
// unfinished packet between calls, so reads may split packets anywhere. The
// zero value is ready to use; a Decoder is not safe for concurrent use.
//
// Resynchronisation: a byte with bit 7 set always starts a new packet. If the
// previous packet was not complete it is dropped (Stats.Dropped). Data bytes
// that arrive when no packet is open are line noise (Stats.Stray). Touch
// packets (bit 4 of byte 0, no control bit) have a sensor-dependent length; a
// pen pad does not send them and they are skipped up to the next lead byte.
type Decoder struct {
	buf   [QueryPacketLen]byte
	n     int  // bytes in buf
	want  int  // length of the packet being read
	touch bool // skipping a touch packet
	stats Stats
}

// Push feeds one byte. It returns a packet and true when b completed one.
func (d *Decoder) Push(b byte) (Packet, bool) {
	if b&bitLead != 0 {
		if d.n > 0 {
			d.stats.Dropped++
		}
		d.n, d.touch = 0, false
		switch {
		case b&bitControl != 0:
			d.want = QueryPacketLen
		case b&bitTouch != 0:
			d.stats.Touch++
			d.touch = true
			return Packet{}, false
		default:
			d.want = PenPacketLen
		}
		d.buf[0] = b
		d.n = 1
		return Packet{}, false
	}
	if d.touch {
		return Packet{}, false
	}
	if d.n == 0 {
		d.stats.Stray++
		return Packet{}, false
	}
	d.buf[d.n] = b
	d.n++
	if d.n < d.want {
		return Packet{}, false
	}
	p := Packet{raw: d.buf, n: uint8(d.n)}
	if d.want == QueryPacketLen {
		p.Kind = KindQuery
		p.Query = DecodeQuery(d.buf)
	} else {
		p.Kind = KindPen
		p.Pen = DecodePen([PenPacketLen]byte(d.buf[:PenPacketLen]))
	}
	d.n = 0
	d.stats.Packets++
	return p, true
}

// Decode feeds p and appends the packets it completed to dst.
func (d *Decoder) Decode(dst []Packet, p []byte) []Packet {
	for _, b := range p {
		if pk, ok := d.Push(b); ok {
			dst = append(dst, pk)
		}
	}
	return dst
}

// Reset forgets an unfinished packet (without counting it) and keeps Stats.
// The driver calls it after flushing the port.
func (d *Decoder) Reset() { d.n, d.touch = 0, false }

// Pending reports how many bytes of an unfinished packet are held.
func (d *Decoder) Pending() int { return d.n }

// Stats returns the counters so far.
func (d *Decoder) Stats() Stats { return d.stats }
