#!/usr/bin/env bash
# tests/v2vm/run.sh: cgcal's cgroup v2 live scenarios in a throwaway VM.
#
# Usage: tests/v2vm/run.sh [--list | --boot-only] [SCENARIO | GROUP | all]...
#   (default: $CGCAL_V2VM_SCENARIOS, else the driver's default scenarios;
#    `--list` prints every scenario, its group and whether it runs by default;
#    `--boot-only` boots the VM and runs only the driver's --list inside it:
#    the fixed cost of a run, the baseline of BENCHMARKS.md)
#
# What it does, in order (see docs/operations.md, "cgroup v2 VM scenarios"):
#  1. checks for qemu-system-x86_64, cpio and a static busybox; when one is
#     missing and we are root with apt-get, installs qemu-system-x86,
#     busybox-static and cpio (--no-install-recommends);
#  2. fetches the Debian (or Ubuntu) kernel package with `apt-get download`
#     into the cache and keeps its decompressed vmlinux (PVH boot, about 6 s
#     faster under TCG than the xz bzImage); later runs reuse it;
#  3. builds static binaries of cgrec, cgact, cgcal-hog and the scenario
#     driver cgcal-v2-scenarios (gnu target, -C target-feature=+crt-static,
#     no debuginfo: a 35 MB initramfs instead of 170 MB; own --target-dir
#     target/v2vm so the normal target/ stays valid);
#  4. packs them with busybox into an initramfs whose init mounts cgroup2 at
#     /sys/fs/cgroup and writes +memory to the root's cgroup.subtree_control;
#  5. boots it under qemu with TCG (1 vCPU, 512M, no network, no disk) and
#     streams the driver's output: one `v2vm: PASS NAME (S s)` or
#     `v2vm: FAIL NAME (S s): WHY` line per scenario;
#  6. ends with one line `v2vm: PASS (exit 0): ...` or `v2vm: FAIL (exit N): ...`
#     and exits N: 0 all passed, 1 a scenario failed, 2 usage error,
#     124 VM timeout, 125 harness failure (could not build, fetch or boot).
#
# Environment:
#   CGCAL_V2VM_CACHE    kernel/busybox cache (default: target/v2vm/cache)
#   CGCAL_V2VM_KERNEL   boot this kernel instead (vmlinux with PVH note, or bzImage)
#   CGCAL_V2VM_SCENARIOS  scenarios run when none is named (space-separated)
#   CGCAL_V2VM_TIMEOUT  seconds for the whole VM run (default 600)
#   CGCAL_V2VM_MEM      guest RAM (default 512M)
#   CGCAL_V2VM_VERBOSE=1  stream the guest console (kernel log, OOM reports) to stderr
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
TARGET_DIR=$REPO/target/v2vm
CACHE=${CGCAL_V2VM_CACHE:-$TARGET_DIR/cache}
MEM=${CGCAL_V2VM_MEM:-512M}
TIMEOUT=${CGCAL_V2VM_TIMEOUT:-600}
T0=$(date +%s.%N)

say() { echo "v2vm: $*"; }
fail() { # fail CODE WHY: the final FAIL line, then exit CODE
  say "FAIL (exit $1): $2"
  exit "$1"
}
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

SCENARIOS=() LIST=0 BOOT_ONLY=0
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    --list) LIST=1 ;;
    --boot-only) BOOT_ONLY=1 ;;
    -*) fail 2 "unknown option $a (see --help)" ;;
    *) SCENARIOS+=("$a") ;;
  esac
