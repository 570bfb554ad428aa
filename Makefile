# One entry point per job. Build outputs and tool caches live outside the
# clone (AGTRACE_CACHE), so repeated runs and CI reuse them.
AGTRACE_CACHE ?= $(HOME)/.cache/agtrace
CARGO_TARGET_DIR ?= $(AGTRACE_CACHE)/target
export AGTRACE_CACHE CARGO_TARGET_DIR

EXAMPLES := $(CARGO_TARGET_DIR)/release/examples
LIB := $(CARGO_TARGET_DIR)/release
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(firstword $(subst ., ,$(VERSION)))
DIST_C := $(CURDIR)/dist/c
DIST_PY := $(CURDIR)/dist/python

.PHONY: demo test lint test-rust test-python test-c check-abi header sdk sdk-c sdk-python bindings-python \
  python-installed

## demo: run the demo agent, traced to the console and agtrace-demo.jsonl
demo:
	cargo run --release --quiet -p agtrace-core --example demo

## test: every test (formatting, lints, ABI drift, Rust, C/C++, Python, Kotlin, end-to-end)
test: lint check-abi test-rust fuzz-smoke test-c test-python test-kotlin test-kotlin-consumer test-swift test-swift-consumer \
  bench-smoke

# OTLP exporters keep what they cannot deliver in a disk spool under
# $XDG_STATE_HOME by default; the tests' spools stay in the build tree, away
# from the user's (tests that check the spool choose their own directory).
TEST_STATE := $(CURDIR)/build/test-state
test-c test-python test-kotlin test-kotlin-consumer test-swift test-swift-consumer bench-smoke soak: \
  export XDG_STATE_HOME := $(TEST_STATE)

lint:
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets --quiet -- -D warnings

## header: regenerate include/agtrace.h from ffi/src (commit the result)
header:
	cargo run --release --quiet -p agtrace-header

# The committed header and the committed list of exported symbols must match
# the code, so an ABI change is always visible in review.
check-abi:
	cargo run --release --quiet -p agtrace-header -- --check
	cargo build --release --quiet -p agtrace-ffi
	nm -D --defined-only $(LIB)/libagtrace.so | awk '{print $$3}' | sort | diff -u ffi/symbols.txt - \
	  || (echo "exported symbols changed: update ffi/symbols.txt if intended" && exit 1)

## sdk: build the library and package every language under dist/
sdk: sdk-c sdk-python sdk-kotlin sdk-swift

sdk-c:
	cargo build --release --quiet -p agtrace-ffi
	rm -rf $(DIST_C) && mkdir -p $(DIST_C)/include $(DIST_C)/lib/pkgconfig $(DIST_C)/lib/cmake/agtrace
	cp include/agtrace.h include/agtrace.hpp $(DIST_C)/include/
	cp $(LIB)/libagtrace.a $(DIST_C)/lib/
	cp $(LIB)/libagtrace.so $(DIST_C)/lib/libagtrace.so.$(MAJOR)
	ln -s libagtrace.so.$(MAJOR) $(DIST_C)/lib/libagtrace.so
	sed 's|@VERSION@|$(VERSION)|' ffi/pkg/agtrace.pc.in > $(DIST_C)/lib/pkgconfig/agtrace.pc
	sed 's|@MAJOR@|$(MAJOR)|g' ffi/pkg/agtrace-config.cmake.in > $(DIST_C)/lib/cmake/agtrace/agtrace-config.cmake
	sed 's|@VERSION@|$(VERSION)|; s|@MAJOR@|$(MAJOR)|' ffi/pkg/agtrace-config-version.cmake.in \
	  > $(DIST_C)/lib/cmake/agtrace/agtrace-config-version.cmake

# C and C++: the GoogleTest suite (under valgrind), the header compile checks
# and the examples, built against dist/c as users would.
test-c: sdk-c
	cmake -S tests/c -B $(CURDIR)/build/c -DCMAKE_PREFIX_PATH=$(DIST_C) -DCMAKE_BUILD_TYPE=Debug > /dev/null
	cmake --build $(CURDIR)/build/c --parallel 2
	cd $(CURDIR)/build/c && ctest --output-on-failure

# `cargo test` also builds the examples the Python tests drive.
# uniffi-bindgen (uniffi with its `cli` feature) has no tests and is left out:
# built with the library, it would change uniffi's features and recompile
# agtrace-ffi apart from the `-p agtrace-ffi` builds.
test-rust:
	cargo test --release --workspace --exclude uniffi-bindgen --exclude agtrace-fuzz

