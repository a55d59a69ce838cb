#!/usr/bin/env bash
# Records traces/sample-live.bin on this machine: five cgroups of real
# processes (cgcal-hog and a page-cache reader) under a parent
# /sys/fs/cgroup/memory/cgcal-sample, 1 s interval, 3 minutes, with one
# cgroup that grows past its limit, is OOM-killed and restarted, while the
# others leave headroom. Needs root and the cgroup v1 memory controller.
#
#   scripts/record-sample.sh [OUT] [DURATION]   (defaults: traces/sample-live.bin 3m)
#
# Every cgroup it creates is removed on exit, Ctrl-C and SIGTERM included.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-traces/sample-live.bin}
DURATION=${2:-3m}
ROOT=/sys/fs/cgroup/memory
P=$ROOT/cgcal-sample
MIB=$((1 << 20))
CACHE_FILE=$(mktemp /tmp/cgcal-sample-cache.XXXXXX)
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -d "$P" ]; then
    for _ in $(seq 50); do
      procs=$(cat "$P"/cgroup.procs "$P"/*/cgroup.procs 2>/dev/null || true)
      [ -z "$procs" ] && break
      kill -9 $procs 2>/dev/null || true
      sleep 0.1
    done
    for d in "$P"/*/; do [ -d "$d" ] && rmdir "$d" 2>/dev/null || true; done
    rmdir "$P" 2>/dev/null || echo "record-sample: cannot remove $P" >&2
  fi
  rm -f "$CACHE_FILE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f "$ROOT/memory.limit_in_bytes" ] || { echo "record-sample: no cgroup v1 memory hierarchy at $ROOT" >&2; exit 1; }
[ -e "$P" ] && { echo "record-sample: $P exists (another run?); remove it first" >&2; exit 1; }

cargo build --release -p cgrec -p cgcal-testkit --bins
BIN=target/release
HOG=$BIN/cgcal-hog

mkdir "$P"
echo $((768 * MIB)) > "$P/memory.limit_in_bytes"
make_cgroup() { mkdir "$P/$1"; echo $(($2 * MIB)) > "$P/$1/memory.limit_in_bytes"; }
make_cgroup web 256     # steady, with a slow sawtooth: plenty of headroom
make_cgroup batch 192   # jobs ramping up to 120 MiB, then idle
make_cgroup leaky 96    # grows 4 MiB/s until killed at its limit, restarted after 3 s
make_cgroup cache 160   # anonymous 24 MiB plus 64 MiB of page cache re-read
make_cgroup idle 64     # 8 MiB, untouched

# Each workload is a shell loop run in the background, its processes in the cgroup.
loop_in() { ( while :; do "$@" >/dev/null 2>&1 || true; done ) & pids+=($!); }
loop_in "$HOG" --cgroup "$P/web" --mib 96 --step-mib 8 --step-ms 2000 --hold-ms 30000
loop_in sh -c "$HOG --cgroup $P/batch --mib 120 --step-mib 10 --step-ms 500 --hold-ms 15000; sleep 10"
loop_in sh -c "$HOG --cgroup $P/leaky --mib 400 --step-mib 4 --step-ms 1000; sleep 3"
"$HOG" --cgroup "$P/idle" --mib 8 >/dev/null & pids+=($!)
"$HOG" --cgroup "$P/cache" --mib 24 >/dev/null & pids+=($!)
# The file is written from inside the cgroup, so its page cache is charged there.
sh -c "echo \$\$ > $P/cache/cgroup.procs; dd if=/dev/urandom of=$CACHE_FILE bs=1M count=64 status=none; while :; do cat $CACHE_FILE > /dev/null; sleep 7; done" & pids+=($!)
sleep 2

mkdir -p "$(dirname "$OUT")"
"$BIN/cgrec" -v record --root "$P" --interval 1s --stat-interval 5s --duration "$DURATION" -o "$OUT"
"$BIN/cgrec" inspect "$OUT"
