# Bürgerkoffer: one target per routine. `make run` runs the kit, `make test`
# runs every test; both install what they need on a fresh Debian 12.

GO       ?= go
BIN      := bin
RUNDIR   := run
FUZZTIME ?= 60s
# Debian packages a Fyne (cgo, OpenGL) build needs, Xvfb for headless UI
# checks, sqlite3 (a test opens the field store with it to show that
# personal data is unreadable), and chromium, which internal/browsertest
# drives headless for the office's browser tests.
DEBS := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
        libxinerama-dev libxi-dev libxxf86vm-dev xvfb xauth sqlite3 postgresql-15 \
        chromium

# Packaging (make dist): the mingw cross-compiler for the Windows app (cgo),
# wixl and msitools for the MSI, systemd for systemd-analyze verify.
DIST_DEBS := gcc-mingw-w64-x86-64 wixl msitools systemd

# The release, from git (a tree without git: FyneApp.toml's version). The
# MSI wants numbers (MAJOR.MINOR.COMMITS, rising with every commit, so a
# later build upgrades an earlier one) and Debian a version that sorts.
FYNE_VERSION := $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
VERSION      := $(shell git describe --tags --always --dirty 2>/dev/null || echo $(FYNE_VERSION))
COMMITS      := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)
MSI_VERSION  := $(basename $(FYNE_VERSION)).$(COMMITS)
DEB_VERSION  := $(FYNE_VERSION)+git$(COMMITS).$(subst -,.,$(VERSION))
LDFLAGS      := -X github.com/buergerkoffer/kit/internal/version.version=$(VERSION)
export VERSION

# Every parser of outside bytes has a fuzz target: package:target.
FUZZ_TARGETS := ./internal/mrz:FuzzParse \
	./hardware/idreader:FuzzDecoderPlain ./hardware/idreader:FuzzDecoderSTX \
	./hardware/idreader:FuzzDecoderRTE ./hardware/idreader:FuzzDecoderAuto \
	./hardware/sigpad:FuzzDecode ./hardware/sigpad/iso19794:FuzzUnmarshal \
	./internal/crypto:FuzzDecrypt ./internal/hlc:FuzzParse ./internal/catalog:FuzzLoad \
	./internal/validate:FuzzSteuerID ./internal/validate:FuzzIBAN ./internal/validate:FuzzPartialDate ./internal/merge:FuzzApply \
	./internal/fitconnect:FuzzPeek ./internal/fitconnect:FuzzProblems

.PHONY: deps dist-deps dist build test test-linux test-short fuzz fuzz-short bench bench-sync soak reliability run screenshots clean