## fuzz: each fuzz target (fuzz/) for FUZZ_SECONDS (default 300); crashes land in build/fuzz/
# Coverage-guided fuzzing on stable Rust: libfuzzer-sys's libFuzzer, with
# the sanitizer-coverage passes cargo-fuzz would turn on with nightly
# (-Zsanitizer is nightly-only; these -C flags are not). An explicit
# --target keeps the flags off build scripts and proc macros, which cannot
# link against libFuzzer, and its own target dir keeps them off the normal
# build. Each run reads the committed seeds (fuzz/corpus/<target>) and
# writes what it learns to a corpus in the cache, so the repository's
# corpus changes only by hand.
FUZZ_TARGETS := protocol propagation config_file ffi_strings
FUZZ_SECONDS ?= 300
FUZZ_HOST := $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_BIN := $(CARGO_TARGET_DIR)/fuzz/$(FUZZ_HOST)/release
FUZZ_RUSTFLAGS := --cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks

.PHONY: fuzz fuzz-build fuzz-smoke

fuzz-build:
	RUSTFLAGS="$(FUZZ_RUSTFLAGS)" cargo build --release --quiet -p agtrace-fuzz --target $(FUZZ_HOST) \
	  --target-dir $(CARGO_TARGET_DIR)/fuzz

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	  mkdir -p $(AGTRACE_CACHE)/fuzz-corpus/$$t fuzz/corpus/$$t $(CURDIR)/build/fuzz/$$t && \
	  $(FUZZ_BIN)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(CURDIR)/build/fuzz/$$t/ $(AGTRACE_CACHE)/fuzz-corpus/$$t fuzz/corpus/$$t \
	    2> $(CURDIR)/build/fuzz/$$t.log || { tail -n 40 $(CURDIR)/build/fuzz/$$t.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|new_units_added)' $(CURDIR)/build/fuzz/$$t.log; \
	done

# make test's share: 5 s per target, to prove the targets build and run.
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# Python: the wheel maturin builds from bindings/python (pyproject.toml): the
# hand-written package with two build outputs written into it (gitignored) by
# python-extension, the protocol constants (_codes.py, generated from
# core/src/codes.rs) and the C extension that is the span hot path
# (_fastpath.abi3.so, from bindings/python/ext); and, in agtrace/_uniffi/, the
# uniffi-generated module and libagtrace.so. Both are built by zig for glibc
# 2.17 (maturin --zig links libagtrace with it), so the wheel is manylinux2014
# whatever glibc builds it; the extension uses the stable ABI of Python 3.10,
# and `wheel tags` gives the wheel that tag (maturin tags uniffi wheels
# py3-none). Through bindings/python/maturin-cargo/, maturin generates with
# the workspace's release uniffi-bindgen and uniffi.toml. The library keeps
# its symbol table (CARGO_PROFILE_RELEASE_STRIP=false): zig's linker turns
# the release profile's strip=debuginfo into a full strip, and uniffi-bindgen
# reads its metadata from the symbol table.
PY_PKG := bindings/python/python/agtrace
PY_ZIG_TARGET := $(shell uname -m)-linux-gnu.2.17
PY_LIMITED_API := 0x030A0000
PY_TAG := cp310

.PHONY: python-extension

