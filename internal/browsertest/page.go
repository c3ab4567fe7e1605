package browsertest

// This file owns a Page: one tab, in a browser context of its own, and
// what a test does with it as a person would.

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds each action of a Page, so that a page that never
// loads fails the test rather than hanging until go test's own timeout.
const DefaultTimeout = 20 * time.Second

// ShotsSubdir is where under $SCREENSHOTS_DIR a Page keeps its
// screenshots: the office is the kit's web UI (the app's screens, from
// app/ui, lie at the top).
const ShotsSubdir = "office"

//go:embed find.js
var findJS string

// Page is one browser tab of a test. Its methods fail the test (Fatalf)
// when the browser cannot do what they ask, so call them from the test's
// goroutine.
type Page struct {
	t   testing.TB
	ctx context.Context

	// Timeout bounds each action; DefaultTimeout unless changed.
	Timeout time.Duration

	userAgent string
}

// New opens a new page in the test binary's browser (starting it on first
// use); it closes at the end of the test.
func New(tb testing.TB) *Page {
	tb.Helper()
	return Shared(tb).NewPage(tb)
}

// NewPage opens a new tab in a new browser context: it shares no cookies
// and no storage with any other page. It closes at the end of the test.
func (b *Browser) NewPage(tb testing.TB) *Page {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	// The first Run opens the tab, which lives as long as the context of
	// that Run: a timeout on it would close the tab, so the wait is
	// bounded from outside.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(ctx) }()
	select {
	case err := <-opened:
		if err != nil {
			tb.Fatalf("browsertest: open a tab: %v", err)
		}
	case <-time.After(DefaultTimeout):
		tb.Fatalf("browsertest: open a tab: no answer in %v", DefaultTimeout)
	}
	p := &Page{t: tb, ctx: ctx, Timeout: DefaultTimeout, userAgent: b.userAgent}
	p.SetLanguage("de-DE")
	run(p, "watch the CSP", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchCSP})
		return err
	}))
	run(p, "time zone", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Europe/Berlin"})
		return err
	}))
	return p
}

// SetLanguage makes the page ask for lang (such as "de-DE" or "en") in
// Accept-Language and use it as the browser's locale. A new page is
// German, in Berlin's time zone, as in a town hall (Chromium's --lang does
// nothing headless).
func (p *Page) SetLanguage(lang string) {
	p.t.Helper()
	run(p, "language "+lang, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: p.userAgent, AcceptLanguage: lang,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: strings.ReplaceAll(lang, "-", "_")})
		return err
	}))
}

// Context is the tab's chromedp context, for what the helpers do not
// cover: chromedp.Run(p.Context(), ...).
func (p *Page) Context() context.Context { return p.ctx }

