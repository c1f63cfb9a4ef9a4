# Thin wrapper over CMake. `make demo` and `make test` do all setup on a fresh Debian 12 machine.
BUILD_DIR ?= build/release
ASAN_DIR ?= build/asan
JOBS ?= $(shell nproc)

.PHONY: stress deps configure build test test-release test-asan fuzz format format-check demo bench clean

deps:
	@scripts/install_deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null

## build: the CLI at build/release/cdlt
build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

## test: format check, release build + whole suite, ASan+UBSan build + unit suite, bounded fuzz
test: format-check test-release test-asan fuzz

test-release: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

test-asan: deps
	@cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCDLT_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS) --target cdlt_unit_tests
	@cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -L unit --timeout 600

## fuzz: libFuzzer on the relational normalizer (clang, ASan+UBSan) for FUZZ_SECONDS (default 60,
## the bounded run of `make test`); findings under build/fuzz/artifacts; see scripts/fuzz.sh
FUZZ_SECONDS ?= 60
fuzz: deps
	@JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_SECONDS)

format:
	@scripts/format.sh

format-check: deps
	@scripts/format.sh --check

## demo: the main job on sample data it creates
demo: build
	@scripts/demo.sh $(BUILD_DIR)/cdlt

## bench: every benchmark script in bench/ (*_bench.sh) against the release build; see BENCHMARKS.md
bench: build
	@for script in bench/*_bench.sh; do bash "$$script" $(BUILD_DIR) || exit 1; done

clean:
	rm -rf build

## stress: the incremental crash sweep with many more kills (CDLT_CRASH_STRESS, default 500; CDLT_CRASH_SEED replays)
stress: deps
	@scripts/stress.sh $(BUILD_DIR)
