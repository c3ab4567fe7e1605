package browsertest

// This file owns the one browser of a test binary: which Chromium, with
// which flags, started once and stopped once.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is Debian's chromium launcher; BK_CHROMIUM overrides it.
const DefaultChromium = "/usr/bin/chromium"

// Viewport is the size of the browser window in CSS pixels: a town hall's
// desktop screen. Screenshots are as wide and as tall as the page.
const viewportW, viewportH = 1280, 900

// startTimeout bounds how long Chromium may take to come up on a loaded
// two-core machine.
const startTimeout = 60 * time.Second

// Browser is a running headless Chromium.
type Browser struct {
	ctx         context.Context // the browser's own first tab; pages derive from it
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	out         *lockedBuffer
	profile     string // holds the --user-data-dir; removed by Close
	userAgent   string

	// Version is the browser's product and version, such as
	// "HeadlessChrome/156.0.8078.108".
	Version string
	// StartTime is how long the start took, up to the first tab answering.
	StartTime time.Duration
}

var (
	mainCalled bool
	once       sync.Once
	shared     *Browser
	startErr   error
)

// Main runs the tests of m and stops the browser if one was started. m is
// a *testing.M, or what runs it inside another package's Main (such as
// pgtest.Main), so that one TestMain starts and stops both.
func Main(m interface{ Run() int }) int {
	mainCalled = true
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	return code
}

// Shared returns the test binary's browser, starting it on first use.
func Shared(tb testing.TB) *Browser {
	tb.Helper()
	if !mainCalled {
		tb.Fatalf("browsertest: the test binary's TestMain must run browsertest.Main(m), which stops the browser at the end")
	}
	once.Do(func() {
		shared, startErr = Start()
		if startErr == nil {
			tb.Logf("browsertest: %s started in %v", shared.Version, shared.StartTime.Round(time.Millisecond))
		}
	})
	if startErr != nil {
		tb.Fatalf("browsertest: %v", startErr)
	}
	return shared
}

// chromiumPath returns the Chromium to start, or why there is none.
func chromiumPath() (string, error) {
	path := DefaultChromium
	if p := os.Getenv("BK_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no Chromium at %s (Debian package chromium; make deps installs it; BK_CHROMIUM names another binary): %w", path, err)
	}
	return path, nil
}

// flags are Chromium's command line. As root it needs --no-sandbox. The
// machines have no internet: without the background-networking flags
// Chromium keeps trying Google's services and logs every refused
// connection. Start adds a fresh --user-data-dir, and chromedp
// --remote-debugging-pipe.
func flags(path string, out *lockedBuffer) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(viewportW, viewportH),
		chromedp.CombinedOutput(out),
	}
}

// Start starts a new headless Chromium and waits until it answers.
func Start() (*Browser, error) {
	path, err := chromiumPath()
	if err != nil {
		return nil, err
	}
	profile, err := newProfile()
	if err != nil {
		return nil, err
	}
	b := &Browser{out: &lockedBuffer{}, profile: profile}
	opts := append(flags(path, b.out), chromedp.UserDataDir(filepath.Join(profile, "chromium")))
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b.ctx, b.cancel, b.allocCancel = ctx, cancel, allocCancel

	// The first Run starts the browser and lives as long as ctx: a timeout
	// on it would stop the browser, so the wait is bounded from outside.
	begin := time.Now()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		err = fmt.Errorf("no answer in %v", startTimeout)
	}
	if err == nil {
		var v browser.GetVersionResult
		if v, err = cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.GetVersion, cdp.Empty{}); err == nil {
			b.Version, b.userAgent = v.Product, v.UserAgent
		}
	}
	b.StartTime = time.Since(begin)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("start %s: %w%s", path, err, b.output())
	}
	return b, nil
}

// output is what Chromium printed, for an error message.
func (b *Browser) output() string {
	s := strings.TrimSpace(b.out.String())
	if s == "" {
		return ""
	}
	return "; Chromium said:\n" + s
}

// Close stops the browser, waits for it to exit and removes its profile
// directory.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	err := chromedp.Cancel(ctx)
	b.cancel()
	b.allocCancel() // waits for the process
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if rerr := os.RemoveAll(b.profile); err == nil {
		err = rerr
	}
	return err
}

// profilePrefix names the directories that hold a browser's profile,
// followed by the test binary's process id.
const profilePrefix = "bk-browsertest-"

// newProfile makes a fresh directory for the browser's profile, named
// for this process, and removes those that test binaries killed before
// Close left behind (their process is gone; Chromium went with it).
func newProfile() (string, error) {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), profilePrefix+"*"))
	for _, dir := range old {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), profilePrefix), "-")
		if n, err := strconv.Atoi(pid); err == nil && n != os.Getpid() && gone(n) {
			os.RemoveAll(dir)
		}
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", profilePrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("profile directory: %w", err)
	}
	return dir, nil
}

// gone reports whether no process has the id pid.
func gone(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return true
	}
	return errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

// lockedBuffer collects Chromium's output, written from chromedp's
// goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil // enough to say why it failed
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
