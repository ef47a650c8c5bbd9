# Peephole: `make serve` runs the server on the bundled demo store, `make test` runs every test.
# Both install the system libraries they need on Debian (as root) when they are missing.

SWIFT ?= swift
SYSTEM_PACKAGES := libopenblas-dev libhdf5-dev libsqlite3-dev pkg-config
STORE ?= models/peephole.sqlite

.PHONY: deps build release test serve fixtures demo clean bench fuzz soak interop

## Installs the C libraries Peephole links (OpenBLAS, HDF5, SQLite) when pkg-config cannot find them.
deps:
	@if pkg-config --exists openblas hdf5 sqlite3 2>/dev/null; then :; else \
		echo "Installing $(SYSTEM_PACKAGES)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product peephole

## Builds everything (the live tests run the built `peephole` binary) and runs the test suites.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## Serves the store (default: the bundled demo model) on 127.0.0.1:8080.
serve: release
	.build/release/peephole serve --config config/peephole.json --store $(STORE)

## Regenerates the Keras parity fixtures in Tests/Fixtures/keras (needs Python and PyPI).
fixtures:
	bash tools/fixtures/run.sh

## Retrains the demo model and rebuilds models/peephole.sqlite (needs Python and PyPI).
demo: build
	bash tools/train_demo/run.sh

## Benchmarks the engine and the HTTP server against ONNX Runtime, numpy and a FastAPI server; writes bench/results.md.
bench: release
	bash tools/bench/run.sh

## Fuzzes every HTTP route with schemathesis against a server it starts (needs Python and PyPI).
fuzz: release
	bash tools/fuzz/run.sh

## Drives a server with unmodified tritonclient (KServe V2) and TF Serving REST clients, checking every number against the Peephole API (needs Python and PyPI).
interop: release
	bash tools/interop/run.sh

## Soaks one server with mixed traffic at 256 connections for SOAK_SECONDS (default 300); writes bench/soak.md.
soak: release
	bash tools/soak/run.sh

clean:
	rm -rf .build