done
if [ "$BOOT_ONLY" = 1 ]; then
  [ ${#SCENARIOS[@]} -eq 0 ] || fail 2 "--boot-only runs no scenario: drop ${SCENARIOS[*]}"
  SCENARIOS=(--list)
elif [ ${#SCENARIOS[@]} -eq 0 ] && [ -n "${CGCAL_V2VM_SCENARIOS:-}" ]; then
  read -r -a SCENARIOS <<< "$CGCAL_V2VM_SCENARIOS"
fi

# ------------------------------------------------------------ 1. packages
static_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox "$CACHE/busybox"; do
    if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
  done
  return 1
}
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
static_busybox >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || fail 125 "apt-get install ${missing[*]} failed"
  else
    fail 125 "missing ${missing[*]}: install them (apt-get install --no-install-recommends ${missing[*]}) or run as root"
  fi
fi
BUSYBOX=$(static_busybox) || fail 125 "no static busybox after installing busybox-static"
mkdir -p "$CACHE"

# ------------------------------------------------------------ 2. kernel
apt_download() { # apt_download PKG: into the current directory, refreshing the lists once if needed
  apt-get download -q "$1" >&2 && return 0
  [ "$(id -u)" = 0 ] || return 1
  apt-get update -qq >&2 && apt-get download -q "$1" >&2
}
fetch_kernel() {
  command -v apt-get >/dev/null || return 1
  local d meta dep
  d=$(mktemp -d "$CACHE/kfetch.XXXXXX")
  ( cd "$d"
    for meta in linux-image-amd64 linux-image-virtual linux-image-generic; do   # Debian, Ubuntu
      apt_download "$meta" 2>/dev/null && break
    done
    ls "$meta"_*.deb >/dev/null 2>&1 || exit 1
    dep=$(dpkg-deb -f "$meta"_*.deb Depends | grep -o 'linux-image-[0-9][^ ,|]*' | head -n1)
    [ -n "$dep" ] || exit 1
    apt_download "$dep"
    dpkg-deb -x "$dep"_*.deb x
    cp x/boot/config-* "$CACHE/config" 2>/dev/null || true
    cp x/boot/vmlinuz-* "$CACHE/vmlinuz.tmp" && mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
    echo "$dep" > "$CACHE/kernel-version" )
  local rc=$?
  rm -rf "$d"
  return $rc
}
# The compressed kernel inside the bzImage, decompressed: an ELF vmlinux
# that qemu boots through its PVH entry (needs CONFIG_PVH=y).
make_vmlinux() {
  command -v python3 >/dev/null && grep -q '^CONFIG_PVH=y' "$CACHE/config" 2>/dev/null || return 1
  python3 - "$CACHE/vmlinuz" "$CACHE/vmlinux.tmp" <<'EOF' || return 1
import lzma, zlib, sys
d = open(sys.argv[1], 'rb').read()
def xz(b): return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(b)
def gz(b): return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b)
for magic, fn in ((b'\xfd7zXZ\x00', xz), (b'\x1f\x8b\x08\x00', gz)):
    off = d.find(magic)
    while off >= 0:
        try:
            out = fn(d[off:])
            if out[:4] == b'\x7fELF':
                open(sys.argv[2], 'wb').write(out)
                sys.exit(0)
        except Exception:
            pass
        off = d.find(magic, off + 1)
sys.exit(1)
EOF
  mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
}
if [ -n "${CGCAL_V2VM_KERNEL:-}" ]; then
  KERNEL=$CGCAL_V2VM_KERNEL
else
  if [ ! -s "$CACHE/vmlinuz" ]; then
    say "fetching a kernel with apt-get download into $CACHE"
    fetch_kernel || fail 125 "could not fetch a kernel with apt-get download; set CGCAL_V2VM_KERNEL"
  fi
  [ -s "$CACHE/vmlinux" ] || make_vmlinux || true
  if [ -s "$CACHE/vmlinux" ]; then KERNEL=$CACHE/vmlinux; else KERNEL=$CACHE/vmlinuz; fi
fi
[ -s "$KERNEL" ] || fail 125 "kernel not found: $KERNEL"

# ------------------------------------------------------------ 3. static binaries
HOST=$(rustc -vV | sed -n 's/^host: //p')
case "$HOST" in
  x86_64-*-linux-gnu) ;;
  *) fail 125 "the VM runs x86_64 binaries: host $HOST is not x86_64-*-linux-gnu" ;;
esac
say "building static binaries into $TARGET_DIR"
BIN_PKGS=(-p cgrec -p cgact -p cgcal-testkit -p cgcal-v2vm)
BINS=(cgrec cgact cgcal-hog cgcal-v2-scenarios)
( cd "$REPO" && RUSTFLAGS="-C target-feature=+crt-static -C debuginfo=0 -C strip=debuginfo" cargo build --locked --quiet \
    --target "$HOST" --target-dir "$TARGET_DIR" "${BIN_PKGS[@]}" --bins ) >&2 \
  || fail 125 "cargo build of the static binaries failed (see above)"
OUT_DIR=$TARGET_DIR/$HOST/debug
if [ "$LIST" = 1 ]; then exec "$OUT_DIR/cgcal-v2-scenarios" --list; fi

