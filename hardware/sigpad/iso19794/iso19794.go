// Package iso19794 owns the ISO/IEC 19794-7:2007 record of a signature: the
// "signature/sign time series data" full format, binary, big-endian. It turns
// a sigpad.Signature into a record (Marshal) and reads records back
// (Unmarshal), including records with channels we do not write.
//
// # Layout
//
// From the 2007 edition's record header table and its ASN.1/ECN module
// (Annex B, as published word for word in GOST R ISO/IEC 19794-7-2009; the
// same module is the worked example of ISO/IEC 8825-3/-6):
//
//	offset  size  field
//	0       4     format identifier "SDI\0" (0x53 0x44 0x49 0x00)
//	4       4     version " 10\0" (0x20 0x31 0x30 0x00)
//	8       2     channel inclusion field, one bit per channel, most
//	              significant bit first: X Y Z VX VY AX AY T DT F S TX TY AZ
//	              EL R (bit 15 = X ... bit 0 = R). X and Y are required.
//	10      ...   one channel description per included channel, in that
//	              order:
//	                1 byte preamble, MSB first: scaling value present, min
//	                  present, max present, mean present, std present,
//	                  channel is constant, linear component removed, reserved
//	                then the present fields, 2 bytes each, in that order:
//	                  scaling value, min, max, mean, std (min, max and mean
//	                  are signed for the signed channels X Y VX VY AX AY TX TY)
//	n       1     flags: bit 7 (MSB) = extended data present, other bits 0
//	n+1     3     number of sample points (0..16 777 215)
//	n+4     ...   sample points: for each, the value of every included
//	              channel in channel order; S is 1 byte unsigned, X Y VX VY AX
//	              AY TX TY 2 bytes signed, the others 2 bytes unsigned
//	end     2+k   only if the flag is set: extended data length k, then k bytes
//
// Scaling value (2 bytes): exponent e in the top 5 bits (two's complement,
// -16..15), fraction f in the low 11 bits; value = 2^e × (1 + f/2048). A
// channel's physical value is its sample value divided by the scaling value.
//
// # Where the public material is ambiguous, and what we chose
//
//   - The header table ends with a 1-byte "reserved" field (0x00), while the
//     ASN.1 module's Body starts with an 8-bit optionality bit-map of which
//     only one bit (extended data) is used. We read both as the same byte:
//     0x00 when there is no extended data, 0x80 when there is.
//   - The ECN module gives the exponent of the scaling value as an integer
//     -16..15 encoded directly (two's complement), not as an offset from -16.
//     We use two's complement.
//   - Units: we write T as time since the first point in units of
//     1/scaling seconds (1000 per second, i.e. milliseconds, halved as often
//     as needed to fit 16 bits), X and Y in pad units with a scaling of
//     sigpad-units per millimetre (100, the ISDv4 pen resolution wacom_w8001
//     reports; halved with the values if a pad's range exceeds 32767), F in
//     pad pressure units with min 0 and max = the pad's maximum pressure and
//     no scaling (pressure has no physical unit on these pads), and S = 1 for
//     ink (tip down), 0 for the pen in the air.
//   - The 2007 record has no capture date, device identifiers or quality;
//     those come with the 2014 edition (and its "SDI\0" "020\0" header),
//     which this package does not write. The carrier (our sealed case)
//     holds the capture time.
package iso19794

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
)

// Format identifier and version of the 2007 record.
const (
	FormatID = "SDI\x00"
	Version  = " 10\x00"
)

// Channel names a channel; its value is its position in the inclusion field
// (X is the most significant bit).
type Channel uint8

// The channels, in record order.
const (
	X  Channel = iota // x position
	Y                 // y position
	Z                 // z position (height above the surface)
	VX                // x velocity
	VY                // y velocity
	AX                // x acceleration
	AY                // y acceleration
	T                 // time
	DT                // time since the previous sample
	F                 // pen force (pressure)
	S                 // tip switch state
	TX                // tilt along x
	TY                // tilt along y
	AZ                // azimuth
	EL                // elevation
	R                 // rotation
	NumChannels
)

