# mailsift: build, test, check, fuzz and bench. CI runs `make test check`.
GO          ?= go
# A static binary starts in half the time, which is most of one mark.
export CGO_ENABLED ?= 0
BIN         ?= bin/mailsift
STATICCHECK ?= $(shell go env GOPATH)/bin/staticcheck
FUZZTIME    ?= 30s
CORPUS      ?= $(or $(MAILSIFT_CORPUS),$(HOME)/.cache/mailsift-corpus)
DEMO        ?= $(or $(TMPDIR),/tmp)/mailsift-demo

.PHONY: all build demo deps test check generate fuzz bench bench-go bench-peers bench-analyze bench-serve bench-serve-pinned bench-scale corpus clean rspamd

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/mailsift

# The main job on the sample mail that ships in testdata/: train a fresh
# database, score the mailboxes, mark one message as procmail would, and
# analyse the analysis fixtures into one JSON report each.
demo: build
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN) --config testdata/demo.yml --db $(DEMO)/tokens.db train --ham testdata/corpus/ham.mbox --spam testdata/corpus/spam.mbox
	$(BIN) --config testdata/demo.yml --db $(DEMO)/tokens.db stats testdata/corpus/ham.mbox testdata/corpus/spam.mbox
	$(BIN) --config testdata/demo.yml --db $(DEMO)/tokens.db mark < testdata/corpus/msg1.eml
	$(BIN) --config testdata/demo.yml --db $(DEMO)/tokens.db analyze --out dir:$(DEMO)/reports testdata/analyze/*.eml testdata/analyze/*.msg
	@echo "one JSON report per mail of testdata/analyze in $(DEMO)/reports:" && find $(DEMO)/reports -name '*.json' | wc -l

# What the tests need beyond Go, all from Debian: spamoracle, the peer that
# the compatibility tests compare against; clamd, which the ClamAV enricher
# is tested against with a signature database the test writes; redis-server
# for the Redis sink; and Postfix, which the milter's end-to-end test runs
# as a private instance on 127.0.0.1 (installed unconfigured: it is never
# started as the system's mailer).
DEB_DEPS = spamoracle:spamoracle clamd:clamav-daemon redis-server:redis-server postfix:postfix
deps:
	@missing=""; for d in $(DEB_DEPS); do \
	  cmd=$${d%%:*}; pkg=$${d#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || test -x /usr/sbin/$$cmd || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing (Debian) for the tests"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: deps
	$(GO) test -count=1 ./...

# Generated files must be up to date: CI fails on a diff.
generate:
	$(GO) generate ./...
	@git diff --exit-code -- '*.go' || { echo "go generate changed files: commit them"; exit 1; }

check: generate
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.6.1
	$(STATICCHECK) ./...

# Every fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 50x $$pkg || exit 1; \
	  done; done

# The SpamAssassin public corpus with the fixed split (../shared/corpus).
corpus:
	@test -s $(CORPUS)/sa/test-ham.txt || ../shared/corpus/prepare-sa.sh

# Go micro-benchmarks, then mailsift beside bogofilter and spamoracle on the
# SpamAssassin split, in one run.
bench: bench-go bench-peers bench-analyze bench-serve bench-serve-pinned bench-scale

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-peers: build corpus
	bench/compare.sh

# mailsift analyze on the whole corpus, with and without fuzzy hashes.
bench-analyze: build corpus
	bench/analyze.sh

# mailsift serve's /v1/classify and /v1/analyze beside rspamd's /checkv2,
# 32 clients each, in one run (installs Debian's rspamd when missing).
bench-serve: build corpus rspamd
	PASSES=10 bench/serve.sh

# The same with each server on the first core and the load generator on the
# second, so that the load generator takes no CPU from the server it measures.
bench-serve-pinned: build corpus rspamd
	SERVER_CPUS=0 LOADGEN_CPUS=1 PASSES=10 bench/serve.sh

# Debian's rspamd, for the service benchmarks.
rspamd:
	@[ -n "$(SKIP_RSPAMD)" ] || command -v rspamd >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rspamd >/dev/null; }

# The corpus through 1, 2 and 4 worker processes on NATS JetStream, beside
# one analyze process (installs Debian's nats-server when missing).
bench-scale: build corpus
	bench/scale.sh
