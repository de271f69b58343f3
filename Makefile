# Kedastral — predictive autoscaling for Kubernetes, as a companion to KEDA.
# `make help` lists the targets.

GO      ?= go
BIN     := bin
PKGS    := ./...
# Flags for `make demo`, e.g. make demo DEMO_FLAGS="--speed 600 --steps 200".
DEMO_FLAGS ?=
# Where `make images` tags the images.
IMAGE_REPO ?= ghcr.io/kedastral
IMAGE_TAG  ?= dev
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 30s
# The version and commit the binaries report (--version, the start-up log, kedastral_build_info).
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X github.com/prometheus/common/version.Version=$(VERSION) -X github.com/prometheus/common/version.Revision=$(REVISION)
GOBUILD  := $(GO) build -ldflags "$(LDFLAGS)"
# The helm that tests charts/kedastral, built from source by the Go toolchain (no other download).
HELM_VERSION ?= v3.22.0

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/agent, bin/gateway and bin/demo
	$(GOBUILD) -o $(BIN)/ ./agent ./gateway ./test/demo

.PHONY: images
images: ## build the agent and gateway container images from Dockerfile (needs a Docker engine)
	docker build --build-arg BINARY=agent --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE_REPO)/agent:$(IMAGE_TAG) .
	docker build --build-arg BINARY=gateway --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE_REPO)/gateway:$(IMAGE_TAG) .

$(BIN)/helm: ## build helm $(HELM_VERSION) into bin/, for the chart's tests
	GOBIN=$(abspath $(BIN)) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

.PHONY: chart-files
chart-files: ## copy manifests/alerts.yaml and dashboard.json into the Helm chart (Helm reads only files inside it)
	cp manifests/alerts.yaml manifests/dashboard.json charts/kedastral/files/

.PHONY: demo
demo: build ## run the whole path on this machine: Redis, gateway, agent replaying a real trace, a KEDA client
	$(BIN)/demo $(DEMO_FLAGS)

.PHONY: deps
deps: ## install redis-server, prometheus and protoc when missing (Debian/Ubuntu)
	.ci/deps

.PHONY: test
test: deps proto-check lint $(BIN)/helm ## the whole suite, against real redis-server and prometheus
	$(GO) test -race -count=1 -timeout 10m $(PKGS)

.PHONY: bench
bench: ## Go benchmarks of the core (forecast fit/predict per model, plan)
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

TRACES ?= $(wildcard ../shared/traces/*.csv)
# The public traces live outside the repository (../shared/traces, with their SOURCES.md).
need-traces = @test -n "$(TRACES)" || { echo "no traces: put CSV traces in ../shared/traces or name them with TRACES='a.csv b.csv'" >&2; exit 1; }

.PHONY: bench-forecast
bench-forecast: ## backtest every model on every trace in ../shared/traces (or TRACES) and print the summary table
	$(need-traces)
	$(GOBUILD) -o $(BIN)/ ./agent
	$(BIN)/agent backtest --model all --window 7d --horizon 60m --stride 15m $(addprefix --input ,$(TRACES))

.PHONY: bench-scaling
bench-scaling: ## simulate reactive KEDA, Kedastral and the oracle with --sweep on every trace in ../shared/traces (or TRACES) and print the comparison
	$(need-traces)
	$(GOBUILD) -o $(BIN)/ ./agent
	$(BIN)/agent backtest --simulate --sweep --startup 3m $(addprefix --input ,$(TRACES))

.PHONY: bench-sim-speed
bench-sim-speed: ## time the simulation of 30 days of 1-minute data (the last 37 days of worldcup98, 7 of warmup) on one core
	@test -f ../shared/traces/worldcup98_1min.csv || { echo "bench-sim-speed needs ../shared/traces/worldcup98_1min.csv" >&2; exit 1; }
	$(GOBUILD) -o $(BIN)/ ./agent
	{ head -n 1 ../shared/traces/worldcup98_1min.csv; tail -n $$((37*1440)) ../shared/traces/worldcup98_1min.csv; } > $(BIN)/wc37.csv
	GOMAXPROCS=1 taskset -c 0 $(BIN)/agent backtest --simulate --progress=false --input $(BIN)/wc37.csv --warmup 7d

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s); a failing input is kept in the package's testdata/fuzz, where `make test` replays it
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$f ($$pkg)"; \
			$(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

.PHONY: proto
proto: ## regenerate the Go code of KEDA's External Scaler protocol
	proto/generate.sh

.PHONY: proto-check
proto-check: ## fail if the committed generated code differs from what `make proto` produces
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && proto/generate.sh $$tmp && \
	for f in $$tmp/proto/externalscaler/*.go; do \
	  cmp -s $$f proto/externalscaler/$$(basename $$f) || { echo "proto: $$(basename $$f) differs from make proto's output: run make proto" >&2; exit 1; }; \
	done

.PHONY: lint
lint: ## gofmt, go vet and staticcheck (pinned in go.mod)
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

.PHONY: fmt
fmt: ## format the code
	gofmt -w $$(git ls-files '*.go' | grep -v '\.pb\.go$$')

.PHONY: clean
clean: ## remove built binaries
	rm -rf $(BIN)