var channelNames = [NumChannels]string{"X", "Y", "Z", "VX", "VY", "AX", "AY", "T", "DT", "F", "S", "TX", "TY", "AZ", "EL", "R"}

func (c Channel) String() string {
	if c < NumChannels {
		return channelNames[c]
	}
	return fmt.Sprintf("Channel(%d)", uint8(c))
}

// Signed reports whether the channel's values (and min, max, mean) are
// signed.
func (c Channel) Signed() bool {
	switch c {
	case X, Y, VX, VY, AX, AY, TX, TY:
		return true
	}
	return false
}

// size is the number of bytes of one sample value.
func (c Channel) size() int {
	if c == S {
		return 1
	}
	return 2
}

// Errors of Unmarshal; the returned error wraps one of them.
var (
	ErrFormat    = errors.New("iso19794: not a signature/sign time series record (format identifier)")
	ErrVersion   = errors.New("iso19794: unsupported record version")
	ErrTruncated = errors.New("iso19794: record truncated")
	ErrInvalid   = errors.New("iso19794: invalid record")
)

// Scaling is a channel's scaling value: 2^Exp × (1 + Frac/2048).
type Scaling struct {
	Exp  int8   // -16..15
	Frac uint16 // 0..2047
}

// Value is the scaling as a number.
func (s Scaling) Value() float64 { return math.Ldexp(1+float64(s.Frac)/2048, int(s.Exp)) }

// ScalingOf returns the scaling value nearest to v.
func ScalingOf(v float64) (Scaling, error) {
	if !(v > 0) || math.IsInf(v, 0) {
		return Scaling{}, fmt.Errorf("%w: scaling value %v", ErrInvalid, v)
	}
	frac, exp := math.Frexp(v) // v = frac × 2^exp, frac in [0.5, 1)
	e := exp - 1
	f := int(math.Round((2*frac - 1) * 2048))
	if f == 2048 {
		e, f = e+1, 0
	}
	if e < -16 || e > 15 {
		return Scaling{}, fmt.Errorf("%w: scaling value %v out of range", ErrInvalid, v)
	}
	return Scaling{Exp: int8(e), Frac: uint16(f)}, nil
}

func (s Scaling) encode() uint16 { return uint16(s.Exp&0x1f)<<11 | s.Frac&0x7ff }

func decodeScaling(v uint16) Scaling {
	e := int8(v>>11) & 0x1f
	if e >= 16 {
		e -= 32
	}
	return Scaling{Exp: e, Frac: v & 0x7ff}
}

// Description is a channel description. Only the fields whose Has… flag is
// set are in the record.
type Description struct {
	HasScaling bool
	Scaling    Scaling
	HasMin     bool
	Min        int
	HasMax     bool
	Max        int
	HasMean    bool
	Mean       int
	HasStd     bool
	Std        int
	Constant   bool // the channel has the same value in every sample
	// LinearComponentRemoved: the linear trend was subtracted from the values.
	LinearComponentRemoved bool
}

// Sample is one sample point: the value of each included channel, indexed
// by Channel. Channels not included are 0.
type Sample [NumChannels]int

// Record is a decoded ISO/IEC 19794-7:2007 record.
type Record struct {
	// Channels holds the description of each included channel; nil means
	// not included.
	Channels [NumChannels]*Description
	Samples  []Sample
	// Extended is the optional vendor-defined extended data; nil: absent.
	Extended []byte
}

// Included reports whether the record has channel c.
func (r *Record) Included(c Channel) bool { return c < NumChannels && r.Channels[c] != nil }

// ISDv4UnitsPerMM is the resolution we state for ISDv4 pad coordinates:
// 100 units per millimetre, the pen resolution wacom_w8001 reports.
const ISDv4UnitsPerMM = 100

