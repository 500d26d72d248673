#!/usr/bin/env bash
# Image mirror benchmark: copies the builder image between two local registries with
# `pier images mirror` (what `pier setup aws` does into ECR), and with `skopeo copy --all`
# (Debian) of the same image between the same registries, in the same run, and prints both
# times. Goal: pier ≤ 1.0× skopeo.
#
#   bash tests/bench/mirror.sh
#
# This is a benchmark, not a test: it prints figures and exits 0 unless a step failed.
#
# - Image: the builder image tests/containers/images.sh builds (pier-builder:test, about
#   300 MB, Debian with Node and git) unless BENCH_IMAGE names another one in the engine. It is
#   put into the source registry once, by `docker push` (the engine treats 127.0.0.1 as
#   an insecure registry).
# - Registries: Debian's docker-registry, one source and one fresh destination per run (so each
#   run copies every blob), on free loopback ports, storage in a temp dir.
# - Runs: BENCH_RUNS (3) of each, alternating pier and skopeo; median and spread printed.
# - pier: PIER_BIN, else ${CARGO_TARGET_DIR:-target}/release/pier, else …/debug/pier.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNS=${BENCH_RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}

log() { printf '[mirror-bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
for tool in skopeo python3 curl; do
  command -v "$tool" >/dev/null || die "$tool is required (apt-get install skopeo)"
done
REGISTRY_BIN=/usr/bin/docker-registry
[[ -x $REGISTRY_BIN ]] || die "docker-registry is required (apt-get install docker-registry)"
PIER_BIN=${PIER_BIN:-$TARGET/release/pier}
[[ -x $PIER_BIN ]] || PIER_BIN=$TARGET/debug/pier
[[ -x $PIER_BIN ]] || die "no pier binary; run cargo build --release -p pier-cli"

source "$REPO/tests/containers/engine.sh"
DOCKER=$PIER_DOCKER
IMAGE=${BENCH_IMAGE:-}
if [[ -z $IMAGE ]]; then
  log "building the images (tests/containers/images.sh)"
  IMAGE=$(bash "$REPO/tests/containers/images.sh" | tail -n 1)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pier-mirror-bench.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
  pier_engine_stop_if_started
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts a registry storing under $TMP/$1; prints its port.
start_registry() {
  local name=$1 port
  port=$(free_port)
  mkdir -p "$TMP/$name"
  cat >"$TMP/$name.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $TMP/$name
http:
  addr: 127.0.0.1:$port
EOF
  "$REGISTRY_BIN" serve "$TMP/$name.yml" >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || die "registry $name did not start"
  echo "$port"
}

SOURCE=$(start_registry source)
log "pushing $IMAGE into the source registry (127.0.0.1:$SOURCE)"
"$DOCKER" tag "$IMAGE" "127.0.0.1:$SOURCE/pier/builder:bench"
"$DOCKER" push -q "127.0.0.1:$SOURCE/pier/builder:bench" >/dev/null
DIGEST=$(curl -fsI -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json' \
  "http://127.0.0.1:$SOURCE/v2/pier/builder/manifests/bench" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
[[ $DIGEST == sha256:* ]] || die "no digest for the pushed image"
SIZE=$(du -sb "$TMP/source" | cut -f1)
log "image $DIGEST, $((SIZE / 1000000)) MB stored"

time_it() { # prints seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$TMP/last.err" || {
    cat "$TMP/last.err" >&2
    die "failed: $*"
  }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

PIER_TIMES=()
SKOPEO_TIMES=()
for run in $(seq "$RUNS"); do
  dest=$(start_registry "pier-$run")
  t=$(time_it "$PIER_BIN" images mirror "http://127.0.0.1:$SOURCE/pier/builder@$DIGEST" "http://127.0.0.1:$dest/pier/builder")
  got=$(curl -fsI -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$dest/v2/pier/builder/manifests/$DIGEST" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
  [[ $got == "$DIGEST" ]] || die "pier's copy has digest '$got', not $DIGEST"
  PIER_TIMES+=("$t")
  log "run $run: pier $t s"
  dest=$(start_registry "skopeo-$run")
  t=$(time_it skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
    "docker://127.0.0.1:$SOURCE/pier/builder@$DIGEST" "docker://127.0.0.1:$dest/pier/builder:bench")
  SKOPEO_TIMES+=("$t")
  log "run $run: skopeo $t s"
done

python3 - "$SIZE" "${PIER_TIMES[*]}" "${SKOPEO_TIMES[*]}" <<'EOF'
import statistics, sys
size = int(sys.argv[1])
pier = [float(x) for x in sys.argv[2].split()]
skopeo = [float(x) for x in sys.argv[3].split()]
def row(name, times):
    m = statistics.median(times)
    print(f"| {name:<22} | {m:8.2f} s | {min(times):6.2f}–{max(times):6.2f} s | {size / m / 1e6:7.1f} MB/s |")
print(f"\nMirror of the builder image ({size / 1e6:.0f} MB stored), registry to registry on loopback, {len(pier)} runs each:\n")
print("| tool                   |   median | spread            | throughput   |")
print("|------------------------|----------|-------------------|--------------|")
row("pier images mirror", pier)
row("skopeo copy --all", skopeo)
ratio = statistics.median(pier) / statistics.median(skopeo)
print(f"\npier / skopeo: {ratio:.2f}× (goal ≤ 1.0×)")
EOF
