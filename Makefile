# Peephole: `make serve` runs the server on the bundled demo store, `make test` runs every test.
# Both install the system libraries they need on Debian (as root) when they are missing.

SWIFT ?= swift
SYSTEM_PACKAGES := libopenblas-dev libhdf5-dev libsqlite3-dev pkg-config
# The inspector page's tests drive a real headless browser.
BROWSER_PACKAGES := chromium chromium-driver
STORE ?= models/peephole.sqlite

.PHONY: deps browser build release test serve fixtures demo clean bench profile fuzz soak screenshots image image-test manifests-test release-static cluster-test interop

## Installs the C libraries Peephole links (OpenBLAS, HDF5, SQLite) when pkg-config cannot find them.
deps:
	@if pkg-config --exists openblas hdf5 sqlite3 2>/dev/null; then :; else \
		echo "Installing $(SYSTEM_PACKAGES)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES); \
	fi

## Installs headless Chromium and chromedriver when missing (the inspector page's tests use them).
browser:
	@if command -v chromedriver >/dev/null 2>&1; then :; else \
		echo "Installing $(BROWSER_PACKAGES)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BROWSER_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product peephole

## Builds everything (the live tests run the built `peephole` binary) and runs the test suites.
test: deps browser manifests-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## Writes the README's pictures of the inspector (docs/screenshots/) from its browser test.
screenshots: deps browser
	$(SWIFT) build --build-tests
	PEEPHOLE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(SWIFT) test --skip-build --filter InspectorPageTests

## Serves the store (default: the bundled demo model) on 127.0.0.1:8080.
serve: release
	.build/release/peephole serve --config config/peephole.json --store $(STORE)

## Regenerates the Keras parity fixtures in Tests/Fixtures/keras (needs Python and PyPI).
fixtures:
	bash tools/fixtures/run.sh

## Retrains the demo model and rebuilds models/peephole.sqlite (needs Python and PyPI).
demo: build
	bash tools/train_demo/run.sh

## Benchmarks the engine (LSTM and GRU) and the HTTP server (Peephole JSON and KServe V2) against ONNX Runtime, numpy, a FastAPI server and KServe's model server, and times the inspector; writes bench/results.md.
bench: release
	bash tools/bench/run.sh

## Samples the server with perf under load (64 connections) and writes where one request's time goes, by stage,
## in µs, for /health, text and one-hot /predict and V2 binary infer; writes bench/profile.md.
profile: release
	@if command -v perf >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1; then :; else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq linux-perf wrk; \
	fi
	python3 tools/bench/profile.py

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

## Builds the container image from the Containerfile with podman or docker, whichever is present and works.
IMAGE ?= peephole:latest
image:
	@if command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then \
		echo "podman build -f Containerfile -t $(IMAGE) ."; podman build --format docker -f Containerfile -t $(IMAGE) .; \
	elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		echo "docker build -f Containerfile -t $(IMAGE) ."; docker build -f Containerfile -t $(IMAGE) .; \
	else \
		echo "make image: no working container engine (podman or docker with a running daemon) on this machine." >&2; \
		echo "Build on one that has it: podman build --format docker -f Containerfile -t $(IMAGE) ." >&2; \
		echo "Without one, 'make image-test' runs the Containerfile's runtime stage in a debootstrapped Debian root." >&2; \
		exit 1; \
	fi

## Runs the Containerfile's runtime stage without a container engine (root, debootstrap): packages, binary, serve, probes; prints the root's size.
image-test: deps
	@command -v debootstrap >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq debootstrap curl binutils; }
	python3 tools/deploy/image_test.py

## Checks deploy/ against the vendored Kubernetes and KServe schemas (installs python3-yaml and python3-jsonschema when missing).
manifests-test:
	@if python3 -c 'import yaml, jsonschema' 2>/dev/null; then PY=python3; \
	elif /usr/bin/python3 -c 'import yaml, jsonschema' 2>/dev/null; then PY=/usr/bin/python3; \
	else echo "Installing python3-yaml python3-jsonschema"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-yaml python3-jsonschema; \
		PY=/usr/bin/python3; \
	fi; $$PY tools/deploy/validate_manifests.py --self-test

## The release binary the image ships: Swift's standard library and Foundation linked statically (as the Containerfile builds it).
release-static: deps
	$(SWIFT) build -c release --product peephole --static-swift-stdlib

## Three replicas of the image's binary behind HAProxy (deploy/haproxy) on loopback, SIGKILL and SIGTERM under load, sessions recovered; writes bench/cluster.md.
cluster-test: release-static
	@command -v haproxy >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq haproxy; }
	python3 tools/cluster/cluster_test.py
