#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 600), one at a time, at the
# lowest CPU priority, and prints a summary line per target. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`).
#
# Usage: bench/fuzz.sh [seconds-per-target] [target...]
#   With no targets, all of them: smtp_session mime_parse template_render sse_parse dsn_parse
#   address_parse. Corpora live in fuzz/corpus/<target> (kept between runs), crashes in
#   fuzz/artifacts/<target>. A target that crashes stops there; the script goes on with the
#   next one and exits 1 at the end.
#
# The targets are built with `-s none` (no AddressSanitizer: every Mailroom crate forbids
# unsafe code, so what fuzzing hunts here is panics, overflows — debug assertions are on —
# hangs and runaway memory) and `-a` (debug assertions).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(smtp_session mime_parse template_render sse_parse dsn_parse address_parse)
fi

command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1; }
rustup toolchain list | grep -q nightly || { echo "fuzz.sh: the nightly toolchain is missing: rustup toolchain install nightly" >&2; exit 1; }

cd "$ROOT/fuzz"
nice -n 19 cargo +nightly fuzz build -s none -a || exit 1

failed=0
for target in "${TARGETS[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/last-run.log"
  start=$(date +%s)
  # -rss_limit_mb: a runaway allocation is a finding; -timeout: so is a hang.
  nice -n 19 cargo +nightly fuzz run -s none -a "$target" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$log" 2>&1
  status=$?
  took=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  if [ $status -eq 0 ]; then
    echo "$target: ok, ${took}s, ${execs:-?} runs, coverage ${cov:-?}"
  else
    failed=1
    echo "$target: FAILED after ${took}s (exit $status); see fuzz/$log and fuzz/artifacts/$target/"
    grep -m3 -E 'panicked|ERROR|SUMMARY' "$log" | sed 's/^/    /'
  fi
done
exit $failed
