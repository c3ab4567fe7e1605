# Bürgerkoffer: one target per routine. `make run` runs the kit, `make test`
# runs every test; both install what they need on a fresh Debian 12.

GO       ?= go
BIN      := bin
RUNDIR   := run
FUZZTIME ?= 60s
# Debian packages a Fyne (cgo, OpenGL) build needs, Xvfb for headless UI
# checks, and sqlite3 (a test opens the field store with it to show that
# personal data is unreadable).
DEBS := gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev \
        libxinerama-dev libxi-dev libxxf86vm-dev xvfb xauth sqlite3 postgresql-15

# Every parser of outside bytes has a fuzz target: package:target.
FUZZ_TARGETS := ./internal/mrz:FuzzParse \
	./hardware/idreader:FuzzDecoderPlain ./hardware/idreader:FuzzDecoderSTX \
	./hardware/idreader:FuzzDecoderRTE ./hardware/idreader:FuzzDecoderAuto \
	./hardware/sigpad:FuzzDecode ./hardware/sigpad/iso19794:FuzzUnmarshal \
	./internal/crypto:FuzzDecrypt ./internal/hlc:FuzzParse ./internal/catalog:FuzzLoad \
	./internal/validate:FuzzSteuerID ./internal/validate:FuzzIBAN ./internal/validate:FuzzPartialDate ./internal/merge:FuzzApply

.PHONY: deps build test test-short fuzz fuzz-short bench bench-sync soak reliability run screenshots clean

deps:
	@missing=""; for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	$(GO) mod download

build: deps
	$(GO) build -o $(BIN)/buergerkoffer ./app
	$(GO) build -o $(BIN)/ ./syncd ./hardware/cmd/hwtool

# go vet (also as for Windows, where the laptops run: the agent, the drivers
# and the DPAPI code must build there) and every test in the repo; the UI
# package once more without cgo,
# to prove it runs headless; then a short fuzz of every parser.
test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./internal/... ./syncd/... ./hardware/...
	$(GO) test -count=1 -skip '^(TestConvergence|TestCrash_.*)$$' ./...
	@$(MAKE) --no-print-directory reliability
	@echo "again with the central server on PostgreSQL (BK_TEST_SERVER_DB=postgres):"
	BK_TEST_SERVER_DB=postgres $(GO) test -count=1 ./internal/server/
	BK_TEST_SERVER_DB=postgres $(GO) test -count=1 -skip '^(TestConvergence|TestSoak|TestPostgresRestart_.*)$$' ./syncd/
	@BK_TEST_SERVER_DB=postgres $(MAKE) --no-print-directory reliability
	CGO_ENABLED=0 $(GO) test -count=1 ./app/ui/... ./app/demo/...
	$(MAKE) --no-print-directory fuzz-short

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
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./internal/store ./internal/crypto ./internal/server
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
# the sync agent, both device simulators on pseudo-terminals, and the app,
# which sets up two demo clerks (password on the sign-in screen), enrols
# with the server and uses the simulators. Each keeps its own embedded
# SQLite file in ./run; a second `make run` goes on with the same files.
# Without a display the app runs under Xvfb.
# The demo's master key lies beside its database, named explicitly (the
# server refuses it there otherwise); a real server keeps it on another
# volume or in a secret store (README, "Sync").
SERVER := http://127.0.0.1:8470
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
# settings against the simulators).
screenshots:
	@rm -rf screenshots
	SCREENSHOTS_DIR=$(CURDIR)/screenshots CGO_ENABLED=0 $(GO) test -count=1 ./app/ui
	@ls screenshots

clean:
	rm -rf $(BIN) $(RUNDIR)
