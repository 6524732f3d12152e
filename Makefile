# payrun: build, test, demo, bench, lint. Needs Go; the SDK contract suite
# also needs node and npm (make test skips it, saying so, without them).
GO      ?= go
BIN     ?= bin/payrun
PKGS    ?= ./...
BENCH   ?= .
SEEDS   ?= 200

.PHONY: all build test crossbuild contract demo demo-reset bench bench-adaptive bench-multirunner lint fuzz torture clean

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/payrun

# make test: what CI runs. Vet, the Windows and macOS builds, then every
# test with the race detector, then the SDK contract suite when node and npm
# are on the PATH.
test:
	$(GO) vet $(PKGS)
	@$(MAKE) --no-print-directory crossbuild
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	@if ! command -v node >/dev/null 2>&1; then echo "SDK contract suite skipped: node not found"; \
	elif ! command -v npm >/dev/null 2>&1; then echo "SDK contract suite skipped: npm not found"; \
	else $(MAKE) --no-print-directory contract; fi

# make crossbuild: ./... builds for each of CROSS_GOOS, and go vet
# type-checks it there with its test files. Nothing runs; it catches
# unix-only calls (signals, flock, termios) before a Windows or Mac user does.
CROSS_GOOS ?= windows darwin
crossbuild:
	@for os in $(CROSS_GOOS); do echo "GOOS=$$os go build + go vet $(PKGS)"; \
		GOOS=$$os $(GO) build $(PKGS) && GOOS=$$os $(GO) vet $(PKGS) || exit 1; done

# make contract: MassPay's official JavaScript SDK (masspay-js-sdk, the
# version pinned in $(CONTRACT)/package-lock.json) drives a real
# `payrun sandbox` through the guides' flow; every answer is checked against
# the SDK's own model declarations.
CONTRACT = masspay/sandbox/sdkcontract
contract: build
	cd $(CONTRACT) && npm ci --no-audit --no-fund --loglevel=error && PAYRUN_BIN="$(abspath $(BIN))" node --test

# make demo: pay the sample sheet against the embedded MassPay sandbox.
# No credentials needed. Re-running it resumes and never pays anyone twice.
# Exit 1 (some rows need a person) is the expected end of the demo: the sample
# sheet has payees on a compliance hold and a missing bank detail on purpose.
demo: build
	@mkdir -p demo
	@$(BIN) run --sandbox --yes --ledger demo/payrun.db --out demo/results.xlsx samples/monthly-freelancers.xlsx; \
	rc=$$?; if [ $$rc -le 1 ]; then echo "Open demo/results.xlsx; 'bin/payrun status --ledger demo/payrun.db' shows the same."; else exit $$rc; fi

# Forget the demo's ledger and sandbox state.
demo-reset:
	rm -rf demo

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -timeout 0 $(PKGS)

# make bench-adaptive: issue 21's adaptive window against --workers 1..64
# on the sandbox at 200 ms with a 40/s limit (the seven runs side by side,
# each with its own sandbox) and at 50 ms without one (one after the other,
# two rounds); a fixed run stops once it is slower than a finished one.
# ADAPTIVE_ROWS rows per run; at 5,000 about 35 minutes.
ADAPTIVE_ROWS ?= 5000
bench-adaptive:
	BENCH_ADAPTIVE=1 BENCH_ADAPTIVE_ROWS=$(ADAPTIVE_ROWS) $(GO) test -run '^$$' -bench AdaptiveVsFixed -benchtime 1x -timeout 0 ./cmd/payrun

# make bench-multirunner: issue 22's one vs two `payrun run` processes on
# one durable PostgreSQL ledger (internal/pgtest's second cluster, fsync on),
# MULTIRUNNER_ROWS rows at 50 ms a call, no rate limit, --workers
# MULTIRUNNER_WORKERS per runner, alternated for two rounds. Needs
# PostgreSQL's binaries or PAYRUN_TEST_POSTGRES; at 5,000 rows about 8 minutes.
MULTIRUNNER_ROWS ?= 5000
MULTIRUNNER_WORKERS ?= 16
bench-multirunner:
	BENCH_MULTIRUNNER=1 BENCH_MULTIRUNNER_ROWS=$(MULTIRUNNER_ROWS) BENCH_MULTIRUNNER_WORKERS=$(MULTIRUNNER_WORKERS) $(GO) test -run '^$$' -bench TwoRunners -benchtime 1x -timeout 0 ./cmd/payrun

# staticcheck comes through the module proxy at a pinned version.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# make torture: the exactly-once evidence (batch/torture). Kills the real
# binary at every boundary of a 50-row run, runs 500 rows against a lossy
# sandbox, SIGKILLs a 5,000-row run every 1-10 s, simulates SEEDS seeds
# deterministically, runs SEEDS seeds through a hostile proxy in front of
# the sandbox, and kills one of two runners sharing a PostgreSQL ledger at
# each of its boundaries (skipped without PostgreSQL: internal/pgtest). One
# line per scenario family; non-zero on a violation,
# naming the seed or crash point that replays it. `go test` runs a short cut.
torture:
	cd batch/torture && PAYRUN_TORTURE=full PAYRUN_TORTURE_SEEDS=$(SEEDS) $(GO) test -count=1 -timeout 0 -run Torture

# make fuzz: every fuzz target for FUZZTIME each (the seed corpora under
# testdata/fuzz also run, briefly, inside make test). New findings land in
# testdata/fuzz and should be committed with their fix.
FUZZTIME ?= 30s
# Go minimizes every input that finds new code for up to 60 s by default;
# for the XML targets that stalled fuzzing for most of a 30 s run.
FUZZMINTIME ?= 5s
FUZZ_TARGETS = ./batch/results:FuzzAppendEscaped ./batch/sheet:FuzzParseAmount ./batch/ingest:FuzzCSVReader ./batch/sheet:FuzzMatchHeader ./batch/xlsxread:FuzzXLSXScanRows ./batch/xlsxread:FuzzXLSXSharedStrings \
	./ledger:FuzzDecodeColumnsFast ./masspay:FuzzNewAPIError ./masspay/webhook:FuzzHandler ./masspay/sandbox:FuzzCreateUser ./masspay/sandbox:FuzzInitiatePayout \
	./masspay/sandbox:FuzzLoad ./masspay/sandbox:FuzzAttributesAndAutopay ./masspay/sandbox:FuzzSandboxAdmin
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$pkg $$fn"; $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; done

clean:
	rm -rf bin demo
