# Kith — the two commands a newcomer needs:
#   make demo   run Kith's main job end to end on the local stack
#   make test   run the unit and integration tests
# Both do their own set-up: Debian packages (as root), pinned tools into bin/.

GO       ?= go
GOTEST   ?= $(GO) test -race -count=1 -timeout 30m
DEMO_EXIT ?=
export DEMO_EXIT

.PHONY: all build tools prereqs test test-short demo lint bench clean

all: build

## build: the worker and starter binaries, into bin/
build:
	$(GO) build -o bin/ ./worker ./starter

## tools: the pinned Temporal CLI, BigQuery emulator and fake-gcs-server, cached per user (slow the first time)
tools: prereqs
	tools/build.sh temporal
	tools/build.sh bigquery-emulator
	tools/build.sh fake-gcs-server

prereqs:
	tools/prereqs.sh postgres clang

## test: unit and integration tests against real PostgreSQL, Temporal and the BigQuery emulator
test: tools
	tools/prereqs.sh chromium promtool
	tools/npm.sh
	$(GOTEST) ./...

## test-short: unit tests only (no servers)
test-short:
	$(GO) test -short ./...

## demo: start the stack and the worker, import the sample contacts (DEMO_EXIT=1 to exit when done)
demo: tools build
	bin/starter demo

## lint: gofmt, go vet, the Temporal SDK's workflowcheck (determinism), docker-compose.yml syntax, the Prometheus config and alert rules
lint:
	tools/prereqs.sh compose promtool
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	tools/build.sh workflowcheck
	bin/workflowcheck ./...
	docker-compose -f docker-compose.yml config -q
	promtool check config docs/prometheus/prometheus.yml
	promtool test rules docs/prometheus/kith-rules.test.yml

## bench: benchmarks, medians written to docs/benchmarks.md
bench:
	tools/bench.sh

clean:
	rm -rf bin .demo