python-extension:
	cargo run --release --quiet -p agtrace-header -- --codes python $(PY_PKG)/_codes.py
	venv=$$(tests/python-env.sh | tail -n 1) && \
	  include=$$("$$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])') && \
	  "$$venv/bin/python" -m ziglang cc -target $(PY_ZIG_TARGET) -shared -fPIC -O2 -std=c11 \
	    -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	    -DPy_LIMITED_API=$(PY_LIMITED_API) -I"$$include" -Iinclude \
	    bindings/python/ext/*.c -o $(PY_PKG)/_fastpath.abi3.so

sdk-python: python-extension
	cargo build --release --quiet -p uniffi-bindgen
	venv=$$(tests/python-env.sh | tail -n 1) && rm -rf $(DIST_PY) && cd bindings/python && \
	  CARGO_PROFILE_RELEASE_STRIP=false PATH=$(CURDIR)/bindings/python/maturin-cargo:$$venv/bin:$$PATH \
	  "$$venv/bin/maturin" build --release --quiet --zig --out $(DIST_PY) && \
	  "$$venv/bin/python" -m wheel tags --remove --python-tag $(PY_TAG) --abi-tag abi3 $(DIST_PY)/agtrace-*.whl \
	    > /dev/null

# Python bindings generated from the library by the workspace uniffi-bindgen,
# with the library and the extension, for working on the Python package
# without a wheel: AGTRACE_PYTHON_NATIVE_DIR=build/uniffi-python (see
# agtrace/_native.py).
UNIFFI_PY := $(CURDIR)/build/uniffi-python

bindings-python: python-extension
	cargo build --release --quiet -p agtrace-ffi
	cargo build --release --quiet -p uniffi-bindgen
	rm -rf $(UNIFFI_PY) && mkdir -p $(UNIFFI_PY)
	$(LIB)/uniffi-bindgen generate --library $(LIB)/libagtrace.so --language python \
	  --config uniffi.toml --out-dir $(UNIFFI_PY) > /dev/null
	cp $(LIB)/libagtrace.so $(PY_PKG)/_fastpath.abi3.so $(UNIFFI_PY)/

# The wheel installed into the test venv, as users install it.
python-installed: sdk-python
	PIP_DISABLE_PIP_VERSION_CHECK=1 "$$(tests/python-env.sh | tail -n 1)/bin/python" -m pip install \
	  --quiet --no-index --no-deps --force-reinstall $(DIST_PY)/agtrace-*.whl

# The fault suite's OTLP receiver (tests/fault/receiver), whose faults the
# tests control; built with the Go module cache, like otlp-sink.
FAULT_RECEIVER := $(AGTRACE_CACHE)/fault-receiver

.PHONY: fault-receiver
fault-receiver:
	cd tests/fault/receiver && GOFLAGS=-mod=mod go build -o $(FAULT_RECEIVER) .

## soak: the fault suite's soak test for 10 minutes (make test runs it for 45 s)
.PHONY: soak
soak: python-installed fault-receiver
	AGTRACE_SOAK_SECONDS=$${AGTRACE_SOAK_SECONDS:-600} AGTRACE_FAULT_RECEIVER_BIN=$(FAULT_RECEIVER) \
	  "$$(tests/python-env.sh | tail -n 1)/bin/python" -m pytest -q -s tests/fault/test_soak.py

# The Python tests run against the installed wheel; the uniffi-layer tests
# load the generated module from the installed package too, so the process
# has one libagtrace. tests/fault runs the Python SDK against
# fault-receiver. Then mypy --strict checks the package.
test-python: test-rust python-installed fault-receiver
	venv=$$(tests/python-env.sh | tail -n 1) && \
	site=$$("$$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])') && \
	AGTRACE_UNIFFI_PYTHON_DIR=$$site/agtrace/_uniffi \
	AGTRACE_DEMO_BIN=$(EXAMPLES)/demo AGTRACE_PROPAGATE_BIN=$(EXAMPLES)/propagate \
	  AGTRACE_SAMPLE_DECISIONS_BIN=$(EXAMPLES)/sample_decisions AGTRACE_FAULT_RECEIVER_BIN=$(FAULT_RECEIVER) \
	  "$$venv/bin/python" -m pytest -q tests && \
	cd bindings/python/python && "$$venv/bin/mypy" --strict --no-incremental agtrace

# Kotlin/JVM: the Maven project in bindings/kotlin. Its pom.xml generates the
# uniffi Kotlin bindings from the built library (generate-sources, with the
# workspace uniffi-bindgen and uniffi.toml) and puts libagtrace.so into the
# jar at JNA's resource path, so no LD_LIBRARY_PATH is needed. Maven's local
# repository is a cache outside the clone; build outputs go to build/kotlin,
# cleaned first because the Kotlin compiler does not remove the classes of
# deleted sources. The cargo builds are separate invocations (see test-rust).
MVN := mvn -q -B -Dstyle.color=never -Dmaven.repo.local=$(AGTRACE_CACHE)/m2 -Dagtrace.lib.dir=$(LIB)
KOTLIN_POM := bindings/kotlin/pom.xml
DIST_KT := $(CURDIR)/dist/kotlin
KT_README := $(CURDIR)/build/kotlin-readme

.PHONY: test-kotlin sdk-kotlin bindings-native test-kotlin-consumer

# The library and the generator every generated binding comes from (two
# cargo invocations, see test-rust).
# agtrace-header writes a binding's copy of the boundary constants (--codes).
bindings-native:
	cargo build --release --quiet -p agtrace-ffi
	cargo build --release --quiet -p uniffi-bindgen
	cargo build --release --quiet -p agtrace-header

# The jar (with libagtrace.so inside) and its pom under dist/kotlin, and
# installed into the cache repository for Maven consumers
# (dev.agtrace:agtrace:$(VERSION)). The test classes are compiled too.
sdk-kotlin: bindings-native
	@v=$$(sed -n 's|^  <version>\(.*\)</version>|\1|p' $(KOTLIN_POM) | head -n 1); test "$$v" = "$(VERSION)" \
	  || (echo "$(KOTLIN_POM) has version $$v, the workspace $(VERSION): update the pom" && exit 1)
	$(MVN) -f $(KOTLIN_POM) -DskipTests clean install
	rm -rf $(DIST_KT) && mkdir -p $(DIST_KT)
	cp $(CURDIR)/build/kotlin/agtrace-$(VERSION).jar $(DIST_KT)/
	cp $(KOTLIN_POM) $(DIST_KT)/agtrace-$(VERSION).pom

## test-kotlin: the Kotlin SDK's JUnit tests (file exporter, coroutines, child JVMs, Phoenix over HTTP and gRPC)
# They run on the classes sdk-kotlin compiled (surefire alone, so Kotlin is
# compiled once per `make test`), with Phoenix started around them.
test-kotlin: sdk-kotlin
	venv=$$(tests/python-env.sh | tail -n 1) && "$$venv/bin/python" tests/phoenix_server.py \
	  $(MVN) -f $(KOTLIN_POM) surefire:test

# The README's Kotlin example, copied from the README into a separate Maven
# project that depends on dev.agtrace:agtrace from the cache repository, run
# in an empty directory with dist/kotlin's jar on a plain class path (no
# LD_LIBRARY_PATH): the jar as users get it. tests/readme_trace.py then
# checks the trace it wrote (the Swift example's too: the same scenario).
KT_CONSUMER := $(CURDIR)/build/kotlin-consumer
KT_RUN_CP = $(DIST_KT)/agtrace-$(VERSION).jar:$(KT_CONSUMER)/consumer-0.jar:$$(cat $(KT_CONSUMER)/classpath.txt)
README_TRACE := python3 tests/readme_trace.py

test-kotlin-consumer: sdk-kotlin
	rm -rf $(KT_README) && mkdir -p $(KT_README)/run
	awk '/^## From Kotlin/{s=1} s&&/^```kotlin/{f=1;next} f&&/^```/{exit} f' README.md > $(KT_README)/Readme.kt
	test -s $(KT_README)/Readme.kt || (echo "README.md: no kotlin block under '## From Kotlin'" && exit 1)
	$(MVN) -f tests/kotlin/consumer/pom.xml clean package
	cd $(KT_README)/run && env -u LD_LIBRARY_PATH java -cp $(KT_RUN_CP) ReadmeKt
	$(README_TRACE) $(KT_README)/run/traces.jsonl

# Swift: bindings/swift/assemble.sh makes a self-contained SwiftPM package
# (hand-written sources, the uniffi-generated Swift, the headers and
# lib/libagtrace.so) wherever it is told; build/swift for the tests (its
# .build is kept between runs), dist/swift for users. SwiftPM runs through
# tests/swift/run.sh: the swift on PATH, else a Debian 13 chroot
# (tests/swift/toolchain.sh).
SWIFT_BUILD := $(CURDIR)/build/swift
DIST_SWIFT := $(CURDIR)/dist/swift
SWIFT_CONSUMER := $(CURDIR)/build/swift-consumer

.PHONY: sdk-swift test-swift test-swift-consumer

sdk-swift: bindings-native
	rm -rf $(DIST_SWIFT)
	bindings/swift/assemble.sh $(DIST_SWIFT)

## test-swift: the Swift SDK's XCTest suite (task locals, child processes, Phoenix over HTTP and gRPC)
test-swift: bindings-native
	bindings/swift/assemble.sh $(SWIFT_BUILD)
	tests/swift/run.sh $(SWIFT_BUILD) swift build --build-tests
	venv=$$(tests/python-env.sh | tail -n 1) && "$$venv/bin/python" tests/phoenix_server.py \
	  tests/swift/run.sh $(SWIFT_BUILD) swift test --skip-build

# The README's Swift example, copied from the README into a separate package
# that depends on dist/swift by path, run in an empty directory (with the
# toolchain it was built with); tests/readme_trace.py then checks its trace. SwiftPM's build directory is kept between runs.
test-swift-consumer: sdk-swift
	mkdir -p $(SWIFT_CONSUMER)/Sources/Readme $(SWIFT_CONSUMER)/run
	cp tests/swift/consumer/Package.swift $(SWIFT_CONSUMER)/
	awk '/^## From Swift/{s=1} s&&/^```swift/{f=1;next} f&&/^```/{exit} f' README.md > $(SWIFT_CONSUMER)/Sources/Readme/main.swift
	test -s $(SWIFT_CONSUMER)/Sources/Readme/main.swift || (echo "README.md: no swift block under '## From Swift'" && exit 1)
	rm -f $(SWIFT_CONSUMER)/run/traces.jsonl
	AGTRACE_SWIFT_PACKAGE=$(DIST_SWIFT) tests/swift/run.sh $(SWIFT_CONSUMER) swift build
	tests/swift/run.sh $(SWIFT_CONSUMER)/run env -u LD_LIBRARY_PATH $(SWIFT_CONSUMER)/.build/debug/Readme
	$(README_TRACE) $(SWIFT_CONSUMER)/run/traces.jsonl

## bench: every benchmark beside its peer, one table in bench/RESULTS.md (bench/run.py)
# bench-smoke runs them briefly into build/bench-smoke.md, to prove they
# work (make test does); its numbers mean nothing. Prerequisites are built
# first so that no build is timed. The profile (bench/profile.sh: perf,
# installed when missing) runs in the full run only, so make test needs
# neither perf nor the permission to record.
KT_BENCH := $(CURDIR)/build/kotlin-bench
OTLP_SINK := $(AGTRACE_CACHE)/otlp-sink
BENCH_C := $(AGTRACE_CACHE)/bench-c
BENCH_CMDS = \
  'cargo bench --quiet -p agtrace-core --bench span' \
  'AGTRACE_OTLP_SINK=$(OTLP_SINK) cargo bench --quiet -p agtrace-core --bench pipeline' \
  'cargo bench --quiet -p agtrace-core --bench collector' \
  'cargo bench --quiet -p agtrace-core --bench redact' \
  'cargo bench --quiet -p agtrace-ffi --bench abi' \
  '$(BENCH_C) $(if $(SMOKE),20000,200000)' \
  '$(BENCH_PY) bench/python/bench_span.py' \
  'java -cp $(DIST_KT)/agtrace-$(VERSION).jar:$(KT_BENCH)/bench-kotlin-0.jar:$$(cat $(KT_BENCH)/classpath.txt) bench.SpanCostKt' \
  'tests/swift/run.sh $(SWIFT_BUILD) .build/$(SWIFT_CONF)/AgtraceBench' \
  $(if $(SMOKE),,'bench/profile.sh')
# The smoke run uses the debug build the Swift tests made; the real one a release build.
SWIFT_CONF = $(if $(SMOKE),debug,release)
BENCH_PY = $$(tests/python-env.sh | tail -n 1)/bin/python

.PHONY: bench bench-smoke bench-build

bench: bench-build
	$(BENCH_PY) bench/run.py --out bench/RESULTS.md -- $(BENCH_CMDS)

bench-smoke: SMOKE := 1
bench-smoke: bench-build
	$(BENCH_PY) bench/run.py --smoke --out $(CURDIR)/build/bench-smoke.md -- $(BENCH_CMDS)

bench-build: sdk-c python-installed sdk-kotlin
	cargo bench --quiet --no-run -p agtrace-core --bench span --bench pipeline --bench collector \
	  --bench span_loop --bench redact
	cargo bench --quiet --no-run -p agtrace-ffi --bench abi
	cd bench/otlp-sink && GOFLAGS=-mod=mod go build -o $(OTLP_SINK) .
	gcc -std=c99 -O2 bench/c/bench.c -I$(DIST_C)/include -L$(DIST_C)/lib -lagtrace -Wl,-rpath,$(DIST_C)/lib -o $(BENCH_C)
	$(MVN) -f bench/kotlin/pom.xml clean package
	bindings/swift/assemble.sh $(SWIFT_BUILD)
	tests/swift/run.sh $(SWIFT_BUILD) swift build -c $(SWIFT_CONF) --product AgtraceBench
