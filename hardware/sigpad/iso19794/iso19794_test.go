package iso19794_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
)

func twoPoints() sigpad.Signature {
	return sigpad.Signature{
		Caps: sigpad.Query{MaxX: 1000, MaxY: 800, MaxPressure: 1023},
		Points: []sigpad.Point{
			{X: 10, Y: 20, Pressure: 300, Ink: true, T: 0},
			{X: 11, Y: 22, Pressure: 0, Ink: false, T: 7 * time.Millisecond},
		},
	}
}

// The exact bytes of a small record: the layout documented in the package.
func TestMarshal_Layout(t *testing.T) {
	got, err := iso19794.Marshal(twoPoints())
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		'S', 'D', 'I', 0, ' ', '1', '0', 0, // format identifier, version
		0xC1, 0x60, // channels X, Y, T, F, S
		0xE0, 0x34, 0x80, 0x00, 0x00, 0x03, 0xE8, // X: scaling 100 (2^6 × 1.5625), min 0, max 1000
		0xE0, 0x34, 0x80, 0x00, 0x00, 0x03, 0x20, // Y: scaling 100, min 0, max 800
		0x80, 0x4F, 0xA0, // T: scaling 1000 (2^9 × 1.953125)
		0x60, 0x00, 0x00, 0x03, 0xFF, // F: min 0, max 1023
		0x60, 0x00, 0x00, 0x00, 0x01, // S: min 0, max 1
		0x00,             // no extended data
		0x00, 0x00, 0x02, // two sample points
		0x00, 0x0A, 0x00, 0x14, 0x00, 0x00, 0x01, 0x2C, 0x01, // x 10, y 20, t 0, f 300, s 1
		0x00, 0x0B, 0x00, 0x16, 0x00, 0x07, 0x00, 0x00, 0x00, // x 11, y 22, t 7, f 0, s 0
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal =\n% x\nwant\n% x", got, want)
	}
}

func TestRoundTrip_Points(t *testing.T) {
	sig := twoPoints()
	for i := range 300 {
		sig.Points = append(sig.Points, sigpad.Point{
			X: 500 + i, Y: 400 - i, Pressure: (i * 7) % 1024, Ink: i%50 < 40,
			T: time.Duration(10+i*7) * time.Millisecond,
		})
	}
	data, err := iso19794.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := iso19794.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rec.Points()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sig.Points) {
		t.Fatalf("points differ after the round trip:\n got %+v\nwant %+v", got[:3], sig.Points[:3])
	}
	if d := rec.Channels[iso19794.F]; !d.HasMax || d.Max != 1023 {
		t.Errorf("F description %+v, want max 1023", d)
	}
}

// Longer than 65.535 s: T is stored in coarser units, said by its scaling.
func TestMarshal_LongSignatureCoarserTime(t *testing.T) {
	sig := twoPoints()
	sig.Points[1].T = 100 * time.Second
	data, err := iso19794.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := iso19794.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Channels[iso19794.T].Scaling.Value(); got != 500 {
		t.Errorf("T scaling %v, want 500 units a second", got)
	}
	pts, _ := rec.Points()
	if pts[1].T != 100*time.Second {
		t.Errorf("T = %v, want 100s", pts[1].T)
	}
}

// A pad whose range exceeds int16: coordinates are halved and the scaling
// says so; reading back gives them to within the lost bit.
func TestMarshal_WideRangeHalved(t *testing.T) {
	sig := twoPoints()
	sig.Caps.MaxX = 60000
	sig.Points[0].X = 59999
	data, err := iso19794.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := iso19794.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Channels[iso19794.X].Scaling.Value(); got != 50 {
		t.Errorf("X scaling %v, want 50", got)
	}
	pts, _ := rec.Points()
	if pts[0].X != 59998 {
		t.Errorf("X = %d, want 59998", pts[0].X)
	}
}

func TestScaling(t *testing.T) {
	for _, v := range []float64{1, 100, 1000, 500, 0.5, 0.01, 65000, math.Ldexp(1, -16)} {
		s, err := iso19794.ScalingOf(v)
		if err != nil {
			t.Fatalf("ScalingOf(%v): %v", v, err)
		}
		if got := s.Value(); math.Abs(got-v)/v > 1.0/4096 {
			t.Errorf("ScalingOf(%v) = %+v = %v", v, s, got)
		}
		// Encoded and decoded through a record.
		rec := iso19794.Record{}
		rec.Channels[iso19794.X] = &iso19794.Description{HasScaling: true, Scaling: s}
		rec.Channels[iso19794.Y] = &iso19794.Description{}
		data, err := rec.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back, err := iso19794.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := back.Channels[iso19794.X].Scaling; got != s {
			t.Errorf("scaling %+v read back as %+v", s, got)
		}
	}
	for _, v := range []float64{0, -1, 1 << 17, math.Inf(1), math.NaN()} {
		if _, err := iso19794.ScalingOf(v); !errors.Is(err, iso19794.ErrInvalid) {
			t.Errorf("ScalingOf(%v) = %v, want ErrInvalid", v, err)
		}
	}
}