// FromSignature builds the record of sig: channels X, Y, T, F and S, one
// sample per point of its time series.
func FromSignature(sig sigpad.Signature) (Record, error) {
	if len(sig.Points) > 1<<24-1 {
		return Record{}, fmt.Errorf("%w: %d sample points, at most %d", ErrInvalid, len(sig.Points), 1<<24-1)
	}
	// X and Y are signed 16-bit: halve the coordinates until the pad's
	// range fits (and say so in the scaling).
	maxXY := max(sig.Caps.MaxX, sig.Caps.MaxY)
	for _, p := range sig.Points {
		maxXY = max(maxXY, p.X, p.Y)
	}
	shift := 0
	for maxXY>>shift > math.MaxInt16 {
		shift++
	}
	xyScale, err := ScalingOf(float64(ISDv4UnitsPerMM) / float64(int(1)<<shift))
	if err != nil {
		return Record{}, err
	}
	// T is unsigned 16-bit: milliseconds, or coarser for long signatures.
	var maxT time.Duration
	for _, p := range sig.Points {
		if p.T < 0 {
			return Record{}, fmt.Errorf("%w: point before the start (T = %v)", ErrInvalid, p.T)
		}
		maxT = max(maxT, p.T)
	}
	perSecond := 1000.0
	for float64(maxT)/float64(time.Second)*perSecond > math.MaxUint16 {
		perSecond /= 2
	}
	tScale, err := ScalingOf(perSecond)
	if err != nil {
		return Record{}, fmt.Errorf("%w: signature too long (%v)", ErrInvalid, maxT)
	}
	maxF := sig.Caps.MaxPressure
	for _, p := range sig.Points {
		maxF = max(maxF, p.Pressure)
	}
	if maxF > math.MaxUint16 {
		return Record{}, fmt.Errorf("%w: pressure %d out of range", ErrInvalid, maxF)
	}

	var rec Record
	xyMax := maxXY >> shift
	rec.Channels[X] = &Description{HasScaling: true, Scaling: xyScale, HasMin: true, HasMax: true, Max: max(sig.Caps.MaxX>>shift, 0)}
	rec.Channels[Y] = &Description{HasScaling: true, Scaling: xyScale, HasMin: true, HasMax: true, Max: max(sig.Caps.MaxY>>shift, 0)}
	if sig.Caps.MaxX <= 0 {
		rec.Channels[X].Max = xyMax
	}
	if sig.Caps.MaxY <= 0 {
		rec.Channels[Y].Max = xyMax
	}
	rec.Channels[T] = &Description{HasScaling: true, Scaling: tScale}
	rec.Channels[F] = &Description{HasMin: true, HasMax: true, Max: maxF}
	rec.Channels[S] = &Description{HasMin: true, HasMax: true, Max: 1}
	rec.Samples = make([]Sample, len(sig.Points))
	for i, p := range sig.Points {
		if p.X < 0 || p.Y < 0 || p.Pressure < 0 {
			return Record{}, fmt.Errorf("%w: negative value in point %d", ErrInvalid, i)
		}
		var s Sample
		s[X] = p.X >> shift
		s[Y] = p.Y >> shift
		s[T] = int(math.Round(p.T.Seconds() * perSecond))
		s[F] = p.Pressure
		if p.Ink {
			s[S] = 1
		}
		rec.Samples[i] = s
	}
	return rec, nil
}

// Marshal returns the ISO/IEC 19794-7:2007 record of sig.
func Marshal(sig sigpad.Signature) ([]byte, error) {
	rec, err := FromSignature(sig)
	if err != nil {
		return nil, err
	}
	return rec.MarshalBinary()
}

