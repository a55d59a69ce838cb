#!/usr/bin/env bash
# Runs cgcal's fuzz targets (fuzz/, cargo-fuzz + libFuzzer), one at a time,
# each for SECONDS (default 600), single process, and prints what each did.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: trace_reader csv_import stats_json cli_values
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer=address); the stable
# toolchain accepts them with RUSTC_BOOTSTRAP=1, which is how this runs here
# (no other toolchain can be fetched). Needs `cargo install cargo-fuzz`.
# The build is the cargo-fuzz default: release, debug assertions and overflow
# checks on, AddressSanitizer.
#
# Inputs: fuzz/corpus/TARGET (the committed seeds, never written) and
# fuzz/work/TARGET (the growing working corpus, kept between runs, ignored
# by git). Findings land in fuzz/artifacts/TARGET/ and make the script exit 1;
# logs in fuzz/logs/TARGET.log. A finding becomes a regression test next to
# the code it hits (see docs/security.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(trace_reader csv_import stats_json cli_values)
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "fuzz.sh: cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 2; }

cargo fuzz build
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "work/$t" "artifacts/$t" logs
  echo "== $t: ${SECONDS_EACH}s"
  if ! cargo fuzz run "$t" "work/$t" "corpus/$t" -- \
      -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
      >"logs/$t.log" 2>&1; then
    echo "!! $t: finding, see fuzz/logs/$t.log and fuzz/artifacts/$t/"
    status=1
  fi
  # The last status line (execs, coverage, features, corpus) and the totals.
  grep -E '^#[0-9]+' "logs/$t.log" | tail -1 || true
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs' "logs/$t.log" || true
done
exit $status
