package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// The signature: the citizen signs on the pad and sees the ink on the
// laptop as the pen moves. The pad is opened when the screen shows and
// closed when it goes; a goroutine owned by the screen reads it, and a
// frame ticker renders at most 30 pictures a second off the UI goroutine.
// "Neu unterschreiben" clears and opens the pad again; "Unterschrift
// übernehmen" stores the picture, the raw pad packets and the ISO/IEC
// 19794-7 time series with the case, and marks it signed.

const (
	sigFrame  = time.Second / 30
	sigWidth  = 720
	sigHeight = 260
)

func (k *Kit) showSignature(f *caseFlow) {
	k.show("signature", func() fyne.CanvasObject { return k.signature(f) })
}

// padSession is one opening of the pad for the screen.
type padSession struct {
	mu    sync.Mutex
	rec   *sigpad.Recorder
	caps  sigpad.Query
	dirty bool
	inked bool
}

func (p *padSession) recorder() *sigpad.Recorder {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rec
}

func (k *Kit) signature(f *caseFlow) fyne.CanvasObject {
	blank := image.NewNRGBA(image.Rect(0, 0, sigWidth, sigHeight))
	for i := range blank.Pix {
		blank.Pix[i] = 0xff
	}
	img := canvas.NewImageFromImage(blank)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(sigWidth, sigHeight))
	frame := canvas.NewRectangle(color.Transparent)
	frame.StrokeColor = color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xff}
	frame.StrokeWidth = 1
	status := widget.NewLabel(k.t("Unterschriftenpad wird geöffnet …"))
	msg := problem()
	take := k.button("Unterschrift übernehmen", nil)
	take.Importance = widget.HighImportance
	take.Disable()

	port := k.Settings().Pad
	var pad *padSession
	var stop context.CancelFunc
	open := func() {
		if stop != nil {
			stop()
		}
		if port == "" {
			status.SetText(k.t("Kein Unterschriftenpad eingestellt (Einstellungen → Geräte)."))
			return
		}
		p := &padSession{}
		pad = p
		ctx, cancel := context.WithCancel(k.ctx)
		stop = cancel
		img.Image = blank
		img.Refresh()
		take.Disable()
		k.spawn(func() { k.runPad(ctx, port, p, img, status, take) })
	}
	k.onLeave(func() {
		if stop != nil {
			stop()
		}
	})
	open()

	again := k.button("Neu unterschreiben", func() {
		k.setProblem(msg, "")
		open()
	})
	take.OnTapped = func() {
		k.touch()
		rec := pad.recorder()
		if rec == nil {
			return
		}
		sig := rec.Signature()
		if sig.Empty() {
			k.setProblem(msg, k.t("Es ist noch keine Unterschrift zu sehen."))
			return
		}
		ss := k.Session()
		if ss == nil {
			return
		}
		take.Disable()
		again.Disable()
		if stop != nil {
			stop() // the signature is taken: the pad stops drawing into it
		}
		k.flowWork(f, func(ctx context.Context) error {
			return k.storeSignature(ctx, f, sig)
		}, func(err error) {
			again.Enable()
			if err != nil {
				take.Enable()
				k.setProblem(msg, k.message(err))
				return
			}
			k.showSignoff(f)
		})
	}
	back := k.button("Zurück zur Übersicht", func() { k.showSummary(f) })
	head := container.NewVBox(heading(k.t("Unterschrift")),
		wrapped(k.t("Bitte unterschreiben Sie mit dem Stift auf dem Unterschriftenpad. Ihre Unterschrift erscheint hier.")),
		status)
	// The pad's area is drawn to its own proportions on white "paper".
	paper := canvas.NewRectangle(color.White)
	pic := container.NewCenter(container.NewStack(paper, img, frame))
	return container.NewBorder(head, container.NewVBox(msg, container.NewHBox(back, layoutSpacer(), again, take)), nil, nil, pic)
}

