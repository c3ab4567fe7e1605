// This file turns pen samples into a Signature: the time series a citizen
// drew, its strokes, the pad's capabilities and the raw packets as received.

package sigpad

import (
	"image"
	"slices"
	"sync"
	"time"
)

// Sample is one pen packet as the driver delivered it.
type Sample struct {
	Pen
	// Time is when the packet's last byte arrived (estimated from the read
	// time and the baud rate when several packets came in one read).
	Time time.Time
	// Raw is the packet exactly as received.
	Raw [PenPacketLen]byte
}

// Point is one sample of a Signature's time series.
type Point struct {
	X        int           `json:"x"`
	Y        int           `json:"y"`
	Pressure int           `json:"pressure"`
	Ink      bool          `json:"ink"` // pen tip down (a stroke point); false: pen in the air
	T        time.Duration `json:"t"`   // since Signature.Start
}

// Stroke is one run of ink points: pen down … pen up.
type Stroke struct {
	Points []Point
}

// Start is when the pen touched down.
func (s Stroke) Start() time.Duration { return s.Points[0].T }

// End is the time of the stroke's last ink point.
func (s Stroke) End() time.Duration { return s.Points[len(s.Points)-1].T }

// Signature is what a citizen drew on the pad.
//
// Points is the whole time series from the first pen-down on, in order,
// including the pen's movement in the air between strokes (as ISO/IEC
// 19794-7 keeps it, with the tip switch as channel S) and the sample at which
// the pen was lifted after the last stroke. Strokes derives the strokes.
type Signature struct {
	Caps   Query     `json:"caps"`   // the pad's query reply: max x, y, pressure, firmware
	Start  time.Time `json:"start"`  // time of the first point
	Points []Point   `json:"points"` // time series
	// Raw holds the pen packets exactly as received, 9 bytes each, from
	// the first one recorded. Feeding them to a Decoder (or replaying them
	// through padsim) gives the same points.
	Raw []byte `json:"raw"`
}

// Strokes returns the runs of ink points.
func (s *Signature) Strokes() []Stroke {
	var out []Stroke
	start := -1
	for i, p := range s.Points {
		switch {
		case p.Ink && start < 0:
			start = i
		case !p.Ink && start >= 0:
			out = append(out, Stroke{Points: s.Points[start:i]})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, Stroke{Points: s.Points[start:]})
	}
	return out
}

// Empty reports whether nothing was drawn.
func (s *Signature) Empty() bool {
	for _, p := range s.Points {
		if p.Ink {
			return false
		}
	}
	return true
}

// Duration is the time from the first to the last point.
func (s *Signature) Duration() time.Duration {
	if len(s.Points) == 0 {
		return 0
	}
	return s.Points[len(s.Points)-1].T
}

// Recorder collects samples into a Signature while the pen moves. It is safe
// for concurrent use: the driver's consumer adds, the UI renders.
type Recorder struct {
	mu      sync.Mutex
	sig     Signature
	started bool
	lastInk int // index of the last ink point, -1 before the first
}

// NewRecorder returns a Recorder for a pad with the given capabilities.
func NewRecorder(caps Query) *Recorder {
	return &Recorder{sig: Signature{Caps: caps}, lastInk: -1}
}

// Add records a sample. Samples before the first pen-down and samples out of
// proximity are not part of the signature and are ignored.
func (r *Recorder) Add(s Sample) {
	if !s.Proximity {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		if !s.Ink() {
			return
		}
		r.started = true
		r.sig.Start = s.Time
	}
	r.sig.Points = append(r.sig.Points, Point{
		X: s.X, Y: s.Y, Pressure: s.Pressure, Ink: s.Ink(),
		T: s.Time.Sub(r.sig.Start),
	})
	r.sig.Raw = append(r.sig.Raw, s.Raw[:]...)
	if s.Ink() {
		r.lastInk = len(r.sig.Points) - 1
	}
}

// Signature returns a copy of what was recorded so far, without the pen's
// hovering after the last stroke (the lift sample is kept).
func (r *Recorder) Signature() Signature {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot()
}

func (r *Recorder) snapshot() Signature {
	sig := r.sig
	n := 0
	if r.lastInk >= 0 {
		n = min(r.lastInk+2, len(sig.Points))
	}
	sig.Points = slices.Clone(sig.Points[:n])
	sig.Raw = slices.Clone(sig.Raw[:n*PenPacketLen])
	return sig
}

// Reset clears the signature ("Unterschrift löschen") and keeps the caps.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sig = Signature{Caps: r.sig.Caps}
	r.started = false
	r.lastInk = -1
}

// Render draws the live state for the app: the pad's whole area fitted into
// w×h, so that the ink stays where it is while the pen moves.
func (r *Recorder) Render(w, h int) *image.NRGBA {
	r.mu.Lock()
	sig := r.snapshot()
	r.mu.Unlock()
	return sig.Render(w, h)
}

// ParseRaw rebuilds a Signature from raw ISDv4 bytes (a Signature.Raw, or a
// capture with a query reply and line noise in it). The raw bytes carry no
// time, so point i gets the time i×interval. The first valid query reply in
// raw becomes Caps; without one Caps is zero. Stats tells what was skipped.
func ParseRaw(raw []byte, interval time.Duration) (Signature, Stats) {
	var d Decoder
	var caps Query
	rec := NewRecorder(Query{})
	start := time.Unix(0, 0).UTC()
	i := 0
	for _, b := range raw {
		p, ok := d.Push(b)
		if !ok {
			continue
		}
		switch p.Kind {
		case KindQuery:
			if caps == (Query{}) && p.Query.Valid() {
				caps = p.Query
			}
		case KindPen:
			s := Sample{Pen: p.Pen, Time: start.Add(time.Duration(i) * interval)}
			copy(s.Raw[:], p.Bytes())
			rec.Add(s)
			i++
		}
	}
	sig := rec.Signature()
	sig.Caps = caps
	return sig, d.Stats()
}
