//go:build unix

package crashtest

// `syncd handoff` as a real process against the FIT-Connect test double
// (package fitconnecttest, on loopback in the test process): killed with
// SIGKILL right after it created a submission and between two attachment
// uploads, started again on the same database; a thousand cases in one
// run; a dry run; a refused key shown by `syncd admin handoff-cases`. The
// server is a real `syncd serve` on SQLite, or PostgreSQL with
// BK_TEST_SERVER_DB=postgres.

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/assets"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc/sample"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// handoffKit is a cluster with a laptop whose sealed cases reached the
// server, and the double they go to.
type handoffKit struct {
	*cluster
	fc    *fitconnecttest.Service
	cases []string
	flags []string // the FIT-Connect flags of syncd handoff
}

// newHandoffKit seals n cases of each service on a laptop, syncs them,
// starts the double and routes every service to it through `syncd admin
// handoff-route`.
func newHandoffKit(t *testing.T, opt fitconnecttest.Options, n int, services ...string) *handoffKit {
	t.Helper()
	if syncdBin == "" {
		t.Skip("needs the syncd binary (not with -short)")
	}
	c := newCluster(t)
	cat, err := catalog.LoadEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	k := &handoffKit{cluster: c}
	l := c.addLaptop("nord", func(l *laptop, ss *store.Session) {
		k.cases = sealCases(t, c.ctx, ss, cat, n, services)
	})
	if _, errOut, code := c.run("agent", "sync", "--db", l.path); code != 0 {
		t.Fatalf("agent sync: %s", errOut)
	}
	opt.DataSchemas, opt.SchemaURIs = map[string][]byte{}, map[string][]string{}
	for _, s := range cat.Services() {
		opt.Services = append(opt.Services, s.LeiKa)
		opt.SchemaURIs[s.LeiKa] = []string{casedoc.SchemaURI(s.ID)} // the destination lists the data's schema
		b, err := fs.ReadFile(assets.Schemas, casedoc.SchemaFile(s.ID))
		if err != nil {
			t.Fatal(err)
		}
		opt.DataSchemas[casedoc.SchemaURI(s.ID)] = b // the authority checks the data against it
	}
	k.fc = fitconnecttest.New(t, opt)
	root, secret := filepath.Join(c.dir, "root.pem"), filepath.Join(c.dir, "client-secret")
	if err := os.WriteFile(root, k.fc.RootPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte(k.fc.ClientSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k.flags = []string{"--tenant", tenant, "--submission-api", k.fc.URL(), "--token-url", k.fc.TokenURL(),
		"--client-id", k.fc.ClientID(), "--client-secret-file", secret, "--trust-anchor", root,
		"--lease", "2s", "--retry-min", "10ms", "--retry-max", "200ms"}
	for _, s := range services {
		c.mustRun(append(append([]string{"admin", "handoff-route"}, c.dbArgs()...), "--tenant", tenant, "--service", s,
			"--destination", k.fc.DestinationID())...)
	}
	return k
}

// sealCases seals n cases of each service with an unlocked session.
func sealCases(t *testing.T, ctx context.Context, ss *store.Session, cat *catalog.Catalog, n int, services []string) []string {
	t.Helper()
	w, err := sample.AddWitness(ctx, ss, "zweite", []byte("Zweiter-Blick-1"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ss.CreateVisit(ctx, domain.Visit{Place: "Dorfgemeinschaftshaus", VenueAddress: "Hauptstraße 1",
		Day: time.Now().UTC().Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range n {
		for _, s := range services {
			svc, _ := cat.Service(s)
			id, err := sample.SealedCase(ctx, ss, svc, v.ID, w, len(ids), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

// handoff runs `syncd handoff` with the kit's flags and more, to its end,
// and checks that its log shows no citizen's name or document number.
func (k *handoffKit) handoff(more ...string) (stdout, stderr string, code int) {
	k.t.Helper()
	stdout, stderr, code = k.run(append(append(append([]string{"handoff"}, k.dbArgs()...), k.flags...), more...)...)
	for i := range len(k.cases) {
		p := sample.Person(i)
		for _, word := range []string{p.Surname, p.DocumentNumber} {
			if strings.Contains(stderr, word) {
				k.t.Errorf("personal data (%q) in the log of syncd handoff", word)
			}
		}
	}
	return stdout, stderr, code
}

// handoffLong runs `syncd handoff` to its end, however long it takes
// (run gives up after a minute; a thousand cases may take longer on a
// loaded machine).
func (k *handoffKit) handoffLong(more ...string) (stdout, stderr string, code int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, syncdBin, append(append(append([]string{"handoff"}, k.dbArgs()...), k.flags...), more...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		k.t.Fatalf("syncd handoff: %v", err)
	}
	return out.String(), errOut.String(), code
}

// killAt starts `syncd handoff --once` paused at point, waits until it
// got there, and kills it with SIGKILL.
func (k *handoffKit) killAt(point string) {
	k.t.Helper()
	os.Setenv(crashEnv, point)
	// One case at a time: a kill while another case's create is on the
	// wire would leave that submission unfinished at the service (it
	// deletes it after a day), which the double counts as a second create.
	p := k.start("handoff-"+strings.ReplaceAll(point, ":", ""), append(append(append([]string{"handoff"}, k.dbArgs()...),
		k.flags...), "--once", "--parallel", "1")...)
	os.Unsetenv(crashEnv)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(p.log)
		if bytes.Contains(b, []byte("paused at "+point)) {
			break
		}
		if !p.running() || time.Now().After(deadline) {
			k.t.Fatalf("syncd handoff did not reach %s (%v):\n%s", point, p.err, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.kill()
}

const crashEnv = "BK_HANDOFF_CRASH_AFTER"

// complete checks that every case arrived exactly once, whole.
func (k *handoffKit) complete(attachments int) {
	k.t.Helper()
	subs := k.fc.Submissions()
	if len(subs) != len(k.cases) {
		k.t.Fatalf("the double received %d submissions, want %d", len(subs), len(k.cases))
	}
	for _, r := range subs {
		if r.Creates != 1 {
			k.t.Errorf("submission %s: its data was created %d times", r.SubmissionID, r.Creates)
		}
		if len(r.Attachments) != attachments {
			k.t.Errorf("submission %s: %d attachments, want %d", r.SubmissionID, len(r.Attachments), attachments)
		}
	}
}

// A worker killed right after create, one killed between two uploads and
// one killed after the service took its submit but before it kept that,
// are followed by one that completes the same submissions: one per case,
// each complete; a second run submits nothing new; the authority's
// acceptance reaches the cases in `syncd export`.
func TestHandoff_KilledWorkerSubmitsOnce(t *testing.T) {
	k := newHandoffKit(t, fitconnecttest.Options{}, 2, "anmeldung")
	k.killAt("create")
	k.killAt("attachment:2")
	k.killAt("submit") // the service has the submit, the database does not know
	out, errOut, code := k.handoff("--once")
	if code != 0 {
		t.Fatalf("syncd handoff --once: exit %d\n%s\n%s", code, out, errOut)
	}
	k.complete(3)
	if out, _, code := k.handoff("--once"); code != 0 || !strings.Contains(out, "submitted 0,") {
		t.Fatalf("second run: exit %d: %s", code, out)
	}
	if n := len(k.fc.Submissions()); n != len(k.cases) {
		t.Fatalf("after the second run: %d submissions", n)
	}
	for _, r := range k.fc.Submissions() {
		if err := k.fc.Accept(r.SubmissionID); err != nil {
			t.Fatal(err)
		}
	}
	if out, errOut, code := k.handoff("--once"); code != 0 || !strings.Contains(out, "accepted 2,") {
		t.Fatalf("run after the answers: exit %d: %s\n%s", code, out, errOut)
	}
	export := k.mustRun(append(append([]string{"export"}, k.dbArgs()...), "--tenant", tenant)...)
	accepted := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
		var r syncproto.ExportRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Type == string(domain.TypeCase) && r.Fields["status"] == string(domain.StatusAccepted) {
			accepted[r.ID] = true
		}
	}
	for _, id := range k.cases {
		if !accepted[id] {
			t.Errorf("case %s is not accepted in syncd export", id)
		}
	}
	routes := k.mustRun(append(append([]string{"admin", "handoff-routes"}, k.dbArgs()...), "--tenant", tenant)...)
	if !strings.Contains(routes, k.fc.DestinationID()) || !regexpLine(routes, `anmeldung\s+\S+(\s+0){4}\s+2\s+0\s+0\s+0`) {
		t.Errorf("handoff-routes does not show 2 accepted:\n%s", routes)
	}
}

// A thousand sealed cases are handed off in one run, each once; a second
// run submits nothing new.
func TestHandoff_ThousandCasesInOneRun(t *testing.T) {
	k := newHandoffKit(t, fitconnecttest.Options{}, 1000, "meldebescheinigung")
	start := time.Now()
	out, errOut, code := k.handoffLong("--once")
	if code != 0 || !strings.Contains(out, "submitted 1000,") {
		t.Fatalf("syncd handoff --once: exit %d: %s\n%s", code, out, lastLines(errOut, 20))
	}
	t.Logf("1000 cases handed off in %v", time.Since(start).Round(time.Millisecond))
	k.complete(0)
	if out, _, code := k.handoff("--once"); code != 0 || !strings.Contains(out, "submitted 0,") {
		t.Fatalf("second run: exit %d: %s", code, out)
	}
	if n := len(k.fc.Submissions()); n != 1000 {
		t.Fatalf("after the second run: %d submissions", n)
	}
}

// A dry run prints the metadata and data of a case of each service,
// unencrypted, and sends nothing.
func TestHandoff_DryRun(t *testing.T) {
	services := []string{"anmeldung", "meldebescheinigung", "fuehrungszeugnis", "hundeanmeldung", "bewohnerparkausweis"}
	k := newHandoffKit(t, fitconnecttest.Options{}, 1, services...)
	for i, id := range k.cases {
		out := k.mustRun(append(append([]string{"handoff"}, k.dbArgs()...), "--tenant", tenant, "--dry-run", "--case", id)...)
		checkDryRun(t, services[i], out)
	}
	if n := k.fc.TokensIssued(); n != 0 || len(k.fc.Submissions()) != 0 {
		t.Fatalf("a dry run spoke to the service: %d tokens, %d submissions", n, len(k.fc.Submissions()))
	}
}

// checkDryRun checks a dry run's output: pretty JSON of the metadata and
// the data, the metadata naming the data's SHA-512 and the service's
// LeiKa id, with three attachments (the signature) for a service signed
// on the pad.
func checkDryRun(t *testing.T, service, out string) {
	t.Helper()
	var doc struct {
		Metadata struct {
			ContentStructure struct {
				Data struct {
					Hash struct{ Type, Content string }
				}
				Attachments []struct{ AttachmentID string }
			}
			PublicServiceType struct{ Identifier string }
		}
		Data json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%s: dry run output is not JSON: %v\n%s", service, err, out)
	}
	var data bytes.Buffer
	if err := json.Compact(&data, doc.Data); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(data.Bytes())
	if h := doc.Metadata.ContentStructure.Data.Hash; h.Type != "sha512" || h.Content != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: the metadata's data hash is not the SHA-512 of the data shown", service)
	}
	cat, _ := catalog.LoadEmbedded()
	svc, _ := cat.Service(service)
	if doc.Metadata.PublicServiceType.Identifier != svc.LeiKa {
		t.Errorf("%s: public service type %q, want %q", service, doc.Metadata.PublicServiceType.Identifier, svc.LeiKa)
	}
	want := 0
	if svc.MustSign {
		want = 3
	}
	if n := len(doc.Metadata.ContentStructure.Attachments); n != want {
		t.Errorf("%s: %d attachments in the metadata, want %d", service, n, want)
	}
	if !strings.Contains(out, "\n  ") {
		t.Errorf("%s: dry run output is not pretty:\n%s", service, out)
	}
}

// A destination key of 2048 bits stops the case before anything is sent;
// --once says so with exit 1, and handoff-cases shows why.
func TestHandoff_RefusedKeyShown(t *testing.T) {
	k := newHandoffKit(t, fitconnecttest.Options{KeyBits: 2048}, 1, "meldebescheinigung")
	if out, _, code := k.handoff("--once"); code != 1 || !strings.Contains(out, "failed 1,") {
		t.Fatalf("syncd handoff --once: exit %d: %s", code, out)
	}
	cases := k.mustRun(append(append([]string{"admin", "handoff-cases"}, k.dbArgs()...), "--tenant", tenant)...)
	if !strings.Contains(cases, k.cases[0]) || !strings.Contains(cases, "failed") || !strings.Contains(cases, "4096") {
		t.Fatalf("handoff-cases does not show the refusal:\n%s", cases)
	}
	if len(k.fc.Submissions()) != 0 {
		t.Fatal("a case was sent to a refused key")
	}
	// Given back after the cause is "fixed" (it is not): tried again, and
	// stopped again with the reason.
	retry := k.mustRun(append(append([]string{"admin", "handoff-retry"}, k.dbArgs()...), "--tenant", tenant, "--step", "failed")...)
	if !strings.Contains(retry, "1 case(s)") {
		t.Errorf("handoff-retry: %s", retry)
	}
	due := k.mustRun(append(append([]string{"admin", "handoff-cases"}, k.dbArgs()...), "--tenant", tenant, "--step", "due")...)
	if !strings.Contains(due, k.cases[0]) {
		t.Errorf("the case is not due after handoff-retry:\n%s", due)
	}
	if out, _, code := k.handoff("--once"); code != 1 || !strings.Contains(out, "failed 1,") {
		t.Fatalf("syncd handoff --once after the retry: exit %d: %s", code, out)
	}
	for _, bad := range [][]string{{"--service", "reisepass", "--destination", k.fc.DestinationID()},
		{"--service", "anmeldung", "--destination", "not-a-uuid"}} {
		_, errOut, code := k.run(append(append(append([]string{"admin", "handoff-route"}, k.dbArgs()...), "--tenant", tenant), bad...)...)
		if code == 0 || !strings.Contains(errOut, "invalid") {
			t.Errorf("handoff-route %v: exit %d: %s", bad, code, errOut)
		}
	}
}

// regexpLine reports whether a line of out matches re.
func regexpLine(out, re string) bool {
	return regexp.MustCompile(`(?m)^.*` + re).MatchString(out)
}

// lastLines is the end of a long output.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// `syncd handoff --callback-listen`: the running worker (its regular poll
// an hour away) takes the service's signed notification and writes the
// answer at once; a notification with a wrong HMAC is answered 401.
func TestHandoff_CallbackEndpoint(t *testing.T) {
	k := newHandoffKit(t, fitconnecttest.Options{}, 1, "meldebescheinigung")
	secret := []byte("the-callback-secret")
	secretFile := filepath.Join(k.dir, "callback-secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := k.start("handoff-daemon", append(append(append([]string{"handoff"}, k.dbArgs()...), k.flags...),
		"--poll", "1h", "--callback-listen", addr, "--callback-secret-file", secretFile)...)
	t.Cleanup(p.kill)
	url := "http://" + addr + "/callback"
	waitLog(t, p, "hand-off pass")
	body := []byte(`{"type":"` + fitconnecttest.CallbackTypeNewEvents + `"}`)
	req, err := fitconnecttest.CallbackRequest(t.Context(), url, []byte("wrong-secret"), time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong HMAC answered %d", resp.StatusCode)
	}
	k.fc.SetCallback(url, secret)
	if err := k.fc.Accept(k.fc.Submissions()[0].SubmissionID); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "status=accepted")
	deadline := time.Now().Add(30 * time.Second)
	for {
		cases := k.mustRun(append(append([]string{"admin", "handoff-cases"}, k.dbArgs()...), "--tenant", tenant, "--step", "accepted")...)
		if strings.Contains(cases, k.cases[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the answer did not arrive through the callback:\n%s", cases)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res := k.fc.CallbackResults(); len(res) == 0 || res[len(res)-1].Status != http.StatusNoContent {
		t.Fatalf("callback deliveries %+v", res)
	}
}

// waitLog waits until the process's log holds want.
func waitLog(t *testing.T, p *proc, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(p.log)
		if strings.Contains(string(b), want) {
			return
		}
		if !p.running() || time.Now().After(deadline) {
			t.Fatalf("syncd handoff did not log %q (%v):\n%s", want, p.err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
