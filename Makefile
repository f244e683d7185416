# mailgrant: build, test and lint. `make test` is what CI runs.
GO       ?= go
BIN      := bin/mailgrant
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
FUZZTIME ?= 10s

.PHONY: build test test-short lint fuzz bench bench-relay sandbox clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mailgrant

# Every test, with the race detector, inside a private D-Bus session with an
# unlocked gnome-keyring (see .ci/with-keyring), then the lint checks and a
# short run of every fuzz target.
test:
	.ci/with-keyring $(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) lint
	$(MAKE) fuzz

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./... # pinned by the tool directive in go.mod

# Run each fuzz target for FUZZTIME (.ci/fuzz: a failing input fails it; a
# bare -fuzztime deadline report of Go 1.26's fuzz engine, golang/go#75804,
# is retried once).
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) .ci/fuzz

# Every benchmark, in a private keyring. BenchmarkTokenProcess
# (cmd/mailgrant) compares whole processes: `mailgrant token P` from the
# cache against a minimal Go program doing one go-keyring Get
# (store/internal/keyringget); it reports the medians and their ratio.
# BenchmarkWizardFirstFrame does the same for the wizard's first frame on an
# 80x24 pty against a bare Bubble Tea program (tui/internal/bareframe), and
# BenchmarkCheckAll (flows) checks 1 and 20 profiles at 200 ms of latency.
bench:
	.ci/with-keyring $(GO) test -run '^$$' -bench . -benchmem ./...

# The relay's load run against the sandbox with 50 ms Graph latency: the
# Go benchmark (1,000 messages from 20 SMTP clients through the server and
# the spool), then the same against a relay process, and ten 30 MB messages
# at once for its peak RSS. Numbers are printed, not asserted.
bench-relay:
	$(GO) test -run '^$$' -bench '^BenchmarkSMTPLoad$$' -benchtime 1x ./flows/relay/
	MAILGRANT_BENCH_RELAY=1 .ci/with-keyring $(GO) test -count=1 -v -timeout 15m -run '^TestRelayLoad$$' ./cmd/mailgrant/

# Try mailgrant against the embedded simulated tenant (starts a private
# keyring when the machine has none; see .ci/try-sandbox).
sandbox:
	.ci/try-sandbox

clean:
	rm -rf bin