// runPad reads the pad until ctx ends and draws what it records.
func (k *Kit) runPad(ctx context.Context, port string, p *padSession, img *canvas.Image, status *widget.Label, take *widget.Button) {
	w := sigpad.Watch(ctx, k.Open, port, sigpad.Config{}, 200*time.Millisecond, 2*time.Second)
	defer w.Close()
	tick := time.NewTicker(sigFrame)
	defer tick.Stop()
	say := func(s string) {
		k.do(func() {
			if ctx.Err() == nil {
				status.SetText(s)
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events():
			if !ok {
				return
			}
			switch ev.Kind {
			case sigpad.WatchConnected, sigpad.WatchReconnected:
				p.mu.Lock()
				if p.rec == nil || p.caps != ev.Caps {
					p.rec, p.caps = sigpad.NewRecorder(ev.Caps), ev.Caps
				}
				p.mu.Unlock()
				say(k.t("Unterschriftenpad bereit. Bitte unterschreiben."))
			case sigpad.WatchSample:
				k.touch() // a citizen signing is not an idle laptop
				p.mu.Lock()
				if p.rec != nil {
					p.rec.Add(ev.Sample)
					p.dirty = true
				}
				p.mu.Unlock()
			case sigpad.WatchDisconnected:
				say(k.t("Das Unterschriftenpad ist getrennt. Bitte Kabel prüfen; es wird wieder verbunden, sobald es da ist."))
			case sigpad.WatchOpenFailed:
				if errors.Is(ev.Err, hardware.ErrDisconnected) {
					say(k.t("Kein Unterschriftenpad an diesem Anschluss gefunden. Bitte Kabel und Einstellungen prüfen."))
				} else {
					say(k.t("Das Unterschriftenpad antwortet nicht. Bitte aus- und wieder einstecken."))
				}
			}
		case <-tick.C:
			p.mu.Lock()
			rec, dirty := p.rec, p.dirty
			p.dirty = false
			caps := p.caps
			p.mu.Unlock()
			if !dirty || rec == nil {
				continue
			}
			h := sigHeight
			if caps.MaxX > 0 && caps.MaxY > 0 {
				h = max(120, min(400, sigWidth*caps.MaxY/caps.MaxX))
			}
			pic := rec.Render(sigWidth, h)
			sig := rec.Signature()
			empty := sig.Empty()
			k.do(func() {
				if ctx.Err() != nil {
					return
				}
				img.Image = pic
				img.Refresh()
				if !empty {
					take.Enable()
					// Not "bereit … bitte unterschreiben" under ink.
					if s := k.t("Unterschrift erfasst. Passt sie, „Unterschrift übernehmen“; sonst „Neu unterschreiben“."); status.Text != s {
						status.SetText(s)
					}
				}
			})
		}
	}
}

// storeSignature keeps the signature three ways with the case and marks
// the case signed; the picture for people, the raw packets (replayable
// through the simulator) and the ISO time series for a signature expert.
func (k *Kit) storeSignature(ctx context.Context, f *caseFlow, sig sigpad.Signature) error {
	ss := k.Session()
	if ss == nil {
		return fmt.Errorf("ui: store signature: %w", store.ErrLocked)
	}
	var png bytes.Buffer
	if err := sig.WritePNG(&png); err != nil {
		return fmt.Errorf("ui: signature picture: %w", err)
	}
	iso, err := iso19794.Marshal(sig)
	if err != nil {
		return fmt.Errorf("ui: signature time series: %w", err)
	}
	v, err := k.current(ctx, ss, f)
	if err != nil {
		return err
	}
	for _, a := range []struct {
		kind domain.AttachmentKind
		data []byte
	}{{domain.AttachmentSignaturePNG, png.Bytes()}, {domain.AttachmentPadRaw, sig.Raw}, {domain.AttachmentISO19794, iso}} {
		if _, v, err = ss.PutAttachment(ctx, f.id, v, a.kind, a.data); err != nil {
			return err
		}
		f.version = v // a retry after a failure goes on from here
	}
	if v, err = ss.SetCaseStatus(ctx, f.id, v, domain.StatusSigned); err != nil {
		return err
	}
	f.version, f.status, f.signedBy = v, domain.StatusSigned, ss.Clerk().ID
	return nil
}