// Points returns the record's time series as signature points: X and Y in
// pad units, T as a duration, F as pressure, S as ink. It needs X, Y and T;
// without F the pressure is 0, without S a point is ink when F > 0.
func (r *Record) Points() ([]sigpad.Point, error) {
	if !r.Included(X) || !r.Included(Y) || !r.Included(T) {
		return nil, fmt.Errorf("%w: need channels X, Y and T", ErrInvalid)
	}
	xyMul := 1.0
	if d := r.Channels[X]; d.HasScaling {
		xyMul = float64(ISDv4UnitsPerMM) / d.Scaling.Value()
	}
	tUnit := float64(time.Millisecond)
	if d := r.Channels[T]; d.HasScaling {
		tUnit = float64(time.Second) / d.Scaling.Value()
	}
	pts := make([]sigpad.Point, len(r.Samples))
	for i, s := range r.Samples {
		p := sigpad.Point{
			X:        int(math.Round(float64(s[X]) * xyMul)),
			Y:        int(math.Round(float64(s[Y]) * xyMul)),
			Pressure: s[F],
			T:        time.Duration(math.Round(float64(s[T]) * tUnit)),
		}
		if r.Included(S) {
			p.Ink = s[S] != 0
		} else {
			p.Ink = s[F] > 0
		}
		pts[i] = p
	}
	return pts, nil
}

// Preamble bits.
const (
	preScaling  = 0x80
	preMin      = 0x40
	preMax      = 0x20
	preMean     = 0x10
	preStd      = 0x08
	preConstant = 0x04
	preLinear   = 0x02
)

// flagExtended marks extended data in the byte before the sample count.
const flagExtended = 0x80

// MarshalBinary encodes the record.
func (r *Record) MarshalBinary() ([]byte, error) {
	if !r.Included(X) || !r.Included(Y) {
		return nil, fmt.Errorf("%w: channels X and Y are required", ErrInvalid)
	}
	if len(r.Samples) > 1<<24-1 {
		return nil, fmt.Errorf("%w: %d sample points", ErrInvalid, len(r.Samples))
	}
	if len(r.Extended) > math.MaxUint16 {
		return nil, fmt.Errorf("%w: %d bytes of extended data", ErrInvalid, len(r.Extended))
	}
	b := make([]byte, 0, 64+len(r.Samples)*12)
	b = append(b, FormatID...)
	b = append(b, Version...)
	var incl uint16
	for c := range NumChannels {
		if r.Channels[c] != nil {
			incl |= 1 << (15 - c)
		}
	}
	b = binary.BigEndian.AppendUint16(b, incl)
	for c := range NumChannels {
		d := r.Channels[c]
		if d == nil {
			continue
		}
		var pre byte
		var fields []byte
		put := func(v int) error {
			if !fits(v, c.Signed(), 2) {
				return fmt.Errorf("%w: channel %v description value %d out of range", ErrInvalid, c, v)
			}
			fields = binary.BigEndian.AppendUint16(fields, uint16(v))
			return nil
		}
		if d.HasScaling {
			if d.Scaling.Exp < -16 || d.Scaling.Exp > 15 || d.Scaling.Frac > 2047 {
				return nil, fmt.Errorf("%w: channel %v scaling %+v", ErrInvalid, c, d.Scaling)
			}
			pre |= preScaling
			fields = binary.BigEndian.AppendUint16(fields, d.Scaling.encode())
		}
		for _, f := range []struct {
			has bool
			bit byte
			v   int
			sig bool
		}{
			{d.HasMin, preMin, d.Min, true},
			{d.HasMax, preMax, d.Max, true},
			{d.HasMean, preMean, d.Mean, true},
			{d.HasStd, preStd, d.Std, false},
		} {
			if !f.has {
				continue
			}
			pre |= f.bit
			if f.sig {
				if err := put(f.v); err != nil {
					return nil, err
				}
			} else {
				if !fits(f.v, false, 2) {
					return nil, fmt.Errorf("%w: channel %v std %d out of range", ErrInvalid, c, f.v)
				}
				fields = binary.BigEndian.AppendUint16(fields, uint16(f.v))
			}
		}
		if d.Constant {
			pre |= preConstant
		}
		if d.LinearComponentRemoved {
			pre |= preLinear
		}
		b = append(b, pre)
		b = append(b, fields...)
	}
	var flags byte
	if r.Extended != nil {
		flags |= flagExtended
	}
	b = append(b, flags)
	n := len(r.Samples)
	b = append(b, byte(n>>16), byte(n>>8), byte(n))
	for i, s := range r.Samples {
		for c := range NumChannels {
			if r.Channels[c] == nil {
				continue
			}
			v := s[c]
			if !fits(v, c.Signed(), c.size()) {
				return nil, fmt.Errorf("%w: sample %d channel %v value %d out of range", ErrInvalid, i, c, v)
			}
			if c.size() == 1 {
				b = append(b, byte(v))
			} else {
				b = binary.BigEndian.AppendUint16(b, uint16(v))
			}
		}
	}
	if r.Extended != nil {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Extended)))
		b = append(b, r.Extended...)
	}
	return b, nil
}

