# wasmrun: build, fetch the test python.wasm, test.
#
#   make demo     build wasmrun, fetch python.wasm, run testdata/demo/persist.py twice: what it
#                 stores under /data persists (bin/demo.store), /tmp starts empty every run
#   make build    build bin/wasmrun
#   make python   fetch and verify testdata/python/python.wasm (idempotent)
#   make test     fetch python.wasm if missing, then run every test with the race detector
#                 (about 9 minutes on 2 quiet cores; TESTFLAGS= runs without -race), then make fuzz-short
#   make fuzz-short  run each fuzz target for FUZZTIME (5s); an input that fails is written to
#                 <pkg>/testdata/fuzz/<Target>/: commit it with the fix, as a regression seed
#   make fmt      gofmt -w the tree
#   make vet      go vet ./... in both modules (the library and benchmarks/)
#   make etcd-up  start a 3-member etcd cluster on loopback (scripts/etcd-cluster.sh, data in
#                 .etcd-cluster) and print its --store URL; make etcd-down stops it
#   make powercut the full power-cut campaign (cmd/run TestPowerCut*, on internal/powercut: over
#                 1,000 power cuts under wasmrun running the Go and Python guests; root and
#                 /dev/fuse); its last line: powercut: N cuts, M durable facts checked, 0 lost,
#                 fsck clean. make test runs a short one (about 55 cuts). Replay a run with the
#                 POWERCUT_SEED it printed (and -run the test that printed it).
#   make crash    the same with SIGKILLs (cmd/run TestCrash*, over 1,000 kills), last line crash: ...
#   make powercut-mutants  remove each sync of the store in turn and show the short power-cut
#                 campaign fails for every one (internal/powercut/mutants/run.sh)
#   make soak     run python.wasm on a mixed I/O workload for SOAK_DURATION (10m), sampling memory
#                 and store size into benchmarks/soak/out (soak.csv, verdict.txt); not in `make test`
#
# The tests build their guests from source and need clang (wasm32-wasi target, wasi-libc), lld,
# wat2wasm and Go; .ci/run installs them on Debian.

GO          ?= go
TEST_TIMEOUT ?= 45m
TESTFLAGS   ?= -race
PYTHON_WASM := testdata/python/python.wasm

.PHONY: build python test fmt vet demo soak etcd-up etcd-down

build:
	$(GO) build -o bin/wasmrun ./cmd/run/wasmrun

python:
	./testdata/fetch-python.sh

$(PYTHON_WASM):
	./testdata/fetch-python.sh

test: $(PYTHON_WASM)
	$(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) ./...
	cd benchmarks && $(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) fuzz-short

# Fuzzing: one `go test -fuzz` per target (Go fuzzes one target per run), each package:Target
# checked to exist so that a renamed target fails here instead of fuzzing nothing. Minimization is
# off for these short runs (-fuzzminimizetime 0): it would spend them shrinking new inputs; a
# failing input is written as it was found. Fuzz longer with e.g. make fuzz-short FUZZTIME=10m.
FUZZTIME         ?= 5s
FUZZMINIMIZETIME ?= 0
FUZZ_TARGETS     := vfs:FuzzResolve vfs:FuzzBeneath wasi:FuzzHostCall wasi:FuzzHostCallStrict internal/tarfs:FuzzImport stable:FuzzOpenStore stable/internal/kv/boltkv:FuzzLog stable/internal/kv/boltkv:FuzzLogRecovery

.PHONY: fuzz-short
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=./$${t%%:*}; fn=$${t##*:}; \
		grep -q "^func $$fn(" $$pkg/*_test.go || { echo "fuzz-short: no $$fn in $$pkg" >&2; exit 1; }; \
		echo "$(GO) test -run '^\$$' -fuzz '^$$fn\$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
	done

DEMO := bin/wasmrun --store bin/demo.store --dir testdata/demo:/demo $(PYTHON_WASM) /demo/persist.py

demo: build $(PYTHON_WASM)
	@echo '$$ $(DEMO)'
	@$(DEMO)
	@echo '$$ $(DEMO)'
	@$(DEMO)

etcd-up:
	./scripts/etcd-cluster.sh up

etcd-down:
	./scripts/etcd-cluster.sh down

fmt:
	gofmt -w .

vet:
	$(GO) vet ./...
	cd benchmarks && $(GO) vet ./...

# Benchmarks (benchmarks/README.md): the full suite, the quick one (about 5 minutes on 2 cores),
# and the scale runs (large files and many files in a stable store; not part of bench). The
# suite is a Go module of its own (benchmarks/go.mod, its plotting libraries stay out of the
# library's go.mod), so its commands run from benchmarks/.
.PHONY: bench bench-quick bench-scale
bench: $(PYTHON_WASM)
	cd benchmarks && $(GO) run ./cmd/suite

bench-quick: $(PYTHON_WASM)
	cd benchmarks && $(GO) run ./cmd/suite -quick

bench-scale:
	cd benchmarks && $(GO) run ./cmd/scale

# The full durability campaigns, nice'd (the machine may be shared). Each test prints a line
# "powercut: N cuts, M durable facts checked, 0 lost, fsck clean" (or "crash: N SIGKILLs, ...");
# a lost fact fails the test, so the sum is printed only when every line says 0 lost.
POWERCUT_ITERS_GO ?= 640
POWERCUT_ITERS_PY ?= 160
CRASH_ITERS_GO    ?= 800
CRASH_ITERS_PY    ?= 220
CAMPAIGN_TIMEOUT  ?= 3h

.PHONY: powercut crash powercut-mutants
powercut crash: SHELL := /bin/bash
powercut: $(PYTHON_WASM)
	@mkdir -p bin
	set -o pipefail; POWERCUT_ITERS_GO=$(POWERCUT_ITERS_GO) POWERCUT_ITERS_PY=$(POWERCUT_ITERS_PY) \
		nice -n 10 $(GO) test -count=1 -timeout $(CAMPAIGN_TIMEOUT) -run '^TestPowerCut(Go|Python)$$' -v ./cmd/run \
		| tee bin/powercut.log | grep -E 'seed|powercut|power cuts|^(---|ok|FAIL|PASS)'
	@grep -hoE 'powercut: [0-9]+ cuts, [0-9]+ durable facts' bin/powercut.log | \
		awk '{c+=$$2; f+=$$4} END {printf "powercut: %d cuts, %d durable facts checked, 0 lost, fsck clean\n", c, f}'

crash: $(PYTHON_WASM)
	@mkdir -p bin
	set -o pipefail; CRASH_ITERS_GO=$(CRASH_ITERS_GO) CRASH_ITERS_PY=$(CRASH_ITERS_PY) \
		nice -n 10 $(GO) test -count=1 -timeout $(CAMPAIGN_TIMEOUT) -run '^TestCrash(Go|Python)$$' -v ./cmd/run \
		| tee bin/crash.log | grep -E 'seed|crash:|SIGKILLs|^(---|ok|FAIL|PASS)'
	@grep -hoE 'crash: [0-9]+ SIGKILLs, [0-9]+ durable facts' bin/crash.log | \
		awk '{c+=$$2; f+=$$4} END {printf "crash: %d SIGKILLs, %d durable facts checked, 0 lost, fsck clean\n", c, f}'

powercut-mutants: $(PYTHON_WASM)
	nice -n 10 ./internal/powercut/mutants/run.sh

SOAK_DURATION ?= 10m

soak: build $(PYTHON_WASM)
	cd benchmarks && $(GO) run ./soak -duration $(SOAK_DURATION)
