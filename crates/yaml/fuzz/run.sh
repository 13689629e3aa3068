#!/bin/sh
# Runs a fuzz target of this crate (or of ../../kustomize/fuzz with FUZZ_DIR) on the stable
# toolchain without cargo-fuzz: libFuzzer coverage flags by hand, RUSTC_BOOTSTRAP for --cfg use.
# Usage: crates/yaml/fuzz/run.sh TARGET SECONDS [libFuzzer args...]   e.g. run.sh parse_emit 600
set -eu
cd "${FUZZ_DIR:-$(dirname "$0")}"
t=$1; secs=$2; shift 2
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --target x86_64-unknown-linux-gnu --bin "$t"
mkdir -p "corpus/$t" "artifacts/$t"
exec "target/x86_64-unknown-linux-gnu/release/$t" "corpus/$t" -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="artifacts/$t/" -print_final_stats=1 "$@"
