# hotdeploy: `make demo` runs the dashboard on a sandbox nginx, `make test` runs every check.
SHELL       := /bin/bash
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
BIN         := bin/hotdeploy
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build deps deps-fleet demo test test-fleet lint bench check-budgets screenshots clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# nginx-light and tmux from Debian's packages when missing (as root), or say what to install.
deps:
	@bash .ci/deps

demo: deps build
	$(BIN) demo

lint:
	@echo "== gofmt"
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$files" ]; then echo "gofmt would change: $$files"; exit 1; fi
	@echo "== go vet"
	$(GO) vet ./...
	@echo "== staticcheck"
	$(GO) run $(STATICCHECK) ./...

test: deps lint build
	@echo "== version check"
	@out=$$($(BIN) version); echo "$$out"; [ "$$out" = "hotdeploy $(VERSION)" ]
	@echo "== go test -race (real nginx)"
	@set -o pipefail; $(GO) test -race -count=1 -timeout 20m -v ./... 2>&1 | tee bin/test.log \
	  | grep -E '^(ok|FAIL|PASS|panic|\?|--- FAIL)|^\s+\S+_test\.go:[0-9]+:' ; status=$$?; \
	  echo "== summary: $$(grep -c -- '--- PASS' bin/test.log) passed, $$(grep -c -- '--- FAIL' bin/test.log) failed, $$(grep -c -- '--- SKIP' bin/test.log) skipped (tests and subtests)"; \
	  exit $$status

# The Ansible role (assets/ansible) rolling hot upgrades over three sandbox nginx on this machine,
# with Debian's ansible-core; as root. Each playbook run's output is kept in bin/fleet/.
# HOTDEPLOY_DEB=path/to.deb tests that package instead of the stand-in the test packs itself.
deps-fleet:
	@bash .ci/deps-fleet

test-fleet: deps deps-fleet build
	@echo "== go vet (fleet tag)"
	$(GO) vet -tags fleet ./assets/ansible/fleettest/
	@mkdir -p bin/fleet
	@echo "== go test -tags fleet (ansible-playbook against three sandbox hosts)"
	@set -o pipefail; FLEET_LOG_DIR=$(CURDIR)/bin/fleet HOTDEPLOY_BIN=$(CURDIR)/$(BIN) \
	  $(GO) test -tags fleet -count=1 -timeout 45m -v ./assets/ansible/fleettest/ 2>&1 | tee bin/fleet/test.log \
	  | grep -E '^(ok|FAIL|PASS|panic)|^\s*--- |^\s+\S+_test\.go:[0-9]+:'; status=$$?; \
	  echo "== summary: $$(grep -c -- '--- PASS' bin/fleet/test.log) passed, $$(grep -c -- '--- FAIL' bin/fleet/test.log) failed (tests and subtests)"; \
	  exit $$status

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./nginxctl/... ./ui/...

# The dashboard's CPU and memory on a host with 2,000 extra processes (DESIGN.md budgets).
check-budgets: deps build
	bash .ci/check-budgets

# The README's screenshots of the demo mid-upgrade (needs aha and chromium; installed as root).
screenshots: deps build
	bash .ci/screenshots

clean:
	rm -rf bin
