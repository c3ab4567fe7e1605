// Package browsertest drives a real, headless Chromium for the browser
// tests of the office web app: Debian's chromium package, started through
// github.com/chromedp/chromedp on the first page a test binary asks for
// and stopped when the binary ends (also when it is killed: the kernel's
// parent-death signal takes the browser along, and the next start removes
// the profile directory it left in the temporary directory). The binary
// has one
// browser; every Page is a tab in a browser context of its own, so two
// pages of one test are two independent sessions with their own cookies.
//
// Use it from TestMain, then open a page per test:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
//	func TestLogin(t *testing.T) {
//		p := browsertest.New(t)
//		p.Open(srv.URL + "/login")
//		p.Fill("Benutzername", "anna")
//		p.Fill("Passwort", password)
//		p.Click("Anmelden")
//		p.Check("inbox") // axe-core, and a screenshot for make screenshots
//	}
//
// Check runs axe-core (the npm package, injected into the page) and fails
// the test on every violation of impact "serious" or "critical"; with
// SCREENSHOTS_DIR set, it also keeps a full-page PNG of the page as
// $SCREENSHOTS_DIR/office/NAME.png.
//
// Nothing is mocked and nothing is skipped: without Chromium (make deps
// installs the Debian package; BK_CHROMIUM names another binary) or
// without axe-core (make deps installs it with npm ci into .cache/npm;
// BK_AXE_JS names another axe.min.js) the test fails with a message that
// says so.
package browsertest
