# hotdeploy: `make demo` runs the dashboard on a sandbox nginx, `make test` runs every check.
SHELL       := /bin/bash
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN         := bin/hotdeploy
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# goreleaser, pinned; built once from the module proxy (about 8 minutes cold) and kept in the
# git-ignored bin/, keyed by version, so bumping the pin builds the new one.
GORELEASER_VERSION := v2.15.1
GORELEASER         := bin/tools/goreleaser-$(GORELEASER_VERSION)/goreleaser

.PHONY: all build deps deps-fleet demo test test-systemd test-fleet chaos chaos-short lint bench check-budgets screenshots release-snapshot check-deb proof clean

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
	@out=$$($(BIN) version); echo "$$out"; [ "$$out" = "hotdeploy $(VERSION) (commit $(COMMIT))" ] \
	  && [ "$$($(BIN) --version)" = "$$out" ]
	@echo "== go test -race (real nginx)"
	@set -o pipefail; $(GO) test -race -count=1 -timeout 20m -v ./... 2>&1 | tee bin/test.log \
	  | grep -E '^(ok|FAIL|PASS|panic|\?|--- FAIL)|^\s+\S+_test\.go:[0-9]+:' ; status=$$?; \
	  echo "== benchmarks, each run once: one that cannot run any more fails here (its --- FAIL counts)"; \
	  $(GO) test -count=1 -timeout 10m -run '^$$' -bench . -benchtime 1x ./... 2>&1 | tee -a bin/test.log \
	  | grep -E '^(ok|FAIL|panic|--- FAIL)|^\s+\S+_test\.go:[0-9]+:' || status=1; \
	  echo "== summary: $$(grep -c -- '--- PASS' bin/test.log) passed, $$(grep -c -- '--- FAIL' bin/test.log) failed, $$(grep -c -- '--- SKIP' bin/test.log) skipped (tests and subtests)"; \
	  exit $$status

# The chaos suite (nginxctl/upgrade/chaostest, and package upgrade's rename-hook case): bounded
# hostile loops against real sandboxes, as root, in a private mount namespace. Each case counts
# tries, intended outcomes, wrong verdicts, leaked processes and lost builds; the table (lines
# "chaos| ...") is the result. chaos-short runs in CI after make test (budget: 6 minutes on 2
# cores); chaos is the full run (>= 100 commits and >= 30 rollbacks under load, and more of
# everything). HOTDEPLOY_CHAOS_SEED=N replays a run's random moments.
CHAOS_PKGS := ./nginxctl/upgrade/chaostest/ ./nginxctl/upgrade/
chaos-short: CHAOS_MODE := short
chaos-short: CHAOS_TIMEOUT := 15m
chaos: CHAOS_MODE := full
chaos: CHAOS_TIMEOUT := 90m
chaos chaos-short: deps
	@mkdir -p bin
	@echo "== chaos suite ($(CHAOS_MODE)): go test -run Chaos $(CHAOS_PKGS)"
	@set -o pipefail; start=$$(date +%s); \
	  HOTDEPLOY_CHAOS=$(CHAOS_MODE) $(GO) test -count=1 -p 1 -timeout $(CHAOS_TIMEOUT) -v -run '^TestChaos' $(CHAOS_PKGS) 2>&1 \
	  | tee bin/chaos-$(CHAOS_MODE).log | grep -E '^(ok|FAIL|panic)|^chaos\| |^\s*--- FAIL|^\s+\S+_test\.go:[0-9]+: .*(intended=|try )' | cut -c1-400; status=$$?; \
	  echo "== chaos $(CHAOS_MODE): exit $$status after $$(( $$(date +%s) - start )) s wall (full log: bin/chaos-$(CHAOS_MODE).log)"; \
	  exit $$status

