package sigpad_test

import (
	"image"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
)

// line is a signature with one straight stroke from (x0,y0) to (x1,y1).
func line(caps sigpad.Query, x0, y0, x1, y1, pressure int) sigpad.Signature {
	sig := sigpad.Signature{Caps: caps}
	for i := 0; i <= 20; i++ {
		sig.Points = append(sig.Points, sigpad.Point{
			X: x0 + (x1-x0)*i/20, Y: y0 + (y1-y0)*i/20, Pressure: pressure, Ink: true,
			T: time.Duration(i) * 7 * time.Millisecond,
		})
	}
	return sig
}

func grey(img *image.NRGBA, x, y int) uint8 { return img.NRGBAAt(x, y).G }

func TestRenderInk_Empty(t *testing.T) {
	var sig sigpad.Signature
	img := sig.RenderInk(200, 100)
	if got := img.Bounds().Size(); got != image.Pt(200, 100) {
		t.Fatalf("size %v, want 200×100", got)
	}
	for i, v := range img.Pix {
		if v != 0xff {
			t.Fatalf("byte %d = %#x, want white", i, v)
		}
	}
}

// A horizontal line: dark on its row, white away from it, anti-aliased
// edges, aspect ratio of the ink.
func TestRenderInk_Line(t *testing.T) {
	caps := sigpad.Query{MaxX: 10000, MaxY: 10000, MaxPressure: 100}
	sig := line(caps, 1000, 5000, 9000, 5000, 100)
	img := sig.RenderInk(800, 300)
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if w != 800 || h >= 100 {
		t.Fatalf("size %d×%d, want 800 wide and low (the ink is a line)", w, h)
	}
	mid := h / 2
	darkest := uint8(0xff)
	for y := range h {
		darkest = min(darkest, grey(img, w/2, y))
	}
	if darkest != sigpad.InkColor.G {
		t.Errorf("darkest pixel %#x, want the ink %#x", darkest, sigpad.InkColor.G)
	}
	if g := grey(img, w/2, 0); g != 0xff {
		t.Errorf("top row %#x, want white", g)
	}
	if g := grey(img, 2, mid); g != 0xff {
		t.Errorf("left margin %#x, want white", g)
	}
	partial := 0
	for y := range h {
		if g := grey(img, w/2, y); g > sigpad.InkColor.G && g < 0xff {
			partial++
		}
	}
	if partial == 0 {
		t.Error("no partly covered pixels at the line's edges: not anti-aliased")
	}
}

// More pressure, wider line.
func TestRender_PressureWidth(t *testing.T) {
	caps := sigpad.Query{MaxX: 10000, MaxY: 10000, MaxPressure: 1000}
	width := func(pressure int) int {
		sig := line(caps, 1000, 5000, 9000, 5000, pressure)
		img := sig.Render(800, 800)
		n := 0
		for y := range 800 {
			if grey(img, 400, y) < 0x80 {
				n++
			}
		}
		return n
	}
	light, heavy := width(50), width(1000)
	if light < 1 || heavy <= light {
		t.Errorf("line width %d px at light pressure, %d px at full; want full wider", light, heavy)
	}
}

// Render keeps the pad's geometry: ink at the pad's centre is at the
// image's centre, whatever else was drawn.
func TestRender_WholePad(t *testing.T) {
	caps := sigpad.Query{MaxX: 20000, MaxY: 10000, MaxPressure: 100}
	sig := line(caps, 9900, 5000, 10100, 5000, 100)
	img := sig.Render(400, 200)
	if got := img.Bounds().Size(); got != image.Pt(400, 200) {
		t.Fatalf("size %v", got)
	}
	if g := grey(img, 200, 100); g > 0x80 {
		t.Errorf("centre pixel %#x, want ink", g)
	}
	if g := grey(img, 100, 100); g != 0xff {
		t.Errorf("pixel left of centre %#x, want white", g)
	}
}

// The live view of a Recorder shows the stroke being drawn.
func TestRecorder_RenderLive(t *testing.T) {
	rec := sigpad.NewRecorder(sigpad.Query{MaxX: 1000, MaxY: 1000, MaxPressure: 100})
	for i := range 10 {
		rec.Add(sample(i, 100+80*i, 500, 80, true, true))
	}
	img := rec.Render(100, 100)
	if g := grey(img, 50, 50); g > 0x80 {
		t.Errorf("centre %#x, want ink of the stroke in progress", g)
	}
}
