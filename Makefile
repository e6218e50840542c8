# Two entry points for a fresh Debian 12 machine (as root): `make demo` and `make test`.
# Both install what they need first and can be run again at any time.

SHELL := /bin/bash
# The toolchain lives in /opt/swift on the machines this project targets; it may not be on PATH.
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
DEB_PACKAGES := pkg-config libssh2-1-dev libcurl4-openssl-dev libyaml-dev libsqlite3-dev libpq-dev libssl-dev \
	openssh-server openssh-client nginx-light postgresql supervisor prometheus wrk hyperfine \
	python3 procps iproute2 curl openssl time chromium
BIN_DEBUG := .build/debug/marshal
BIN_RELEASE := .build/release/marshal

.PHONY: deps build release demo test unit e2e bench clean

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

bench: release
	scripts/bench/all

clean:
	rm -rf .build .marshal lab
