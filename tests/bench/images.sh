#!/usr/bin/env bash
# Image benchmark: builds the proxy and builder images from edge-profile binaries (what releases
# ship) and prints, in a
# table, each image's size (uncompressed, and gzip -9 per layer as a registry stores it; in
# total and for Pier's own layers on top of the base) and how fast the proxy container
# serves: from `docker run` to its first 200 response, beside the same binary started
# without a container. Also the builder container's `docker run` → exit of `--version`.
#
#   bash tests/bench/images.sh
#
# This is a benchmark, not a test: it prints figures and exits 0 unless a step failed.
#
# - Binaries: `cargo build --profile edge -p pier-proxy -p pier-builder` and `--release -p
#   pier-cli` (respects CARGO_TARGET_DIR), then stripped into the images (PIER_IMAGES_STRIP=all).
#   To use binaries built already, set BENCH_SKIP_BUILD=1 and/or PIER_PROXY_BIN, PIER_BUILDER_BIN
#   (default $target/edge/pier-proxy, …/pier-builder) and PIER_BIN (`pier`, only to deploy the
#   site; release, else debug).
# - Images: tests/containers/images.sh, tagged pier-proxy:bench and pier-builder:bench, on the
#   stand-in bases (tests/containers/bases.sh) unless PIER_IMAGES_STAND_INS=0. The stand-ins
#   are not the real bases (gcr.io/distroless/cc-debian12, node:20-bookworm-slim), so only
#   the "own layers" columns carry over to the published images.
# - Site: one index.html deployed by `pier --store DIR deploy SITE --project bench --prod`
#   into a fresh folder store, so it is served at bench.localhost. The store is mounted into
#   the container readable by its user (65532), and its .tmp folder writable: pier-proxy
#   opens a folder store as a writer would (it creates .tmp), so a read-only mount or a
#   store it cannot write fails with "cannot read the store".
# - Start-up: the proxy runs with --network host on free loopback ports, polled with curl
#   every 10 ms; BENCH_RUNS (5) runs, median and best. Also the stand-alone binary, same way.
# - Engine: tests/containers/engine.sh (reused if one answers; stopped at the end only if
#   this script started it). With the vfs storage driver, every container start copies the
#   whole image, which is what the builder row mostly measures.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNS=${BENCH_RUNS:-5}
PROXY_IMAGE=${PIER_PROXY_IMAGE:-pier-proxy:bench}
BUILDER_IMAGE=${PIER_BUILDER_IMAGE:-pier-builder:bench}