// fits reports whether v fits a field of size bytes.
func fits(v int, signed bool, size int) bool {
	bits := 8 * size
	if signed {
		return v >= -(1<<(bits-1)) && v < 1<<(bits-1)
	}
	return v >= 0 && v < 1<<bits
}

// Unmarshal decodes an ISO/IEC 19794-7:2007 record.
func Unmarshal(data []byte) (Record, error) {
	rd := reader{b: data}
	if string(rd.next(4)) != FormatID {
		return Record{}, ErrFormat
	}
	if v := rd.next(4); string(v) != Version {
		if rd.err != nil {
			return Record{}, rd.err
		}
		return Record{}, fmt.Errorf("%w: %q", ErrVersion, v)
	}
	incl := rd.u16()
	if rd.err != nil {
		return Record{}, rd.err
	}
	if incl&(1<<15) == 0 || incl&(1<<14) == 0 {
		return Record{}, fmt.Errorf("%w: channels X and Y are required", ErrInvalid)
	}
	var rec Record
	sampleSize := 0
	for c := range NumChannels {
		if incl&(1<<(15-c)) == 0 {
			continue
		}
		pre := rd.u8()
		d := &Description{
			Constant:               pre&preConstant != 0,
			LinearComponentRemoved: pre&preLinear != 0,
		}
		val := func() int {
			v := rd.u16()
			if c.Signed() {
				return int(int16(v))
			}
			return int(v)
		}
		if pre&preScaling != 0 {
			d.HasScaling, d.Scaling = true, decodeScaling(rd.u16())
		}
		if pre&preMin != 0 {
			d.HasMin, d.Min = true, val()
		}
		if pre&preMax != 0 {
			d.HasMax, d.Max = true, val()
		}
		if pre&preMean != 0 {
			d.HasMean, d.Mean = true, val()
		}
		if pre&preStd != 0 {
			d.HasStd, d.Std = true, int(rd.u16())
		}
		rec.Channels[c] = d
		sampleSize += c.size()
	}
	flags := rd.u8()
	n := int(rd.u8())<<16 | int(rd.u8())<<8 | int(rd.u8())
	if rd.err != nil {
		return Record{}, rd.err
	}
	if n*sampleSize > len(data)-rd.off {
		return Record{}, fmt.Errorf("%w: %d sample points of %d bytes, %d bytes left", ErrTruncated, n, sampleSize, len(data)-rd.off)
	}
	rec.Samples = make([]Sample, n)
	for i := range rec.Samples {
		s := &rec.Samples[i]
		for c := range NumChannels {
			if rec.Channels[c] == nil {
				continue
			}
			switch {
			case c.size() == 1:
				s[c] = int(rd.u8())
			case c.Signed():
				s[c] = int(int16(rd.u16()))
			default:
				s[c] = int(rd.u16())
			}
		}
	}
	if flags&flagExtended != 0 {
		k := int(rd.u16())
		rec.Extended = append([]byte{}, rd.next(k)...)
	}
	if rd.err != nil {
		return Record{}, rd.err
	}
	if rd.off != len(data) {
		return Record{}, fmt.Errorf("%w: %d bytes after the record", ErrInvalid, len(data)-rd.off)
	}
	return rec, nil
}

// reader reads big-endian fields and remembers the first shortfall.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.err = fmt.Errorf("%w at byte %d", ErrTruncated, r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8() byte {
	if p := r.next(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.next(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}
