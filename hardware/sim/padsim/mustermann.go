// This file makes a synthetic signature, "Mustermann" in a cursive hand, as
// the pen states a pad would report: smooth strokes sampled at the pad's
// rate, pressure that rises and falls, the pen moving in the air between
// strokes and leaving proximity at the end.

package padsim

import (
	_ "embed"
	"math"

	"github.com/buergerkoffer/kit/hardware/sigpad"
)

// glyph keypoints in x-height units: x to the right, y up from the baseline.
type kp struct{ x, y float64 }

// mustermannStrokes are the strokes of the name: the word in one cursive
// stroke, the bar of the t, and an underline flourish.
var mustermannStrokes = [][]kp{
	{
		// M
		{0, 0}, {0.3, 2.3}, {0.72, 0.7}, {1.12, 2.3}, {1.42, 0.05},
		// u
		{1.72, 1.0}, {1.82, 0.15}, {2.12, 0.05}, {2.42, 0.95}, {2.48, 0.1}, {2.68, 0.08},
		// s
		{3.0, 1.0}, {3.28, 0.38}, {2.98, 0.04}, {3.32, 0.22},
		// t
		{3.64, 2.0}, {3.58, 0.12}, {3.86, 0.1},
		// e
		{4.24, 0.55}, {4.1, 0.92}, {3.94, 0.5}, {4.14, 0.05}, {4.44, 0.22},
		// r
		{4.6, 0.95}, {4.76, 0.78}, {4.96, 0.96}, {5.0, 0.08}, {5.14, 0.45},
		// m
		{5.3, 0.95}, {5.44, 0.06}, {5.6, 0.95}, {5.74, 0.06}, {5.9, 0.95}, {6.04, 0.06},
		// a
		{6.5, 0.88}, {6.24, 0.96}, {6.12, 0.3}, {6.34, 0.04}, {6.56, 0.5}, {6.56, 0.95}, {6.6, 0.1}, {6.8, 0.06},
		// n n
		{6.96, 0.95}, {7.1, 0.06}, {7.26, 0.95}, {7.4, 0.06},
		{7.56, 0.95}, {7.7, 0.06}, {7.86, 0.95}, {8.0, 0.06}, {8.3, 0.45},
	},
	// bar of the t
	{{3.38, 1.38}, {3.7, 1.46}, {3.98, 1.5}},
	// underline flourish
	{{0.1, -0.55}, {2.2, -0.8}, {5.0, -0.72}, {7.4, -0.6}, {8.4, -0.35}},
}

// Mustermann returns the pen states of a synthetic signature on a pad with
// the given capabilities, one per sample: in the air towards the first
// stroke, the strokes, the pen in the air between them, the lift and the pen
// leaving proximity. It is deterministic.
func Mustermann(caps sigpad.Query) []sigpad.Pen {
	if caps.MaxX <= 0 || caps.MaxY <= 0 {
		caps = DefaultCaps
	}
	// The name spans 8.4 units; fit it into 80 % of the pad's width and
	// put the baseline at 60 % of its height (pad y grows downwards).
	scale := math.Min(0.8*float64(caps.MaxX)/8.4, 0.6*float64(caps.MaxY)/3.2)
	x0 := (float64(caps.MaxX) - 8.4*scale) / 2
	y0 := 0.6 * float64(caps.MaxY)
	toPad := func(p kp) (int, int) {
		return clamp(int(math.Round(x0+p.x*scale)), caps.MaxX), clamp(int(math.Round(y0-p.y*scale)), caps.MaxY)
	}
	maxP := float64(max(caps.MaxPressure, 1))

	var pens []sigpad.Pen
	air := func(from, to kp, n int) {
		for i := 0; i <= n; i++ {
			u := float64(i) / float64(n)
			// lift a little above the straight way, as a hand does
			p := kp{from.x + (to.x-from.x)*u, from.y + (to.y-from.y)*u + 0.3*math.Sin(math.Pi*u)}
			x, y := toPad(p)
			pens = append(pens, sigpad.Pen{X: x, Y: y, Proximity: true})
		}
	}
	prev := kp{mustermannStrokes[0][0].x - 0.4, mustermannStrokes[0][0].y + 0.6}
	for si, st := range mustermannStrokes {
		air(prev, st[0], 12)
		pts := sampleSpline(st, 0.055)
		for i, p := range pts {
			x, y := toPad(p)
			// Pressure: rises over the first samples, falls over the last,
			// and varies slowly in between.
			ramp := math.Min(1, math.Min(float64(i+1)/6, float64(len(pts)-i)/6))
			f := ramp * (0.55 + 0.4*math.Sin(float64(i)/11+float64(si)))
			pens = append(pens, sigpad.Pen{
				X: x, Y: y, Pressure: max(1, int(f*maxP)),
				Proximity: true, Tip: true,
			})
		}
		last := st[len(st)-1]
		x, y := toPad(last)
		pens = append(pens, sigpad.Pen{X: x, Y: y, Proximity: true}) // lift
		prev = last
	}
	air(prev, kp{prev.x + 0.3, prev.y + 0.8}, 6)
	last := pens[len(pens)-1]
	pens = append(pens, sigpad.Pen{X: last.X, Y: last.Y}) // out of proximity
	return pens
}

func clamp(v, hi int) int { return min(max(v, 0), hi) }

// sampleSpline walks a Catmull-Rom spline through pts and returns points
// about step apart, faster on long straight parts and slower in turns, as a
// pen moves.
func sampleSpline(pts []kp, step float64) []kp {
	out := []kp{pts[0]}
	for i := 0; i+1 < len(pts); i++ {
		p0, p1, p2, p3 := pts[max(i-1, 0)], pts[i], pts[i+1], pts[min(i+2, len(pts)-1)]
		seg := math.Hypot(p2.x-p1.x, p2.y-p1.y)
		// Longer segments are drawn faster: fewer samples per unit.
		speed := step * (0.7 + 0.5*math.Min(seg, 1.5))
		n := max(2, int(math.Ceil(seg/speed)))
		for k := 1; k <= n; k++ {
			u := float64(k) / float64(n)
			out = append(out, catmullRom(p0, p1, p2, p3, u))
		}
	}
	return out
}

func catmullRom(p0, p1, p2, p3 kp, u float64) kp {
	u2, u3 := u*u, u*u*u
	f := func(a, b, c, d float64) float64 {
		return 0.5 * (2*b + (c-a)*u + (2*a-5*b+4*c-d)*u2 + (3*b-a-3*c+d)*u3)
	}
	return kp{f(p0.x, p1.x, p2.x, p3.x), f(p0.y, p1.y, p2.y, p3.y)}
}

//go:embed traces/mustermann.isdv4
var sampleTrace []byte

// SampleTrace returns the built-in raw capture: the query reply of a pad
// with DefaultCaps followed by Mustermann's pen packets with some line noise
// in between, as a driver would have received it. Replay it with
// SplitRaw (the query reply in it is skipped by drivers while streaming)
// or decode it with sigpad.ParseRaw.
func SampleTrace() []byte { return append([]byte(nil), sampleTrace...) }
