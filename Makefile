# One entry point per job. Build outputs and tool caches live outside the
# clone (AGTRACE_CACHE), so repeated runs and CI reuse them.
AGTRACE_CACHE ?= $(HOME)/.cache/agtrace
CARGO_TARGET_DIR ?= $(AGTRACE_CACHE)/target
export AGTRACE_CACHE CARGO_TARGET_DIR

EXAMPLES := $(CARGO_TARGET_DIR)/release/examples

.PHONY: demo test lint test-rust test-python bench

## demo: run the demo agent, traced to the console and agtrace-demo.jsonl
demo:
	cargo run --release --quiet -p agtrace-core --example demo

## test: every test (formatting, lints, Rust, Python end-to-end)
test: lint test-rust test-python

lint:
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets --quiet -- -D warnings

# `cargo test` also builds the examples the Python tests drive.
test-rust:
	cargo test --release --workspace

test-python: test-rust
	venv=$$(tests/python-env.sh | tail -n 1) && \
	AGTRACE_DEMO_BIN=$(EXAMPLES)/demo AGTRACE_PROPAGATE_BIN=$(EXAMPLES)/propagate \
	  AGTRACE_SAMPLE_DECISIONS_BIN=$(EXAMPLES)/sample_decisions \
	  "$$venv/bin/python" -m pytest -q tests

## bench: span start+end beside opentelemetry_sdk, same run
bench:
	cargo bench -p agtrace-core --bench span