// A record from elsewhere with more channels, every description field and
// extended data reads back as it was.
func TestRoundTrip_OtherChannels(t *testing.T) {
	rec := iso19794.Record{Extended: []byte("vendor")}
	rec.Channels[iso19794.X] = &iso19794.Description{HasMin: true, Min: -500, HasMax: true, Max: 500, HasMean: true, Mean: -3, HasStd: true, Std: 120}
	rec.Channels[iso19794.Y] = &iso19794.Description{Constant: true, LinearComponentRemoved: true}
	rec.Channels[iso19794.Z] = &iso19794.Description{}
	rec.Channels[iso19794.DT] = &iso19794.Description{HasScaling: true, Scaling: iso19794.Scaling{Exp: -3, Frac: 5}}
	rec.Channels[iso19794.S] = &iso19794.Description{}
	rec.Channels[iso19794.R] = &iso19794.Description{}
	rec.Samples = []iso19794.Sample{
		{iso19794.X: -500, iso19794.Y: 32767, iso19794.Z: 65535, iso19794.DT: 7, iso19794.S: 255, iso19794.R: 1},
		{iso19794.X: 499, iso19794.Y: -32768},
	}
	data, err := rec.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := iso19794.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rec) {
		t.Fatalf("read back %+v\nwant %+v", back, rec)
	}
	if _, err := back.Points(); !errors.Is(err, iso19794.ErrInvalid) {
		t.Errorf("Points without T: %v, want ErrInvalid", err)
	}
}

func TestUnmarshal_Errors(t *testing.T) {
	good, err := iso19794.Marshal(twoPoints())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, iso19794.ErrFormat},
		{"finger minutiae", edit(func(b []byte) []byte { copy(b, "FMR\x00"); return b }), iso19794.ErrFormat},
		{"2014 edition", edit(func(b []byte) []byte { copy(b[4:], "020\x00"); return b }), iso19794.ErrVersion},
		{"no Y channel", edit(func(b []byte) []byte { b[8] = 0x81; return b }), iso19794.ErrInvalid},
		{"truncated header", good[:12], iso19794.ErrTruncated},
		{"truncated samples", good[:len(good)-1], iso19794.ErrTruncated},
		{"sample count too big", edit(func(b []byte) []byte { b[len(b)-18-2] = 0xff; return b }), iso19794.ErrTruncated},
		{"trailing bytes", append(append([]byte(nil), good...), 0), iso19794.ErrInvalid},
		{"extended flag without data", edit(func(b []byte) []byte { b[len(b)-18-4] = 0x80; return b }), iso19794.ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := iso19794.Unmarshal(tc.data); !errors.Is(err, tc.want) {
				t.Errorf("Unmarshal = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMarshal_RejectsBadPoints(t *testing.T) {
	sig := twoPoints()
	sig.Points[1].T = -time.Millisecond
	if _, err := iso19794.Marshal(sig); !errors.Is(err, iso19794.ErrInvalid) {
		t.Errorf("negative time: %v, want ErrInvalid", err)
	}
	sig = twoPoints()
	sig.Points[0].Pressure = 70000
	if _, err := iso19794.Marshal(sig); !errors.Is(err, iso19794.ErrInvalid) {
		t.Errorf("pressure out of range: %v, want ErrInvalid", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	good, _ := iso19794.Marshal(twoPoints())
	f.Add(good)
	f.Add(good[:20])
	rec := iso19794.Record{Extended: []byte{1, 2}}
	rec.Channels[iso19794.X] = &iso19794.Description{HasStd: true, Std: 9}
	rec.Channels[iso19794.Y] = &iso19794.Description{}
	rec.Channels[iso19794.S] = &iso19794.Description{}
	rec.Samples = []iso19794.Sample{{iso19794.S: 1}}
	ext, _ := rec.MarshalBinary()
	f.Add(ext)
	f.Add([]byte("SDI\x00 10\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := iso19794.Unmarshal(data)
		if err != nil {
			return
		}
		// What reads, writes, and reads back the same.
		again, err := rec.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a decoded record: %v", err)
		}
		back, err := iso19794.Unmarshal(again)
		if err != nil {
			t.Fatalf("Unmarshal of a re-encoded record: %v", err)
		}
		if !reflect.DeepEqual(back, rec) {
			t.Fatalf("re-encoded record differs:\n%+v\n%+v", back, rec)
		}
		if len(again) > len(data) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(data), len(again))
		}
		rec.Points() // must not panic
	})
}
