package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/assets"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

// Every text a screen shows has an English entry, with the same
// placeholders, and the English file has no entries nobody uses.
func TestTranslationsComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	re := regexp.MustCompile(`\bk\.(?:t|tf|button)\(\s*("(?:[^"\\]|\\.)*")`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			s, err := strconv.Unquote(m[1])
			if err != nil {
				t.Fatal(err)
			}
			used[s] = true
		}
	}
	if len(used) < 100 {
		t.Fatalf("found only %d texts: the pattern no longer matches the code", len(used))
	}
	b, err := assets.Translations.ReadFile("translations/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]string
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	verbs := regexp.MustCompile(`%[sdqv%]`)
	for s := range used {
		v, ok := en[s]
		if !ok || v == "" {
			t.Errorf("no English for %q", s)
			continue
		}
		if a, b := verbs.FindAllString(s, -1), verbs.FindAllString(v, -1); strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("%q → %q: placeholders %v, %v", s, v, a, b)
		}
	}
	for s := range en {
		if !used[s] {
			t.Errorf("English entry nobody uses: %q", s)
		}
	}
}

// The device tests use the drivers against the simulators on real
// pseudo-terminals, and say plainly what is wrong with a wrong port; the
// language switch turns the whole app into English at once.
func TestSettings_DevicesAndLanguage(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.signIn("anna")
	h.tap("Einstellungen")
	h.waitScreen("settings")
	h.waitText("Anna Schmidt (anna)")
	h.tapNth("Testen", 0)
	h.waitText("Lesegerät in Ordnung")
	h.tapNth("Testen", 1)
	h.waitText("Unterschriftenpad in Ordnung: 38400 Baud")
	// Four-eyes is the town hall's to decide: shown, with no switch.
	h.waitText("Noch nicht vom Rathaus übermittelt")
	h.waitText(version.String()) // the release, as buergerkoffer --version prints it
	h.do(func() {
		for _, o := range h.walk() {
			if _, ok := o.(*widget.Check); ok {
				t.Error("the settings offer a switch; four-eyes is the town hall's policy")
			}
		}
	})
	h.shot("13-einstellungen")

	var selects []*widget.SelectEntry
	for _, o := range h.objects() {
		if s, ok := o.(*widget.SelectEntry); ok {
			selects = append(selects, s)
		}
	}
	if len(selects) != 2 {
		t.Fatalf("%d port fields", len(selects))
	}
	h.do(func() { selects[0].SetText(filepath.Join(t.TempDir(), "ttyUSB9")) })
	h.tapNth("Testen", 0)
	h.waitText("Der Anschluss lässt sich nicht öffnen.")

	// English: saved, and in force at once.
	for _, o := range h.objects() {
		if x, ok := o.(*widget.Select); ok && len(x.Options) == 2 && x.Options[1] == "English" {
			h.do(func() { x.SetSelected("English") })
		}
	}
	h.do(func() { selects[0].SetText(h.mrz.Path()) })
	h.tap("Einstellungen speichern")
	h.waitText("Settings saved.")
	h.waitText("Sync now")
	s, err := LoadSettings(h.ctx, h.st)
	if err != nil {
		t.Fatal(err)
	}
	if s.Lang != "en" || s.IDReader != h.mrz.Path() {
		t.Errorf("saved settings %+v", s)
	}
	h.shot("14-settings-english")
}

// With the town hall's four-eyes policy on (pulled by the agent), a signed
// case is sealed only after a second clerk has confirmed it with their own
// password; the settings show the policy, and no clerk can switch it off.
func TestFourEyesBeforeSealing(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	if err := h.st.SetPolicy(h.ctx, syncproto.Policy{FourEyes: true}); err != nil {
		t.Fatal(err)
	}
	ss := h.session("anna")
	v, err := ss.CreateVisit(h.ctx, domain.Visit{Place: "Pflegeheim St. Anna", Day: time.Now().Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ss.CreateCase(h.ctx, domain.Case{ServiceID: "meldebescheinigung", VisitID: v.ID,
		Form: domain.Fields{"surname": "Beispiel", "given_names": "Jonas"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.SetCaseStatus(h.ctx, c.ID, store.AnyVersion, domain.StatusSigned); err != nil {
		t.Fatal(err)
	}
	h.signIn("anna")
	h.waitText("Jonas Beispiel")
	h.tap("Abschließen")
	h.waitScreen("signoff")
	h.waitText("Vier-Augen-Prinzip")
	if h.button("Versiegeln und abschließen") != nil {
		t.Fatal("sealing possible before the second clerk confirmed")
	}
	var sel *widget.Select
	var offered []string
	h.waitFor("the second clerk's list", func() bool {
		h.do(func() {
			for _, o := range h.walk() {
				if x, ok := o.(*widget.Select); ok && len(x.Options) == 1 {
					sel, offered = x, slices.Clone(x.Options)
				}
			}
		})
		return sel != nil
	})
	if offered[0] != "Ben Keller (ben)" {
		t.Errorf("second clerks offered: %v (the signed-in clerk must not confirm)", offered)
	}
	h.do(func() { sel.SetSelected("Ben Keller (ben)") })
	pw := h.entries()[0]
	h.typeInto(pw, "nicht-sein-Passwort")
	h.tap("Bestätigen")
	h.waitText("Benutzername oder Passwort ist falsch.")
	h.shot("15-vier-augen")
	h.do(func() { sel.SetSelected("Ben Keller (ben)") })
	h.typeInto(pw, testPassword)
	h.tap("Bestätigen")
	h.waitText("Bestätigt durch die zweite Person: Ben Keller.")
	h.tap("Versiegeln und abschließen")
	h.waitScreen("day")
	got, _, err := ss.Case(h.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	clerks, _ := h.st.Clerks(h.ctx)
	ben := ""
	for _, cl := range clerks {
		if cl.Username == "ben" {
			ben = cl.ID
		}
	}
	if got.Status != domain.StatusSealed || got.ConfirmedBy != ben || ben == "" {
		t.Errorf("case %s confirmed by %q (ben is %q)", got.Status, got.ConfirmedBy, ben)
	}
	h.tap("Einstellungen")
	h.waitScreen("settings")
	h.waitText("vom Rathaus festgelegt")
}
