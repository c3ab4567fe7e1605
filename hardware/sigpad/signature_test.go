package sigpad_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
)

var t0 = time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)

func sample(i int, x, y, pressure int, prox, tip bool) sigpad.Sample {
	p := sigpad.Pen{X: x, Y: y, Pressure: pressure, Proximity: prox, Tip: tip}
	return sigpad.Sample{Pen: p, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Raw: p.Encode()}
}

func TestRecorder_Strokes(t *testing.T) {
	rec := sigpad.NewRecorder(sigpad.Query{MaxX: 1000, MaxY: 1000, MaxPressure: 100})
	add := func(i, x int, prox, tip bool) { rec.Add(sample(i, x, 500, 50, prox, tip)) }
	add(0, 10, true, false)  // hovering before the signature: not recorded
	add(1, 20, false, false) // out of proximity: never recorded
	add(2, 30, true, true)   // stroke 1
	add(3, 40, true, true)
	add(4, 50, true, false) // lift, in the air
	add(5, 60, true, false)
	add(6, 70, true, true) // stroke 2
	add(7, 80, true, false)
	add(8, 90, true, false) // hovering after the last stroke: trimmed
	add(9, 95, true, false)

	sig := rec.Signature()
	if !sig.Start.Equal(t0.Add(20 * time.Millisecond)) {
		t.Errorf("Start = %v, want the first pen-down", sig.Start)
	}
	var xs []int
	for _, p := range sig.Points {
		xs = append(xs, p.X)
	}
	if got, want := xs, []int{30, 40, 50, 60, 70, 80}; !equalInts(got, want) {
		t.Fatalf("points at x %v, want %v", got, want)
	}
	if got, want := sig.Points[4].T, 40*time.Millisecond; got != want {
		t.Errorf("T of the second stroke = %v, want %v", got, want)
	}
	strokes := sig.Strokes()
	if len(strokes) != 2 || len(strokes[0].Points) != 2 || len(strokes[1].Points) != 1 {
		t.Fatalf("strokes %+v, want 2 (2 points, 1 point)", strokes)
	}
	if got, want := strokes[0].End(), 10*time.Millisecond; got != want {
		t.Errorf("stroke 1 ends at %v, want %v", got, want)
	}
	if got, want := len(sig.Raw), len(sig.Points)*sigpad.PenPacketLen; got != want {
		t.Errorf("%d raw bytes, want %d", got, want)
	}

	// The raw packets give the same points back.
	back, _ := sigpad.ParseRaw(sig.Raw, 10*time.Millisecond)
	if len(back.Points) != len(sig.Points) {
		t.Fatalf("ParseRaw: %d points, want %d", len(back.Points), len(sig.Points))
	}
	for i := range sig.Points {
		a, b := back.Points[i], sig.Points[i]
		if a.X != b.X || a.Y != b.Y || a.Pressure != b.Pressure || a.Ink != b.Ink {
			t.Errorf("ParseRaw point %d = %+v, want %+v", i, a, b)
		}
	}

	rec.Reset()
	if sig := rec.Signature(); len(sig.Points) != 0 || sig.Caps.MaxX != 1000 {
		t.Errorf("after Reset: %+v", sig)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A signature drawn on the simulated pad through the real driver: three
// strokes, rendered to a PNG that fits 800×300, and an ISO/IEC 19794-7
// record that reads back to the same time series. The PNG is also written to
// /tmp/sigpad-sample.png for a person to look at.
func TestSignature_DrawnOnSimulatedPad(t *testing.T) {
	pens := padsim.Mustermann(padsim.DefaultCaps)
	s := startSim(t, padsim.Config{Trace: padsim.PenTrace(pens), Interval: time.Millisecond, NoiseEvery: 25, Seed: 3})
	pad := openPad(t, s.Path(), sigpad.Config{})
	rec := sigpad.NewRecorder(pad.Caps())
	for _, smp := range collect(t, pad, len(pens)) {
		rec.Add(smp)
	}
	sig := rec.Signature()
	if got := len(sig.Strokes()); got != 3 {
		t.Fatalf("%d strokes, want 3", got)
	}

	var buf bytes.Buffer
	if err := sig.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(t.TempDir(), "sig.png"), "/tmp/sigpad-sample.png"} {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() > sigpad.PNGMaxWidth || b.Dy() > sigpad.PNGMaxHeight || b.Dx() < 700 {
		t.Errorf("PNG is %v, want to fit 800×300 and use the width", b.Size())
	}
	ink := inkFraction(img)
	if ink < 0.02 || ink > 0.25 {
		t.Errorf("%.1f %% of the pixels are ink, want a signature's 2–25 %%", 100*ink)
	}

	data, err := iso19794.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	rec19794, err := iso19794.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	back, err := rec19794.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(sig.Points) {
		t.Fatalf("ISO record has %d points, want %d", len(back), len(sig.Points))
	}
	for i, want := range sig.Points {
		want.T = want.T.Round(time.Millisecond)
		if back[i] != want {
			t.Fatalf("ISO point %d = %+v, want %+v", i, back[i], want)
		}
	}
}

// inkFraction is the share of pixels darker than mid-grey.
func inkFraction(img image.Image) float64 {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3 < 0x8000 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}
