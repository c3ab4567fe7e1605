package browsertest

// This file owns the accessibility check: axe-core, found where make deps
// installs it, injected into the page and run there.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// AxePath is where make deps installs axe-core (npm ci into .cache/npm),
// relative to the module's root; BK_AXE_JS names another axe.min.js.
const AxePath = ".cache/npm/node_modules/axe-core/axe.min.js"

// Violation is one rule of axe-core that the page breaks, with the
// elements that break it.
type Violation struct {
	ID      string `json:"id"`     // the rule, such as "label" or "color-contrast"
	Impact  string `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"` // CSS selector of the element
		HTML    string `json:"html"`
		Summary string `json:"summary"` // how to fix it
	} `json:"nodes"`
}

// Serious reports whether the violation fails a test: impact "serious" or
// "critical".
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s <%s>", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		html := strings.Join(strings.Fields(n.HTML), " ")
		if r := []rune(html); len(r) > 100 {
			html = string(r[:100]) + "…"
		}
		fmt.Fprintf(&b, "\n\t\t%s: %s", n.Target, html)
	}
	return b.String()
}

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// loadAxe reads axe.min.js once per test binary.
func loadAxe() (string, error) {
	axeOnce.Do(func() {
		path := os.Getenv("BK_AXE_JS")
		if path == "" {
			root, err := moduleRoot()
			if err != nil {
				axeErr = err
				return
			}
			path = filepath.Join(root, AxePath)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			axeErr = fmt.Errorf("no axe-core (make deps installs it with npm ci into .cache/npm; BK_AXE_JS names another axe.min.js): %w", err)
			return
		}
		axeJS = string(b)
	})
	return axeJS, axeErr
}

// moduleRoot is the directory with go.mod above the working directory (go
// test runs a package's tests in the package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory, so no .cache/npm; set BK_AXE_JS")
		}
		dir = parent
	}
}

// runAxe runs axe-core with its default rules (WCAG 2.x A and AA, and its
// best practices) on the whole document, and returns the violations with
// each element's selector flattened (a frame's or shadow root's path
// joined by " >>> ").
const runAxe = `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations.map((v) => ({
	id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map((n) => ({
		target: n.target.map((t) => Array.isArray(t) ? t.join(" >>> ") : t).join(" >>> "),
		html: n.html, summary: n.failureSummary || "",
	})),
})))`

// AxeViolations runs axe-core in the page and returns every violation, of
// every impact. The script is injected by DevTools, which the page's
// Content-Security-Policy does not restrict.
func (p *Page) AxeViolations() []Violation {
	p.t.Helper()
	src, err := loadAxe()
	if err != nil {
		p.t.Fatalf("browsertest: %v", err)
	}
	if !run(p, "look for axe", chromedp.Evaluate[bool](`typeof axe === "object"`)) {
		run(p, "inject axe-core", chromedp.Evaluate[chromedp.Void](src))
	}
	return run(p, "run axe-core", chromedp.Evaluate[[]Violation](runAxe, chromedp.EvalAwaitPromise))
}

// CheckAxe fails the test (Errorf) if axe-core finds a violation of impact
// "serious" or "critical" in the page.
func (p *Page) CheckAxe() {
	p.t.Helper()
	ReportSerious(p.t, p.URL(), p.AxeViolations())
}

// ReportSerious fails tb (Errorf, once, listing them all) for the serious
// and critical violations among vs, found on the page where; it returns
// how many there were.
func ReportSerious(tb testing.TB, where string, vs []Violation) int {
	tb.Helper()
	var msg strings.Builder
	n := 0
	for _, v := range vs {
		if v.Serious() {
			n++
			fmt.Fprintf(&msg, "\n\t%s", v)
		}
	}
	if n > 0 {
		tb.Errorf("axe-core: %d serious or critical violations on %s:%s", n, where, msg.String())
	}
	return n
}
