# Two entry points for a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Both install what they need first and can be run again at any time.

SHELL := /bin/bash
# The toolchain lives in /opt/swift on the machines this project targets; it may not be on PATH.
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
DEB_PACKAGES := pkg-config libssh2-1-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev libpq-dev libssl-dev \
	openssh-server openssh-client nginx-light postgresql supervisor prometheus wrk hyperfine \
	python3 python3-venv procps iproute2 curl openssl time tmux chromium redis-server
BIN_DEBUG := .build/debug/marshal
BIN_RELEASE := .build/release/marshal

.PHONY: deps build release demo test unit e2e bench fuzz clean install install-files dist dist-check venv schemas docs-reference man

# Installs the Debian packages only when one is missing, so a second run does no network work.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift not found on PATH (expected the toolchain in /opt/swift)"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	@scripts/demo

test: release build
	scripts/test
	scripts/fuzz 30

# A longer libFuzzer hunt: `make fuzz FUZZ_SECONDS=3600`.
FUZZ_SECONDS ?= 600
fuzz: deps
	scripts/fuzz $(FUZZ_SECONDS)

bench: release
	scripts/bench/all

clean:
	rm -rf .build .build-fuzz .build-dist dist .marshal lab

# --- Install and release (issue 16) -----------------------------------------------------------
# `make install [PREFIX=/usr/local] [DESTDIR=]`: the release binary, its templates and schemas in
# PREFIX/share/marshal, shell completions where bash, zsh and fish look, the man page.
# `make dist`: a self-contained binary (Swift runtime linked in) in dist/marshal-VERSION-linux-ARCH.tar.gz
# with a .sha256 beside it; it needs only the Debian libraries listed in docs/install.md.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD_INFO := Sources/MarshalCLI/BuildInfo.swift
VERSION := $(shell sed -n 's/.*static let version = "\(.*\)"/\1/p' $(BUILD_INFO))
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- . 2>/dev/null || echo -dirty)
ARCH := $(shell uname -m)
DIST_NAME := marshal-$(VERSION)-linux-$(ARCH)
# Release builds for install and dist; dist links the Swift runtime statically.
INSTALL_BIN ?= $(BIN_RELEASE)

# Writes the commit into BuildInfo.swift for one build and always puts the placeholder back.
define build_with_commit
	@sed -i 's/static let commit = ".*"/static let commit = "$(COMMIT)"/' $(BUILD_INFO); \
	$(SWIFT) build -c release $(1); status=$$?; \
	sed -i 's/static let commit = ".*"/static let commit = "dev"/' $(BUILD_INFO); exit $$status
endef

install:
	$(call build_with_commit,)
	$(MAKE) --no-print-directory install-files INSTALL_BIN=$(BIN_RELEASE)

# The copying half of install, for a binary already built (INSTALL_BIN=path).
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/marshal/templates $(DESTDIR)$(PREFIX)/share/marshal/schemas \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/marshal
	install -m 644 Templates/*.md $(DESTDIR)$(PREFIX)/share/marshal/templates/
	if ls schemas/*.json >/dev/null 2>&1; then install -m 644 schemas/*.json $(DESTDIR)$(PREFIX)/share/marshal/schemas/; fi
	$(INSTALL_BIN) --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/marshal
	$(INSTALL_BIN) --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_marshal
	$(INSTALL_BIN) --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/marshal.fish
	if [ -f docs/man/marshal.1 ]; then install -m 644 docs/man/marshal.1 $(DESTDIR)$(PREFIX)/share/man/man1/marshal.1; fi
	@echo "installed $(DESTDIR)$(PREFIX)/bin/marshal"

dist:
	$(call build_with_commit,--static-swift-stdlib --scratch-path .build-dist)
	rm -rf dist/$(DIST_NAME) && mkdir -p dist/$(DIST_NAME)
	$(MAKE) --no-print-directory install-files INSTALL_BIN=.build-dist/release/marshal PREFIX=$(CURDIR)/dist/$(DIST_NAME) DESTDIR=
	cp README.md dist/$(DIST_NAME)/
	if [ -f docs/install.md ]; then cp docs/install.md dist/$(DIST_NAME)/INSTALL.md; fi
	tar -C dist -czf dist/$(DIST_NAME).tar.gz $(DIST_NAME)
	cd dist && sha256sum $(DIST_NAME).tar.gz > $(DIST_NAME).tar.gz.sha256
	@echo "dist/$(DIST_NAME).tar.gz"; cat dist/$(DIST_NAME).tar.gz.sha256

# Unpacks the tarball and runs its binary with the Swift toolchain hidden (see scripts/dist-check).
dist-check: dist
	scripts/dist-check dist/$(DIST_NAME).tar.gz

# Python test tools from PyPI live in .venv (check-jsonschema validates files against schemas/).
VENV := .venv
$(VENV)/bin/check-jsonschema:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q check-jsonschema==0.39.0
venv: $(VENV)/bin/check-jsonschema

# Regenerates what is generated from the code: schemas/, docs/reference/, the built-in templates.
schemas: build
	$(BIN_DEBUG) schema runbook -o schemas/runbook.schema.json
	$(BIN_DEBUG) schema environment -o schemas/environment.schema.json
docs-reference: build
	$(BIN_DEBUG) docs --output docs/reference
	scripts/embed-templates

# The man page, from swift-argument-parser's generate-manual plugin (its first run builds the tool).
man:
	$(SWIFT) package plugin generate-manual
	mkdir -p docs/man && cp .build/plugins/GenerateManual/outputs/marshal/marshal.1 docs/man/marshal.1
