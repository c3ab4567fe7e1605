// This file draws a Signature for people: dark ink on white, anti-aliased,
// line width following the pen pressure. It is a small rasteriser of its own
// on the standard library: each stroke is smoothed (Catmull-Rom) and drawn as
// a chain of tapered capsules whose pixel coverage comes from the distance of
// the pixel centre to the segment.

package sigpad

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// PNG size limits: WritePNG fits the ink into this box, keeping its aspect.
const (
	PNGMaxWidth  = 800
	PNGMaxHeight = 300
)

// InkColor is the colour of the ink: a blue-black like a ballpoint pen.
var InkColor = color.NRGBA{R: 0x12, G: 0x1a, B: 0x4a, A: 0xff}

// Render draws the signature onto a w×h white image, the pad's whole area
// (Caps.MaxX × Caps.MaxY) fitted in and centred, aspect kept. This is the
// live view: the ink stays put as the pen moves. Without caps it fits the ink.
func (s *Signature) Render(w, h int) *image.NRGBA {
	w, h = max(w, 1), max(h, 1)
	if s.Caps.MaxX <= 0 || s.Caps.MaxY <= 0 {
		return s.renderFit(w, h, w, h)
	}
	box := rect{0, 0, float64(s.Caps.MaxX), float64(s.Caps.MaxY)}
	return s.draw(w, h, fit(box, w, h, 0))
}

// RenderInk draws the ink cropped to its bounds with a margin, on an image
// that fits within maxW×maxH and has the ink's aspect ratio. An empty
// signature gives a blank maxW×maxH image.
func (s *Signature) RenderInk(maxW, maxH int) *image.NRGBA {
	maxW, maxH = max(maxW, 1), max(maxH, 1)
	box, ok := s.inkBounds()
	if !ok {
		return blank(maxW, maxH)
	}
	margin := 0.06 * float64(min(maxW, maxH))
	// Image size: the ink's aspect, as large as fits in maxW×maxH.
	bw, bh := max(box.w(), 1), max(box.h(), 1)
	innerW, innerH := float64(maxW)-2*margin, float64(maxH)-2*margin
	sc := math.Min(innerW/bw, innerH/bh)
	w := int(math.Ceil(bw*sc + 2*margin))
	h := int(math.Ceil(bh*sc + 2*margin))
	return s.renderFit(min(w, maxW), min(h, maxH), maxW, maxH)
}

// renderFit draws the ink fitted into w×h; maxW×maxH sets the pen width so
// that it does not depend on how wide the ink happens to be.
func (s *Signature) renderFit(w, h, maxW, maxH int) *image.NRGBA {
	box, ok := s.inkBounds()
	if !ok {
		return blank(w, h)
	}
	margin := 0.06 * float64(min(maxW, maxH))
	t := fit(box, w, h, margin)
	t.penMax = penWidth(maxW, maxH)
	return s.draw(w, h, t)
}

// WritePNG writes the signature as a PNG that fits in PNGMaxWidth ×
// PNGMaxHeight, cropped to the ink.
func (s *Signature) WritePNG(w io.Writer) error {
	if err := png.Encode(w, s.RenderInk(PNGMaxWidth, PNGMaxHeight)); err != nil {
		return fmt.Errorf("sigpad: encode PNG: %w", err)
	}
	return nil
}

type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) w() float64 { return r.x1 - r.x0 }
func (r rect) h() float64 { return r.y1 - r.y0 }

// xform maps pad units to pixels.
type xform struct {
	scale, dx, dy float64
	penMax        float64 // widest line in pixels (full pressure)
}

func (t xform) apply(x, y int) (float64, float64) {
	return float64(x)*t.scale + t.dx, float64(y)*t.scale + t.dy
}

// fit maps box into a w×h image with margin pixels on each side, centred.
func fit(box rect, w, h int, margin float64) xform {
	bw, bh := max(box.w(), 1), max(box.h(), 1)
	innerW, innerH := max(float64(w)-2*margin, 1), max(float64(h)-2*margin, 1)
	sc := math.Min(innerW/bw, innerH/bh)
	return xform{
		scale:  sc,
		dx:     (float64(w)-bw*sc)/2 - box.x0*sc,
		dy:     (float64(h)-bh*sc)/2 - box.y0*sc,
		penMax: penWidth(w, h),
	}
}

// penWidth is the line width at full pressure for an image of w×h.
func penWidth(w, h int) float64 {
	return math.Max(1.5, math.Min(10, float64(w+h)/240))
}

