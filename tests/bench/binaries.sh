#!/usr/bin/env bash
# What the edge binaries cost, at two revisions side by side: the cold release build time of
# pier-proxy, then of pier-builder on top of it, and both binaries' stripped and gzip -9 sizes.
# Issue 19's before/after (90b5b2c → c080206) was measured with it: 858 s → 315 s for the
# proxy's cold build, 18.7 → 17.5 MB stripped.
#
#   bash tests/bench/binaries.sh [BEFORE_REV [AFTER_REV]]    (defaults: HEAD~1 HEAD)
#
# This is a benchmark, not a test: it prints figures and exits 0 unless a step failed. Each
# revision is checked out into a temporary worktree and built into its own empty target
# directory, so both builds are cold (crates already downloaded are reused). Set
# BENCH_PROFILE to measure another cargo profile than `release`. Takes 10–30 minutes on 2
# cores; run it on a quiet machine, as other work moves the build times.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BEFORE=${1:-HEAD~1}
AFTER=${2:-HEAD}
PROFILE=${BENCH_PROFILE:-release}

log() { printf '[binaries-bench %4ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
for tool in git cargo strip gzip; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
git -C "$REPO" rev-parse --verify -q "$BEFORE^{commit}" >/dev/null || die "no revision $BEFORE"
git -C "$REPO" rev-parse --verify -q "$AFTER^{commit}" >/dev/null || die "no revision $AFTER"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pier-binaries-bench.XXXXXX")
cleanup() {
    for side in before after; do
        git -C "$REPO" worktree remove --force "$TMP/$side" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

declare -A BUILD SIZE GZ
for side in before after; do
    rev=$BEFORE
    [[ $side == after ]] && rev=$AFTER
    git -C "$REPO" worktree add -q --detach "$TMP/$side" "$rev"
    (cd "$TMP/$side" && cargo fetch -q) || die "cargo fetch failed at $rev"
    for bin in pier-proxy pier-builder; do
        log "$side ($rev): cargo build --profile $PROFILE -p $bin"
        start=$(date +%s.%N)
        (cd "$TMP/$side" && CARGO_TARGET_DIR="$TMP/target-$side" cargo build -q --profile "$PROFILE" -p "$bin") ||
            die "the build of $bin failed at $rev"
        BUILD[$side/$bin]=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
        out_dir=$PROFILE
        [[ $PROFILE == dev ]] && out_dir=debug
        cp "$TMP/target-$side/$out_dir/$bin" "$TMP/$bin-$side"
        strip "$TMP/$bin-$side"
        SIZE[$side/$bin]=$(stat -c %s "$TMP/$bin-$side")
        GZ[$side/$bin]=$(gzip -9 -c "$TMP/$bin-$side" | wc -c)
    done
done

echo
echo "Cold builds (profile $PROFILE) and stripped binaries, $BEFORE → $AFTER, on $(nproc) cores:"
printf '%-14s %22s %22s %22s\n' binary "build s (after ÷ before)" "stripped bytes" "gzip -9 bytes"
for bin in pier-proxy pier-builder; do
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }
    printf '%-14s %10s → %-5s %4s× %10s → %-10s %10s → %-10s\n' "$bin" \
        "${BUILD[before/$bin]}" "${BUILD[after/$bin]}" "$(ratio "${BUILD[before/$bin]}" "${BUILD[after/$bin]}")" \
        "${SIZE[before/$bin]}" "${SIZE[after/$bin]}" "${GZ[before/$bin]}" "${GZ[after/$bin]}"
done
echo "pier-builder's build time is on top of pier-proxy's (shared crates already built)."