# Debian packages, Go modules, and axe-core, which the browser tests inject
# into each page: npm ci installs exactly what
# internal/browsertest/npm/package-lock.json pins into .cache/npm (git
# ignores it), again only when the lock changed. Debian's npm comes along
# only where the machine has none.
# install_debs installs those of the Debian packages $(1) that are missing
# (and npm, where $(2) says so and the machine has none).
define install_debs
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$(2)" ] || command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install_debs,$(DEBS),npm)
	$(GO) mod download
	@lock=internal/browsertest/npm/package-lock.json; cache=.cache/npm; \
	if ! cmp -s $$lock $$cache/package-lock.json || [ ! -f $$cache/node_modules/axe-core/axe.min.js ]; then \
		echo "installing axe-core (npm ci) into $$cache"; \
		rm -rf $$cache && mkdir -p $$cache && cp internal/browsertest/npm/package.json $$cache/ && cp $$lock $$cache/ && \
		(cd $$cache && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || { rm -rf $$cache; exit 1; }; \
	fi

dist-deps: deps
	$(call install_debs,$(DIST_DEBS))

# The Windows MSI and the Debian package into dist/ (assets/dist/build.sh
# says what is in them; README, "Installing on the laptops").
dist: dist-deps
	GO=$(GO) OUT=dist VERSION=$(VERSION) MSI_VERSION=$(MSI_VERSION) DEB_VERSION=$(DEB_VERSION) \
		bash assets/dist/build.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/buergerkoffer ./app
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./syncd ./hardware/cmd/hwtool

# go vet; then make dist (it cross-builds the Windows programs, the app
# with cgo through mingw, and packs the MSI and the .deb) in the background
# while every Linux test runs (test-linux), since a cold cross-build alone
# takes minutes; then go vet as for Windows on every package, so the
# service, DPAPI and ACL code compile on every change; the check of the MSI
# and the .deb (assets/dist/check.sh: their tables and contents, and an
# install and removal of the .deb on this machine); then a short fuzz of
# every parser. The background build is stopped if the tests fail.
test: dist-deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	@set -m; mkdir -p dist; rm -f dist/.build.rc; \
	echo "make dist runs beside the tests (log: dist/build.log)"; \
	( $(MAKE) --no-print-directory dist > dist/build.log 2>&1; echo $$? > dist/.build.rc ) & bg=$$!; \
	trap 'kill -TERM -- -$$bg 2>/dev/null' EXIT; \
	$(MAKE) --no-print-directory test-linux || exit $$?; \
	wait $$bg; trap - EXIT; rc=$$(cat dist/.build.rc 2>/dev/null || echo 1); \
	[ "$$rc" = 0 ] || { tail -60 dist/build.log; echo "make dist failed"; exit 1; }; \
	echo "make dist: done"
	CC=x86_64-w64-mingw32-gcc CGO_ENABLED=1 GOOS=windows GOARCH=amd64 $(GO) vet ./...
	bash assets/dist/check.sh dist
	$(MAKE) --no-print-directory fuzz-short

# Every Linux test: the whole repo (SQLite), the central server again on
# PostgreSQL, the reliability runs. The UI's tests run without cgo only,
# which proves they run headless (the app's main package, which needs cgo,
# is compiled by go vet). On PostgreSQL the hand-off worker's tests run in
# full, and of the real binary's the SIGKILL one (the thousand-case run
# costs its time in the test double's RSA, the same on both backends).
UI_PKGS := ./app/ui/... ./app/demo/...
test-linux:
	$(GO) test -count=1 -skip '^(TestConvergence|TestCrash_.*)$$' $$($(GO) list ./... | grep -v -e '/app/ui' -e '/app/demo')
	CGO_ENABLED=0 $(GO) test -count=1 $(UI_PKGS)
	@$(MAKE) --no-print-directory reliability
	@echo "again with the central server on PostgreSQL (BK_TEST_SERVER_DB=postgres):"
	BK_TEST_SERVER_DB=postgres $(GO) test -count=1 ./internal/server/ ./internal/handoff/...
	BK_TEST_SERVER_DB=postgres $(GO) test -count=1 -run '^TestHandoff_KilledWorkerSubmitsOnce$$' ./syncd/crashtest
	BK_TEST_SERVER_DB=postgres $(GO) test -count=1 -skip '^(TestConvergence|TestSoak|TestPostgresRestart_.*)$$' ./syncd/
	@BK_TEST_SERVER_DB=postgres $(MAKE) --no-print-directory reliability

# The bounded reliability runs, with what they did: the convergence checker
# (15 s of faults, restarts and clock jumps) and the SIGKILL crash tests.
# With BK_TEST_SERVER_DB=postgres (make test runs both) the server's
# database is a throwaway PostgreSQL: the checker then runs two servers on
# it, and PostgreSQL itself is restarted in the middle of pushes, pulls and
# uploads (TestPostgresRestart_MidSync).
reliability:
	@out=$$($(GO) test -count=1 -v -run '^TestConvergence$$' ./syncd 2>&1); rc=$$?; \
		echo "$$out" | grep -E '^(soak:|--- |FAIL|ok )|invariant|reproduce'; [ $$rc -eq 0 ] || exit $$rc
	@out=$$($(GO) test -count=1 -v -run '^Test(Crash_|Upload_)' ./syncd/crashtest 2>&1); rc=$$?; \
		echo "$$out" | grep -E 'crash:|^(--- |FAIL|ok )|CRASHTEST_SEED'; [ $$rc -eq 0 ] || { echo "$$out" | tail -60; exit $$rc; }
	@[ "$$BK_TEST_SERVER_DB" != postgres ] || { out=$$($(GO) test -count=1 -v -run '^TestPostgresRestart_' ./syncd 2>&1); rc=$$?; \
		echo "$$out" | grep -E 'pgrestart:|^(--- |FAIL|ok )|PGRESTART_SEED'; [ $$rc -eq 0 ] || { echo "$$out" | tail -60; exit $$rc; }; }

# A count, not a duration: a time limit that runs out while the fuzzer is
# still gathering its baseline coverage (a loaded CI machine) fails the run
# without any finding.
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=20000x

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { \
			echo "$$out" | tail -40; exit 1; }; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./internal/store ./internal/crypto ./internal/server ./internal/office
	CGO_ENABLED=0 $(GO) test -run '^$$' -bench . -benchtime 200x ./app/ui

# The convergence checker for as long as DURATION (make test runs it for
# 15 s): laptops writing, conflicting, resolving, with clocks off, a
# network that fails and agents and the server restarted; then the
# invariants. SOAK_SEED=... reproduces a run, SOAK_DEVICES=... sets K.
DURATION ?= 30m
soak: deps
	SOAK_DURATION=$(DURATION) $(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./syncd 2>&1 | grep -E '^(soak:|---|FAIL|ok|PASS)|invariant|reproduce'

# The whole sync path under load (see `syncd bench --help`): one laptop with
# a 100k backlog, then ten laptops editing the same records.
bench-sync: build
	$(BIN)/syncd bench --laptops 1 --docs 100000 --json
	$(BIN)/syncd bench --laptops 10 --docs 5000 --shared 50 --json

# The kit on one machine, in demo mode: the central server (tenant "demo")
# with a sample visit for today and its appointments (`syncd admin demo`),
# the town hall's office in the browser with demo staff,
# the sync agent, both device simulators on pseudo-terminals, and the app,
# which sets up two demo clerks (password on the sign-in screen), enrols
# with the server and uses the simulators. Each keeps its own embedded
# SQLite file in ./run; a second `make run` goes on with the same files.
# Without a display the app runs under Xvfb.
# The demo's master key lies beside its database, named explicitly (the
# server refuses it there otherwise); a real server keeps it on another
# volume or in a secret store (README, "Sync").
SERVER := http://127.0.0.1:8470
# The town hall's web application (`syncd office`) and its demo staff:
# rathaus (Sachbearbeitung), planung (Planung), verwaltung (admin).
OFFICE_ADDR     := 127.0.0.1:8471
OFFICE_PASSWORD := Rathaus-2026
MASTER_KEY ?= $(RUNDIR)/central.db.key
run: build
	@mkdir -p $(RUNDIR)
	@$(BIN)/syncd serve --db $(RUNDIR)/central.db --master-key $(MASTER_KEY) --listen 127.0.0.1:8470 --tenant demo --tenant-name "Demo-Stadt" > $(RUNDIR)/serve.out 2> $(RUNDIR)/serve.log & echo $$! > $(RUNDIR)/serve.pid
	@trap 'kill $$(cat $(RUNDIR)/*.pid 2>/dev/null) 2>/dev/null; rm -f $(RUNDIR)/*.pid' EXIT INT TERM; \
	for i in $$(seq 50); do [ -s $(RUNDIR)/serve.out ] && break; sleep 0.2; done; \
	[ -s $(RUNDIR)/serve.out ] || { echo "central server did not start:"; cat $(RUNDIR)/serve.log; exit 1; }; \
	echo "central server:          $$(head -n1 $(RUNDIR)/serve.out)"; \
	today=$$(date +%F); \
	if [ "$$(cat $(RUNDIR)/demo.day 2>/dev/null)" != "$$today" ]; then \
		$(BIN)/syncd admin demo --db $(RUNDIR)/central.db --master-key $(MASTER_KEY) --tenant demo --day $$today > $(RUNDIR)/demo.visit 2>> $(RUNDIR)/admin.log && echo $$today > $(RUNDIR)/demo.day && \
		echo "demo visit booked for:   $$today"; \
	fi; \
	code=$$($(BIN)/syncd admin enrol --db $(RUNDIR)/central.db --master-key $(MASTER_KEY) --tenant demo 2>> $(RUNDIR)/admin.log) || exit 1; \
	for u in rathaus:sachbearbeitung planung:planung verwaltung:admin; do \
		BK_PASSWORD=$(OFFICE_PASSWORD) $(BIN)/syncd admin staff-add --db $(RUNDIR)/central.db --master-key $(MASTER_KEY) --tenant demo \
			--user $${u%%:*} --role $${u##*:} --exists-ok >> $(RUNDIR)/admin.log 2>&1 || exit 1; \
	done; \
	$(BIN)/syncd office --db $(RUNDIR)/central.db --master-key $(MASTER_KEY) --listen $(OFFICE_ADDR) > $(RUNDIR)/office.out 2> $(RUNDIR)/office.log & echo $$! > $(RUNDIR)/office.pid; \
	for i in $$(seq 50); do [ -s $(RUNDIR)/office.out ] && break; sleep 0.2; done; \
	[ -s $(RUNDIR)/office.out ] || { echo "town hall office did not start:"; cat $(RUNDIR)/office.log; exit 1; }; \
	echo "town hall office:        http://$(OFFICE_ADDR)  (sign in as rathaus, planung or verwaltung; password $(OFFICE_PASSWORD))"; \
	$(BIN)/syncd agent --db $(RUNDIR)/field.db > $(RUNDIR)/agent.out 2> $(RUNDIR)/agent.log & echo $$! > $(RUNDIR)/agent.pid; \
	$(BIN)/hwtool simulate --device mrz --link $(RUNDIR) > $(RUNDIR)/mrz.port 2> $(RUNDIR)/mrz.log & echo $$! > $(RUNDIR)/mrz.pid; \
	$(BIN)/hwtool simulate --device sigpad --loop=false > $(RUNDIR)/sigpad.port 2> $(RUNDIR)/sigpad.log & echo $$! > $(RUNDIR)/sigpad.pid; \
	for i in $$(seq 50); do [ -s $(RUNDIR)/mrz.port ] && [ -s $(RUNDIR)/sigpad.port ] && break; sleep 0.2; done; \
	echo "ID reader simulator:     $$(head -n1 $(RUNDIR)/mrz.port)"; \
	echo "signature pad simulator: $$(head -n1 $(RUNDIR)/sigpad.port)"; \
	case "$${LANG:-C}" in C|C.*|POSIX) export LANG=de_DE.UTF-8;; esac; \
	app="$(BIN)/buergerkoffer --db $(RUNDIR)/field.db --demo --server $(SERVER) --enrol-code $$code \
		--id-reader $$(head -n1 $(RUNDIR)/mrz.port) --pad $$(head -n1 $(RUNDIR)/sigpad.port)"; \
	if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ]; then $$app; \
	else echo "no display: running the app under Xvfb"; xvfb-run -a -s "-screen 0 1280x900x24" $$app; fi

# Every screen in German as PNG files in ./screenshots, rendered headless
# by the UI tests (which drive a whole case, a conflict, the lock and the
# settings against the simulators), and every page of the town hall's
# office under screenshots/office/, taken by headless Chromium in the
# office's browser tests (which need make deps: chromium and axe-core).
screenshots: deps
	@rm -rf screenshots
	SCREENSHOTS_DIR=$(CURDIR)/screenshots CGO_ENABLED=0 $(GO) test -count=1 ./app/ui
	SCREENSHOTS_DIR=$(CURDIR)/screenshots $(GO) test -count=1 -run '^TestBrowser_' ./internal/office/
	@ls screenshots screenshots/office

clean:
	rm -rf $(BIN) $(RUNDIR) dist