func (s *Signature) inkBounds() (rect, bool) {
	r := rect{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	ok := false
	for _, p := range s.Points {
		if !p.Ink {
			continue
		}
		ok = true
		r.x0, r.y0 = math.Min(r.x0, float64(p.X)), math.Min(r.y0, float64(p.Y))
		r.x1, r.y1 = math.Max(r.x1, float64(p.X)), math.Max(r.y1, float64(p.Y))
	}
	return r, ok
}

func blank(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	return img
}

// draw rasterises the strokes with t onto a white w×h image.
func (s *Signature) draw(w, h int, t xform) *image.NRGBA {
	c := newCoverage(w, h)
	maxP := float64(s.Caps.MaxPressure)
	if maxP <= 0 {
		for _, p := range s.Points {
			maxP = math.Max(maxP, float64(p.Pressure))
		}
	}
	maxP = math.Max(maxP, 1)
	minR, maxR := 0.5*0.35*t.penMax, 0.5*t.penMax
	radius := func(pressure int) float64 {
		f := math.Pow(math.Min(math.Max(float64(pressure)/maxP, 0), 1), 0.6)
		return minR + (maxR-minR)*f
	}
	for _, st := range s.Strokes() {
		pts := make([]vertex, len(st.Points))
		for i, p := range st.Points {
			x, y := t.apply(p.X, p.Y)
			pts[i] = vertex{x, y, radius(p.Pressure)}
		}
		c.stroke(pts)
	}
	return c.image(w, h)
}

// vertex is a point of a stroke in pixels with its pen radius.
type vertex struct{ x, y, r float64 }

// coverage holds, per pixel, how much of it the ink covers (0..1).
type coverage struct {
	w, h int
	a    []float32
}

func newCoverage(w, h int) *coverage { return &coverage{w: w, h: h, a: make([]float32, w*h)} }

// stroke draws a smoothed polyline through pts.
func (c *coverage) stroke(pts []vertex) {
	if len(pts) == 1 {
		c.capsule(pts[0], pts[0])
		return
	}
	prev := pts[0]
	for i := 0; i+1 < len(pts); i++ {
		p0, p1, p2, p3 := pts[max(i-1, 0)], pts[i], pts[i+1], pts[min(i+2, len(pts)-1)]
		n := int(math.Ceil(math.Hypot(p2.x-p1.x, p2.y-p1.y) / 1.5))
		n = min(max(n, 1), 256)
		for k := 1; k <= n; k++ {
			v := catmullRom(p0, p1, p2, p3, float64(k)/float64(n))
			c.capsule(prev, v)
			prev = v
		}
	}
}

// catmullRom evaluates the uniform Catmull-Rom spline between p1 and p2 at
// u in [0,1]; the radius is interpolated linearly.
func catmullRom(p0, p1, p2, p3 vertex, u float64) vertex {
	u2, u3 := u*u, u*u*u
	f := func(a, b, c, d float64) float64 {
		return 0.5 * (2*b + (c-a)*u + (2*a-5*b+4*c-d)*u2 + (3*b-a-3*c+d)*u3)
	}
	return vertex{
		x: f(p0.x, p1.x, p2.x, p3.x),
		y: f(p0.y, p1.y, p2.y, p3.y),
		r: p1.r + (p2.r-p1.r)*u,
	}
}

// capsule covers the pixels within the tapered capsule from a to b: the
// radius goes linearly from a.r to b.r along the segment. Coverage is the
// signed distance to the edge plus half a pixel, clamped to 0..1; where
// capsules overlap the larger coverage wins, so joints do not darken.
func (c *coverage) capsule(a, b vertex) {
	rMax := math.Max(a.r, b.r) + 1
	x0 := max(int(math.Floor(math.Min(a.x, b.x)-rMax)), 0)
	y0 := max(int(math.Floor(math.Min(a.y, b.y)-rMax)), 0)
	x1 := min(int(math.Ceil(math.Max(a.x, b.x)+rMax)), c.w-1)
	y1 := min(int(math.Ceil(math.Max(a.y, b.y)+rMax)), c.h-1)
	dx, dy := b.x-a.x, b.y-a.y
	l2 := dx*dx + dy*dy
	for py := y0; py <= y1; py++ {
		cy := float64(py) + 0.5
		row := c.a[py*c.w : (py+1)*c.w]
		for px := x0; px <= x1; px++ {
			cx := float64(px) + 0.5
			u := 0.0
			if l2 > 0 {
				u = math.Min(math.Max(((cx-a.x)*dx+(cy-a.y)*dy)/l2, 0), 1)
			}
			d := math.Hypot(cx-(a.x+u*dx), cy-(a.y+u*dy))
			cov := float32(math.Min(math.Max(a.r+(b.r-a.r)*u-d+0.5, 0), 1))
			if cov > row[px] {
				row[px] = cov
			}
		}
	}
}

// image composites the ink over white.
func (c *coverage) image(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, a := range c.a {
		f := float64(a)
		p := img.Pix[i*4 : i*4+4]
		p[0] = blend(InkColor.R, f)
		p[1] = blend(InkColor.G, f)
		p[2] = blend(InkColor.B, f)
		p[3] = 0xff
	}
	return img
}

func blend(ink uint8, f float64) uint8 {
	return uint8(math.Round(255*(1-f) + float64(ink)*f))
}