// run runs one action with the page's timeout and fails the test on error.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browsertest: %s: %v", what, err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// (JSON) into a T.
func Eval[T any](p *Page, js string) T {
	p.t.Helper()
	return run(p, "evaluate "+js, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// Open loads url and waits for the page to load; it returns the HTTP
// status of the document (after redirects).
func (p *Page) Open(url string) int {
	p.t.Helper()
	return status(run(p, "open "+url, chromedp.NavigateResponse(url)))
}

func status(r *network.Response) int {
	if r == nil {
		return 0
	}
	return int(r.Status)
}

// find returns a JavaScript expression that calls fn of find.js with args.
func find(fn string, args ...string) string {
	b, _ := json.Marshal(args)
	return fmt.Sprintf("(%s).%s(...%s)", findJS, fn, b)
}

// Fill puts value into the field with the given label (or id, aria-label,
// name): typed key by key into a text field, chosen by value or text in a
// select, set in a date or time field. Checkboxes and radio buttons are
// clicked (Click with their label).
func (p *Page) Fill(field, value string) {
	p.t.Helper()
	what := fmt.Sprintf("fill %q", field)
	how := run(p, what, chromedp.Evaluate[string](find("fill", field, value)))
	if how == "type" {
		run(p, what, chromedp.SendKeys(chromedp.JSPath(find("field", field)), value))
	}
}

// Value is the current value of the field with the given label (or id,
// aria-label, name).
func (p *Page) Value(field string) string {
	p.t.Helper()
	return run(p, fmt.Sprintf("value of %q", field), chromedp.Evaluate[string](find("field", field)+".value"))
}

// Click clicks a button or link by its text (or aria-label), a field by
// its label, or else the one element a CSS selector matches, and waits for
// the page it loads; it returns that page's HTTP status. A click that
// loads no page would wait out the timeout: use ClickWithoutLoad for it.
func (p *Page) Click(target string) int {
	p.t.Helper()
	what := p.clickable(target)
	r := run(p, what, func(ctx context.Context, t *chromedp.Target) (*network.Response, error) {
		return chromedp.RunResponse(ctx, chromedp.Click(chromedp.JSPath(find("clickable", target))))
	})
	return status(r)
}

// ClickWithoutLoad clicks as Click does and does not wait for a page: for
// a checkbox, a disclosure, a script.
func (p *Page) ClickWithoutLoad(target string) {
	p.t.Helper()
	run(p, p.clickable(target), chromedp.Click(chromedp.JSPath(find("clickable", target))))
}

// clickable fails the test at once, saying what the page has, if target
// names no one element: chromedp's query would wait for it until the
// timeout.
func (p *Page) clickable(target string) string {
	p.t.Helper()
	what := fmt.Sprintf("click %q", target)
	run(p, what, chromedp.Evaluate[bool]("("+find("clickable", target)+", true)"))
	return what
}

// Text is the rendered text (innerText) of the first element that the
// CSS selector matches; Text("body") is the whole page's.
func (p *Page) Text(selector string) string {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const q = %s, el = document.querySelector(q);
		if (!el) throw new Error("no element matches " + JSON.stringify(q));
		return el.innerText; })()`, jsString(selector))
	return run(p, fmt.Sprintf("text of %q", selector), chromedp.Evaluate[string](js))
}

// Count is how many elements the CSS selector matches.
func (p *Page) Count(selector string) int {
	p.t.Helper()
	js := fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(selector))
	return run(p, fmt.Sprintf("count %q", selector), chromedp.Evaluate[int](js))
}

// WaitVisible waits until an element that the CSS selector matches is
// visible: for what a script adds after the page has loaded.
func (p *Page) WaitVisible(selector string) {
	p.t.Helper()
	run(p, fmt.Sprintf("wait for %q", selector), chromedp.WaitVisible(chromedp.CSS(selector)))
}

// URL is the page's address.
func (p *Page) URL() string {
	p.t.Helper()
	return run(p, "location", chromedp.Location())
}

// Title is the page's title.
func (p *Page) Title() string {
	p.t.Helper()
	return run(p, "title", chromedp.Title())
}

// Cookies are the cookies the browser would send to the page's address,
// with their attributes (HTTPOnly, SameSite, Secure, Expires).
func (p *Page) Cookies() []*network.Cookie {
	p.t.Helper()
	url := p.URL()
	return run(p, "cookies", func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		return r.Cookies, err
	})
}

// Cookie is the page's cookie with that name, or nil.
func (p *Page) Cookie(name string) *network.Cookie {
	p.t.Helper()
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Screenshot takes the whole page (not only the window) as PNG and fails
// the test if it shows nothing but one colour. With SCREENSHOTS_DIR set
// (make screenshots) it keeps it as $SCREENSHOTS_DIR/office/NAME.png.
func (p *Page) Screenshot(name string) []byte {
	p.t.Helper()
	b := run(p, "screenshot "+name, chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		p.t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	if blank(img) {
		p.t.Errorf("browsertest: screenshot %s (%s) is blank", name, p.URL())
	}
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		return b
	}
	file := filepath.Join(dir, ShotsSubdir, name+".png")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return b
}

// Check checks the page as every office page is checked: axe-core finds
// no serious or critical violation (CheckAxe), the browser blocked
// nothing for the Content-Security-Policy (CSPViolations), and the
// screenshot NAME is taken (Screenshot).
func (p *Page) Check(name string) {
	p.t.Helper()
	p.CheckAxe()
	if vs := p.CSPViolations(); len(vs) > 0 {
		p.t.Errorf("browsertest: the Content-Security-Policy of %s blocked:\n\t%s", p.URL(), strings.Join(vs, "\n\t"))
	}
	p.Screenshot(name)
}

// watchCSP runs in every document before the page's own scripts and
// keeps what the browser blocked for the Content-Security-Policy.
const watchCSP = `document.addEventListener("securitypolicyviolation", (e) => {
	(window.__browsertestCSP = window.__browsertestCSP || []).push(
		e.effectiveDirective + " blocked " + (e.blockedURI || "?") +
		(e.sourceFile ? " at " + e.sourceFile + ":" + e.lineNumber : "") + (e.sample ? ": " + e.sample : ""));
}, true);`

// CSPViolations is what the browser has blocked in the current document
// because of its Content-Security-Policy, such as an inline script or
// style: what the page meant to do and does not.
func (p *Page) CSPViolations() []string {
	p.t.Helper()
	return run(p, "CSP violations", chromedp.Evaluate[[]string](`window.__browsertestCSP || []`))
}

// blank reports whether an image is one colour.
func blank(img image.Image) bool {
	b := img.Bounds()
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 {
				return false
			}
		}
	}
	return true
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
