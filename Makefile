# zkcoord: `make demo` and `make test` are all a fresh machine needs.
GO        ?= go
PKGS      := ./...
ENSEMBLE_DIR ?= $(CURDIR)/.ensemble

.PHONY: all test demo lint vet fmt install-zookeeper install-peers ensemble-up ensemble-down bench fuzz safety

all: lint test

install-zookeeper:
	@bash scripts/install-zookeeper

# Curator (Java), kazoo (Python) and a JDK, for the interop tests. After
# install-zookeeper, so that make -j never runs two apt-gets at once.
install-peers: install-zookeeper
	@bash scripts/install-peers

# PostgreSQL's server binaries, for fence's tests against a real database
# (fence/fencetest starts throwaway clusters). After install-peers, for the
# same reason.
.PHONY: install-postgres
install-postgres: install-peers
	@bash scripts/install-postgres

# The chaos suite runs an ensemble and a dozen processes of its own: it goes
# after the other packages, alone, so that its load cannot starve their
# timers (a test that checks a loss signal against a takeover measures them).
test: install-zookeeper install-peers install-postgres lint
	$(GO) test -count=1 -race -timeout 15m -skip '^TestDocker$$' $$($(GO) list ./... | grep -v /chaos)
	$(GO) test -count=1 -race -timeout 5m ./chaos/...

demo: install-zookeeper
	$(GO) run ./cmd/zkcoord demo

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

ensemble-up: install-zookeeper
	$(GO) run ./cmd/zkcoord ensemble up --dir $(ENSEMBLE_DIR)

ensemble-down:
	$(GO) run ./cmd/zkcoord ensemble down --dir $(ENSEMBLE_DIR)

bench: install-zookeeper install-peers
	$(GO) run ./bench/cmd/zkbench -out bench/RESULTS.md

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidatePath -fuzztime 60s ./recipes/
	$(GO) test -run '^$$' -fuzz FuzzParseContender -fuzztime 60s ./recipes/

# The loss signal against a takeover at ZooKeeper's shipped timings
# (tickTime 2s, syncLimit 5) with 10s sessions: TRIALS trials each of an
# isolated follower, an isolated leader, and the control. `make test` runs
# one of each. About 25 minutes at 20.
TRIALS ?= 20
safety: install-zookeeper
	ZKCOORD_SAFETY_TRIALS=$(TRIALS) $(GO) test -count=1 -v -timeout 90m -run '^TestLossSignalBeatsTakeover$$' ./session/

# The chaos suite, long: faults for DURATION on a random seed (printed).
# `make test` runs a one-minute version (chaos/TestChaos).
DURATION ?= 10m
# fast (100ms ticks, 2s sessions) or shipped (ZooKeeper's own: 2s ticks,
# syncLimit 5, 10s sessions).
TIMINGS ?= fast
.PHONY: chaos
chaos: install-zookeeper
	$(GO) run ./chaos/cmd/chaos -duration $(DURATION) -timings $(TIMINGS)

# Docker (docker/): a ZooKeeper image built from Debian's packages with no
# registry (docker/build-image, as root or through sudo), a 3-node compose
# ensemble, and zktest's Docker provider (Options.Docker,
# ZKTEST_PROVIDER=docker). Not part of `make test`, which skips TestDocker
# (it needs the image); CI runs `make docker-test`.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
.PHONY: docker-image docker-test docker-up docker-down
docker-image:
	@bash docker/build-image >/dev/null

docker-test: docker-image
	$(GO) test -count=1 -race -timeout 5m -run '^TestDocker$$' ./zktest/

docker-up: docker-image
	$(COMPOSE) -f docker/compose.yml up -d

docker-down:
	$(COMPOSE) -f docker/compose.yml down
