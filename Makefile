# crmchats: `make demo` runs the product locally, `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all setup build test lint headers demo bench load fuzz package clean

all: build

setup:
	@scripts/setup.sh

build:
	$(CARGO) build --release --workspace

# Everything CI checks: formatting, lints, the header drift test, Rust unit and integration
# tests (real MariaDB, fake providers on 127.0.0.1), the PHP suite through FFI and the browser
# suite, then a short AFL++ run of both fuzz targets (15 s each; `make fuzz` runs the long one).
test: setup lint
	$(CARGO) build --workspace
	@mkdir -p target
	set -o pipefail; $(CARGO) test --workspace 2>&1 | tee target/test-output.log
	@scripts/test-summary.sh target/test-output.log
	FUZZ_SECONDS=15 scripts/fuzz.sh

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Rewrites include/crmchats.h and php-bridge/crmchats.ffi.h from src/ffi.
headers:
	CRMCHATS_UPDATE_HEADERS=1 $(CARGO) build

# dist/crmchats-<version>.zip: the CRM plugin with the release library (see README: Install into SalesMan).
package:
	@scripts/package.sh

demo: setup build
	@scripts/demo.sh

bench: setup build
	@scripts/bench.sh

# A steady mix of every channel's webhooks plus an operator, through PHP FFI (scripts/load.sh).
load: setup build
	@scripts/load.sh

# Coverage-guided fuzzing with AFL++ (cargo-afl, stable toolchain): FUZZ_EXECS per target.
fuzz: setup
	@scripts/fuzz.sh

clean:
	$(CARGO) clean
	rm -rf .demo dist
