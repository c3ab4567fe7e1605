package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }

// heading is a screen's title.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = "headingText"
	return l
}

// bold is a bold label.
func bold(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// wrapped is a label that wraps at word boundaries.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// problem is a label for an error message next to what caused it; empty,
// it takes no room.
func problem() *widget.Label {
	l := wrapped("")
	l.Importance = widget.DangerImportance
	l.Hide()
	return l
}

// setProblem shows msg in l, or hides l when msg is empty; the window is
// laid out again when that changes the room l takes.
func (k *Kit) setProblem(l *widget.Label, msg string) {
	was := l.Visible()
	l.SetText(msg)
	if msg == "" {
		l.Hide()
	} else {
		l.Show()
	}
	if was != l.Visible() && k.root != nil {
		k.relayout()
	}
}

// note is a label for a warning the clerk must see.
func note(text string) *widget.Label {
	l := wrapped(text)
	l.Importance = widget.WarningImportance
	return l
}

// setText changes a label whose height may change with it (wrapped text);
// empty, it takes no room.
func (k *Kit) setText(l *widget.Label, s string) {
	l.SetText(s)
	if s == "" {
		l.Hide()
	} else {
		l.Show()
	}
	k.relayout()
}

// columns lays out objects as a table: rows of len(widths) cells, each
// column taking its fraction of the width, each row as high as its
// tallest cell. Unlike a grid, a long service name does not widen every
// column.
type columns struct{ widths []float32 }

func (c *columns) rows(objs []fyne.CanvasObject) [][]fyne.CanvasObject {
	var rows [][]fyne.CanvasObject
	for i := 0; i < len(objs); i += len(c.widths) {
		rows = append(rows, objs[i:min(i+len(c.widths), len(objs))])
	}
	return rows
}

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	y := float32(0)
	for _, row := range c.rows(objs) {
		h := float32(0)
		for _, o := range row {
			h = max(h, o.MinSize().Height)
		}
		x := float32(0)
		for i, o := range row {
			w := c.widths[i]*size.Width - pad
			o.Move(fyne.NewPos(x, y))
			o.Resize(fyne.NewSize(w, h))
			x += c.widths[i] * size.Width
		}
		y += h + pad
	}
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	pad := theme.Padding()
	var w, h float32
	for _, row := range c.rows(objs) {
		rh := float32(0)
		for i, o := range row {
			rh = max(rh, o.MinSize().Height)
			w = max(w, o.MinSize().Width/c.widths[i])
		}
		h += rh + pad
	}
	return fyne.NewSize(min(w, 900), h)
}

// cell is a table cell's text: cut with an ellipsis where it does not fit.
func cell(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Truncation = fyne.TextTruncateEllipsis
	return l
}

// wheelPass lies over a one-line entry inside a scroll area and hands the
// mouse wheel to that area. fyne gives a wheel event to the innermost
// scrollable under the pointer, and a one-line entry is one (it scrolls
// its text sideways): over the column of entries a long form did not
// scroll at all. Taps, the text cursor and selection still reach the
// entry, as the pass is neither tappable nor hoverable. The Kit points it
// at its scroll area when the screen is shown (watchInput).
type wheelPass struct {
	widget.BaseWidget
	outer *container.Scroll
}

func (p *wheelPass) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

func (p *wheelPass) Scrolled(ev *fyne.ScrollEvent) {
	if p.outer != nil {
		p.outer.Scrolled(ev)
	}
}

// wheelThrough returns a one-line entry with a wheelPass over it; any
// other input as it is (multi-line entries scroll their own text).
func wheelThrough(o fyne.CanvasObject) fyne.CanvasObject {
	switch e := o.(type) {
	case *widget.Entry:
		if e.MultiLine {
			return o
		}
	case *widget.SelectEntry: // a port name with suggestions
	default:
		return o
	}
	p := &wheelPass{}
	p.ExtendBaseWidget(p)
	return container.NewStack(o, p)
}