# ------------------------------------------------------------ 4. initramfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgcal-v2vm.XXXXXX")
PIDS=()
cleanup() {
  local p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
R=$WORK/root
mkdir -p "$R"/bin "$R"/dev "$R"/proc "$R"/sys "$R"/tmp "$R"/run "$R"/etc "$R"/v2vm/bin
cp "$BUSYBOX" "$R/bin/busybox"
for b in "${BINS[@]}"; do
  install -m 755 "$OUT_DIR/$b" "$R/v2vm/bin/$b"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
{
  printf 'set --'
  for a in ${SCENARIOS[@]+"${SCENARIOS[@]}"}; do printf " '%s'" "${a//\'/}"; done
  printf '\n'
} > "$R/v2vm/args.sh"
cat > "$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/v2vm/bin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "v2vm-init: cgroup2 mount failed"
echo +memory > /sys/fs/cgroup/cgroup.subtree_control || echo "v2vm-init: cannot enable +memory"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
stty -F /dev/ttyS2 raw -echo 2>/dev/null
echo "v2vm: kernel $(uname -r), booted in $(cut -d' ' -f1 /proc/uptime) s, root subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)" > /dev/ttyS1
. /v2vm/args.sh
cd /tmp
cgcal-v2-scenarios "$@" </dev/null >/dev/ttyS1 2>&1
RC=$?
kill -9 -1 2>/dev/null; sleep 0.1
: > /dev/ttyS1
echo "V2VM_EXIT=$RC" > /dev/ttyS2
sync
poweroff -f
EOF
chmod 755 "$R/init"
( cd "$R" && find . | cpio -o -H newc --quiet ) | gzip -1 > "$WORK/initrd.gz"

# ------------------------------------------------------------ 5. boot
CONSOLE=$WORK/console.log
if [ "${CGCAL_V2VM_VERBOSE:-0}" = 1 ]; then
  mkfifo "$WORK/con.fifo"
  tee "$CONSOLE" < "$WORK/con.fifo" >&2 & PIDS+=($!)
  CON="file,id=con,path=$WORK/con.fifo"
else
  CON="file,id=con,path=$CONSOLE"
fi
mkfifo "$WORK/out.fifo"
tee "$WORK/out.log" < "$WORK/out.fifo" & TEEPID=$!; PIDS+=($TEEPID)
say "booting $(cat "$CACHE/kernel-version" 2>/dev/null || basename "$KERNEL") under qemu (TCG, $MEM) for: ${SCENARIOS[*]:-the default scenarios}"
set +e
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -smp 1 -m "$MEM" \
  -nodefaults -no-user-config -display none -no-reboot \
  -chardev "$CON" -serial chardev:con \
  -chardev file,id=out,path="$WORK/out.fifo" -serial chardev:out \
  -chardev file,id=st,path="$WORK/status" -serial chardev:st \
  -kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off psi=1" \
  </dev/null >"$WORK/qemu.log" 2>&1
QRC=$?
set -e
exec 4<>"$WORK/out.fifo"; exec 4>&-   # unblocks tee if qemu never opened the FIFO
wait "$TEEPID" 2>/dev/null || true

# ------------------------------------------------------------ 6. verdict
RC=$(tr -d '\r' < "$WORK/status" 2>/dev/null | sed -n 's/^V2VM_EXIT=\([0-9]*\).*/\1/p' | tail -n1)
OUT=$(tr -d '\r' < "$WORK/out.log")
PASSED=$(grep -c '^v2vm: PASS ' <<< "$OUT" || true)
FAILED=$(grep -c '^v2vm: FAIL ' <<< "$OUT" || true)
if [ -z "$RC" ]; then
  if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then RC=124; WHY="VM timed out after ${TIMEOUT}s"
  else RC=125; WHY="VM ended (qemu exit $QRC) without reporting the driver's status"; fi
elif [ "$BOOT_ONLY" = 1 ] && [ "$RC" = 0 ]; then WHY="booted, ran the driver's --list, powered off"
elif [ "$RC" = 0 ]; then WHY="$PASSED scenario(s) passed"
else WHY="$FAILED scenario(s) failed, $PASSED passed"; fi
if [ "$RC" != 0 ] && [ "${CGCAL_V2VM_VERBOSE:-0}" != 1 ]; then
  echo "---- qemu:" >&2; tail -n 20 "$WORK/qemu.log" >&2 || true
  echo "---- guest console (last 60 lines):" >&2; tr -d '\r' < "$CONSOLE" | tail -n 60 >&2 || true
fi
if [ "$RC" = 0 ]; then
  say "PASS (exit 0): $WHY in $(elapsed) s"
else
  say "FAIL (exit $RC): $WHY in $(elapsed) s"
fi
exit "$RC"