log() { printf '[images-bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
for tool in curl python3 gzip tar; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# ---------------------------------------------------------------------------------------
# 1. Binaries.
# ---------------------------------------------------------------------------------------
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
# The images carry what releases ship: the `edge` profile (Cargo.toml).
PROXY_BIN=${PIER_PROXY_BIN:-$TARGET/edge/pier-proxy}
BUILDER_BIN=${PIER_BUILDER_BIN:-$TARGET/edge/pier-builder}
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --profile edge -p pier-proxy -p pier-builder; cargo build --release -p pier-cli"
  (cd "$REPO" && cargo build --profile edge -q -p pier-proxy -p pier-builder &&
    cargo build --release -q -p pier-cli) >&2
fi
if [[ -z ${PIER_BIN:-} ]]; then
  PIER_BIN=$TARGET/release/pier
  [[ -x $PIER_BIN ]] || PIER_BIN=$TARGET/debug/pier
fi
for bin in "$PROXY_BIN" "$BUILDER_BIN" "$PIER_BIN"; do
  [[ -x $bin ]] || die "no binary at $bin"
done

# ---------------------------------------------------------------------------------------
# 2. Engine, temp dir, cleanup.
# ---------------------------------------------------------------------------------------
source "$REPO/tests/containers/engine.sh"
DOCKER=$PIER_DOCKER
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pier-images-bench.XXXXXX")
CONTAINERS=()
PIDS=()
cleanup() {
  local status=$?
  for c in "${CONTAINERS[@]}"; do
    "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true
  done
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
  pier_engine_stop_if_started || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export PIER_CONFIG=$TMP/pier-config.toml
unset PIER_STORE PIER_BASE_URL

# ---------------------------------------------------------------------------------------
# 3. Images.
# ---------------------------------------------------------------------------------------
start=$SECONDS
PIER_IMAGES_STRIP=all PIER_PROXY_IMAGE=$PROXY_IMAGE PIER_BUILDER_IMAGE=$BUILDER_IMAGE \
  bash "$REPO/tests/containers/images.sh" "$PROXY_BIN" "$BUILDER_BIN" >/dev/null
log "images built in $((SECONDS - start)) s"

# The bases, to tell their layers from Pier's own.
if [[ ${PIER_IMAGES_STAND_INS:-1} == 1 ]]; then
  { read -r PROXY_BASE; read -r BUILDER_BASE; } < <(bash "$REPO/tests/containers/bases.sh" 2>/dev/null)
else
  PROXY_BASE=gcr.io/distroless/cc-debian12:nonroot
  BUILDER_BASE=node:20-bookworm-slim
fi

# sizes IMAGE BASE: prints "total_bytes total_gzip own_bytes own_gzip layers own_layers", where
# "own" are the layers on top of BASE's.
sizes() {
  local image=$1 base_layers dir=$TMP/save
  base_layers=$("$DOCKER" image inspect --format '{{ len .RootFS.Layers }}' "$2")
  rm -rf "$dir"
  mkdir -p "$dir"
  "$DOCKER" save "$image" | tar -x -C "$dir"
  python3 - "$dir" "$base_layers" <<'EOF'
import json, os, sys, zlib
d, own_from = sys.argv[1], int(sys.argv[2])
layers = json.load(open(os.path.join(d, "manifest.json")))[0]["Layers"]
total = total_gz = own = own_gz = 0
for i, layer in enumerate(layers):
    path = os.path.join(d, layer)
    size = os.path.getsize(path)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip -9
    gz = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            gz += len(z.compress(chunk))
    gz += len(z.flush())
    total += size
    total_gz += gz
    if i >= own_from:
        own += size
        own_gz += gz
print(total, total_gz, own, own_gz, len(layers), len(layers) - own_from)
EOF
  rm -rf "$dir"
}

# ---------------------------------------------------------------------------------------
# 4. Site and store.
# ---------------------------------------------------------------------------------------
SITE=$TMP/site
STORE=$TMP/store
mkdir -p "$SITE"
printf '<!doctype html><title>bench</title><p>Pier image benchmark.</p>\n' >"$SITE/index.html"
"$PIER_BIN" --store "$STORE" deploy "$SITE" --project bench --prod --json >"$TMP/deploy.json" 2>"$TMP/deploy.err" ||
  die "pier deploy failed: $(cat "$TMP/deploy.err")"
chmod -R a+rX "$TMP"
mkdir -p "$STORE/.tmp"
chmod 1777 "$STORE/.tmp"

free_ports() {
  python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks: s.close()'
}

now_ns() { date +%s%N; }

# wait_200 PORT START_NS: prints the milliseconds from START_NS to the first 200.
wait_200() {
  local port=$1 t0=$2 i code
  for i in $(seq 1 3000); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H 'Host: bench.localhost' "http://127.0.0.1:$port/" || true)
    if [[ $code == 200 ]]; then
      echo $((($(now_ns) - t0) / 1000000))
      return 0
    fi
    sleep 0.01
  done
  return 1
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# ---------------------------------------------------------------------------------------
# 5. Start-up: container, then the bare binary.
# ---------------------------------------------------------------------------------------
container_ms=()
binary_ms=()
builder_ms=()
for run in $(seq 1 "$RUNS"); do
  read -r port admin < <(free_ports)
  t0=$(now_ns)
  cid=$("$DOCKER" run -d --rm --network host -v "$STORE:/store" -e PIER_STORE=/store \
    -e PIER_BASE_DOMAIN=localhost -e PIER_LISTEN="127.0.0.1:$port" \
    -e PIER_ADMIN_LISTEN="127.0.0.1:$admin" "$PROXY_IMAGE")
  CONTAINERS+=("$cid")
  ms=$(wait_200 "$port" "$t0") || die "the proxy container did not serve a 200: $("$DOCKER" logs "$cid" 2>&1 | tail -5)"
  container_ms+=("$ms")
  "$DOCKER" rm -f "$cid" >/dev/null

  read -r port admin < <(free_ports)
  t0=$(now_ns)
  PIER_LOG=warn "$PROXY_BIN" --store "$STORE" --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:$admin" --base-domain localhost >"$TMP/proxy.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  ms=$(wait_200 "$port" "$t0") || die "the proxy binary did not serve a 200: $(tail -5 "$TMP/proxy.log")"
  binary_ms+=("$ms")
  kill "$pid"
  wait "$pid" 2>/dev/null || true

  t0=$(now_ns)
  "$DOCKER" run --rm --network host "$BUILDER_IMAGE" --version >/dev/null
  builder_ms+=($((($(now_ns) - t0) / 1000000)))
  log "run $run/$RUNS: proxy container ${container_ms[-1]} ms, binary ${binary_ms[-1]} ms, builder --version ${builder_ms[-1]} ms"
done

# ---------------------------------------------------------------------------------------
# 6. Report.
# ---------------------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
read -r p_total p_gz p_own p_own_gz p_layers p_own_layers < <(sizes "$PROXY_IMAGE" "$PROXY_BASE")
read -r b_total b_gz b_own b_own_gz b_layers b_own_layers < <(sizes "$BUILDER_IMAGE" "$BUILDER_BASE")
echo
echo "Images ($("$DOCKER" version --format '{{ .Server.Version }}' 2>/dev/null) engine, storage $("$DOCKER" info --format '{{ .Driver }}' 2>/dev/null); gzip -9 per layer):"
printf '%-22s %8s %14s %12s %14s %12s\n' image layers uncompressed gzip "own layers" "own gzip"
printf '%-22s %8s %14s %12s %14s %12s\n' "$PROXY_IMAGE" "$p_layers" "$(mb "$p_total")" "$(mb "$p_gz")" "$(mb "$p_own") ($p_own_layers)" "$(mb "$p_own_gz")"
printf '%-22s %8s %14s %12s %14s %12s\n' "$BUILDER_IMAGE" "$b_layers" "$(mb "$b_total")" "$(mb "$b_gz")" "$(mb "$b_own") ($b_own_layers)" "$(mb "$b_own_gz")"
echo
echo "Start-up, $RUNS runs (ms):"
printf '%-50s %8s %8s\n' what median best
printf '%-50s %8s %8s\n' "proxy container: docker run → first 200" "$(printf '%s\n' "${container_ms[@]}" | median)" "$(printf '%s\n' "${container_ms[@]}" | sort -n | head -1)"
printf '%-50s %8s %8s\n' "proxy binary alone: start → first 200" "$(printf '%s\n' "${binary_ms[@]}" | median)" "$(printf '%s\n' "${binary_ms[@]}" | sort -n | head -1)"
printf '%-50s %8s %8s\n' "builder container: docker run → exit (--version)" "$(printf '%s\n' "${builder_ms[@]}" | median)" "$(printf '%s\n' "${builder_ms[@]}" | sort -n | head -1)"
