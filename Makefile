# gantry: two commands for a new user, `make run` and `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
PYTHON     ?= python3

.PHONY: all deps deps-test build run test unit e2e test-asan fuzz fuzz-ci bench clean format

all: build

deps:
	@scripts/install-deps.sh

deps-test:
	@scripts/install-deps.sh --test

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-quickstart.sh $(BUILD)/gantry

unit: deps-test $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# tests/crd: `gantry validate` against every constraint of the published Gateway API CRDs
# (downloaded once from the Go module proxy; see docs/validation.md). A pytest run of its own:
# each folder has its own conftest.py, and one run would import only one of them as `conftest`.
e2e: deps-test build
	GANTRY_BIN=$(abspath $(BUILD)/gantry) $(PYTHON) -m pytest -q tests/e2e
	GANTRY_BIN=$(abspath $(BUILD)/gantry) $(PYTHON) -m pytest -q tests/crd

test: unit e2e

$(ASAN_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Sanitize

test-asan: deps-test $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

$(FUZZ_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Fuzz

fuzz: deps-test $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets

# Every fuzz target runs for FUZZ_SECONDS over its checked-in corpus (the foundation issue asks 60 s).
FUZZ_SECONDS ?= 60
fuzz-ci: fuzz
	@scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps-test build
	@bench/run.sh $(BUILD)/gantry

format:
	find src tests fuzz bench -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
