# zkcoord: `make demo` and `make test` are all a fresh machine needs.
GO        ?= go
PKGS      := ./...
ENSEMBLE_DIR ?= $(CURDIR)/.ensemble

.PHONY: all test demo lint vet fmt install-zookeeper install-peers ensemble-up ensemble-down bench fuzz

all: lint test

install-zookeeper:
	@bash scripts/install-zookeeper

# Curator (Java), kazoo (Python) and a JDK, for the interop tests. After
# install-zookeeper, so that make -j never runs two apt-gets at once.
install-peers: install-zookeeper
	@bash scripts/install-peers

test: install-zookeeper install-peers lint
	$(GO) test -count=1 -race -timeout 18m $(PKGS)

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

bench: install-zookeeper
	$(GO) run ./bench/cmd/zkbench -out bench/RESULTS.md

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidatePath -fuzztime 60s ./recipes/
	$(GO) test -run '^$$' -fuzz FuzzParseContender -fuzztime 60s ./recipes/