# Real systemd (as root): Debian's unmodified nginx.service under systemd, one systemd-nspawn
# container per test. The first run installs mmdebstrap and systemd-container (pinned to the
# host's systemd) and builds a Debian root into /var/cache/hotdeploy-test (about 2 minutes);
# later runs reuse it. Not part of `make test`: CI runs it after, never beside it.
test-systemd:
	@echo "== Debian root for systemd-nspawn (.ci/systemd-root)"
	@set -o pipefail; start=$$(date +%s.%N); root=$$(bash .ci/systemd-root) || exit 1; \
	  echo "$$root (ready in $$(awk -v a=$$start -v b=$$(date +%s.%N) 'BEGIN { printf "%.1f", b - a }') s)"; \
	  mkdir -p bin; echo "== go test (real systemd; each test's wall time includes its boot and halt)"; \
	  HOTDEPLOY_SYSTEMD_ROOT=$$root $(GO) test -count=1 -timeout 15m -v ./nginxctl/supervisor/nspawntest/ 2>&1 \
	  | tee bin/test-systemd.log | grep -E '^(ok|FAIL|panic|--- )|finding: |after boot$$' ; status=$$?; \
	  if [ $$status -ne 0 ]; then echo "== log of the failed run (bin/test-systemd.log)"; tail -150 bin/test-systemd.log; fi; \
	  echo "== systemd summary: $$(grep -cE '^(    )?--- PASS' bin/test-systemd.log) passed, $$(grep -cE '^(    )?--- FAIL' bin/test-systemd.log) failed, $$(grep -cE '^(    )?--- SKIP' bin/test-systemd.log) skipped"; \
	  exit $$status

# The Ansible role (assets/ansible) rolling hot upgrades over three sandbox nginx on this machine,
# with Debian's ansible-core, and the apt flow inside a real-systemd container (ansible-core in
# its root, .ci/systemd-root); as root. The role installs the release .deb (make
# release-snapshot) on this machine and in the container. Each playbook run's output is kept in
# bin/fleet/. CI runs it after make test, make check-deb and make test-systemd, never beside them.
deps-fleet:
	@bash .ci/deps-fleet

test-fleet: deps deps-fleet build release-snapshot
	@echo "== go vet (fleet tag)"
	$(GO) vet -tags fleet ./assets/ansible/fleettest/
	@mkdir -p bin/fleet
	@echo "== Debian root for systemd-nspawn (.ci/systemd-root)"
	@set -o pipefail; root=$$(bash .ci/systemd-root) || exit 1; \
	  debs=(dist/hotdeploy_*_$$(dpkg --print-architecture).deb); \
	  if [ $${#debs[@]} -ne 1 ] || [ ! -f "$${debs[0]}" ]; then echo "want one release .deb in dist/, found: $${debs[*]}"; exit 1; fi; \
	  echo "== go test -tags fleet (ansible-playbook: three sandbox hosts, then apt under systemd; $${debs[0]})"; \
	  FLEET_LOG_DIR=$(CURDIR)/bin/fleet HOTDEPLOY_BIN=$(CURDIR)/$(BIN) HOTDEPLOY_DEB=$(CURDIR)/$${debs[0]} \
	  HOTDEPLOY_SYSTEMD_ROOT=$$root $(GO) test -tags fleet -count=1 -timeout 45m -v ./assets/ansible/fleettest/ 2>&1 \
	  | tee bin/fleet/test.log | grep -E '^(ok|FAIL|PASS|panic)|^\s*--- |^\s+\S+_test\.go:[0-9]+:'; status=$$?; \
	  echo "== fleet summary: $$(grep -cE -- '^\s*--- PASS' bin/fleet/test.log) passed, $$(grep -cE -- '^\s*--- FAIL' bin/fleet/test.log) failed, $$(grep -cE -- '^\s*--- SKIP' bin/fleet/test.log) skipped (tests and subtests)"; \
	  exit $$status

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./nginxctl/... ./ui/...

# The dashboard's CPU and memory on a host with 2,000 extra processes (DESIGN.md budgets).
check-budgets: deps build
	bash .ci/check-budgets

# The README's screenshots of the demo mid-upgrade (needs aha and chromium; installed as root).
screenshots: deps build
	bash .ci/screenshots

$(GORELEASER):
	@echo "== building goreleaser $(GORELEASER_VERSION) into $(@D) (once; about 8 minutes cold)"
	GOBIN=$(CURDIR)/$(@D) GOFLAGS= $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

# .deb, .rpm and tar.gz for linux amd64 and arm64 in dist/, with the man page and completions.
release-snapshot: $(GORELEASER)
	$(GORELEASER) check
	HOTDEPLOY_COMMIT=$(COMMIT) $(GORELEASER) release --snapshot --clean

# Installs the amd64 .deb on this machine, checks it, removes it (root; CI runs it after make test).
check-deb: release-snapshot
	bash .ci/check-deb

# wrk, h2load and hotdeploy's probe (fresh and keep-alive) through a headless upgrade and an
# upgrade+rollback of a sandbox nginx (needs wrk and nghttp2-client: .ci/proof-deps installs them).
proof: deps build
	bash .ci/proof

clean:
	rm -rf bin dist
