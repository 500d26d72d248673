#!/usr/bin/env bash
# Builds the proxy and builder images from binaries built beforehand, on the stand-in bases
# (tests/containers/bases.sh), for the container tests. Nothing is compiled here.
#
#   bash tests/containers/images.sh [PROXY_BINARY [BUILDER_BINARY]]
#
# The binaries default to $PIER_PROXY_BIN / $PIER_BUILDER_BIN, else
# ${CARGO_TARGET_DIR:-target}/debug/pier-proxy and …/pier-builder. Each is copied (debug info
# stripped, symbols kept for backtraces; PIER_IMAGES_STRIP=all strips everything like the
# Dockerfiles' source builds, =none nothing) into its own small
# staging context, ${PIER_CACHE_DIR:-~/.cache/pier}/image-contexts/<tag>/target/docker/<arch>/,
# never the whole repository, and built with the repository's Dockerfile and
# BINARY_FROM=context, so the rust stage is never built (nor its image needed). A binary that
# has not changed since the last run is not copied again, and an image whose inputs (Dockerfile,
# base image, binary, labels) have not changed is not built again: a run with nothing to do
# takes about 1 s. On this script's own engine with the vfs driver, where every cached build
# step is a full copy of the image, the build cache is pruned after each build.
#
# Prints the two image tags: $PIER_PROXY_IMAGE (pier-proxy:test) and $PIER_BUILDER_IMAGE
# (pier-builder:test). Each image must answer `--version`, or this fails.
# PIER_IMAGES_STAND_INS=0 builds on the Dockerfiles' real bases instead (where they can be
# pulled). Uses the engine from tests/containers/engine.sh (started if none answers).
#
# Running them (everything with --network host: the engine has no bridge):
#   docker run --rm --network host -v STORE:/store -e PIER_STORE=/store \
#     -e PIER_BASE_DOMAIN=localhost -e PIER_LISTEN=127.0.0.1:PORT -e PIER_ADMIN_LISTEN=127.0.0.1:PORT2 pier-proxy:test
#   (the store readable by uid 65532, and its .tmp folder writable: pier-proxy opens a folder
#   store as a writer does, so a `:ro` mount fails with "cannot read the store … Read-only
#   file system"; set PIER_ADMIN_LISTEN, or the image's 0.0.0.0:9090 is taken on the host).
#   Where the npm registry is reached through a TLS-intercepting proxy
#   (these machines: NODE_EXTRA_CA_CERTS / SSL_CERT_FILE point at a bundle with a local CA),
#   npm and git in the builder container fail with SELF_SIGNED_CERT_IN_CHAIN; the images
#   never carry that CA, so pass it at run time:
#     -v /etc/ssl/certs/ca-certificates.crt:/etc/pier-host-ca.crt:ro \
#     -e NODE_EXTRA_CA_CERTS=/etc/pier-host-ca.crt -e GIT_SSL_CAINFO=/etc/pier-host-ca.crt
#   Corepack (pnpm, yarn) also checks the registry's signatures; where a mirror breaks them
#   ("No compatible signature found") it needs COREPACK_INTEGRITY_CHECK=0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/engine.sh"

log() { printf '[images %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

target_dir=${CARGO_TARGET_DIR:-$repo/target}
proxy_bin=${1:-${PIER_PROXY_BIN:-$target_dir/debug/pier-proxy}}
builder_bin=${2:-${PIER_BUILDER_BIN:-$target_dir/debug/pier-builder}}
proxy_image=${PIER_PROXY_IMAGE:-pier-proxy:test}
builder_image=${PIER_BUILDER_IMAGE:-pier-builder:test}
contexts=${PIER_CACHE_DIR:-$HOME/.cache/pier}/image-contexts
docker=$PIER_DOCKER
strip_mode=${PIER_IMAGES_STRIP:-debug}
case $strip_mode in
  debug | all | none) ;;
  *) die "PIER_IMAGES_STRIP must be debug, all or none, not '$strip_mode'" ;;
esac
[ "$strip_mode" = none ] || command -v strip >/dev/null 2>&1 || strip_mode=none
for bin in "$proxy_bin" "$builder_bin"; do
  [ -x "$bin" ] || die "no binary at $bin (build it first, or pass its path)"
done

proxy_base=
builder_base=
if [ "${PIER_IMAGES_STAND_INS:-1}" = 1 ]; then
  { read -r proxy_base; read -r builder_base; } < <(bash "$here/bases.sh")
fi

arch=$("$docker" version --format '{{ .Server.Arch }}')
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
# The repository URL, without any user or token a remote URL may carry.
source_url=$(git -C "$repo" remote get-url origin 2>/dev/null | sed -E 's#^([a-z+]+://)[^/@]*@#\1#' || true)
label_args=(--build-arg "VERSION=${version:-dev}" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url")

# stage CONTEXT NAME BINARY: the binary into the staging context, unless it is there unchanged.
# Leaves the staged binary's sha256 in CONTEXT.sha256.
stage() {
  local context=$1 name=$2 binary=$3 dir stamp current
  dir="$context/target/docker/$arch"
  stamp="$context.source"
  current="$(readlink -f "$binary") $(stat -L -c '%s %Y' "$binary") strip=$strip_mode"
  if [ -x "$dir/$name" ] && [ -s "$context.sha256" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$current" ]; then
    return 0
  fi
  rm -rf "$context"
  mkdir -p "$dir"
  case $strip_mode in
    debug) strip --strip-debug -o "$dir/$name" "$binary" ;;
    all) strip -o "$dir/$name" "$binary" ;;
    *) cp "$binary" "$dir/$name" ;;
  esac
  chmod 0755 "$dir/$name"
  sha256sum "$dir/$name" | cut -d' ' -f1 >"$context.sha256"
  printf '%s' "$current" >"$stamp"
  log "staged $name ($(du -m "$dir/$name" | cut -f1) MB) from $binary"
}

# build NAME BINARY DOCKERFILE TAG BASE_IMAGE
build() {
  local name=$1 binary=$2 dockerfile=$3 tag=$4 base=$5 start=$SECONDS inputs base_args=() context
  context="$contexts/${tag//[:\/]/_}"
  stage "$context" "$name" "$binary"
  [ -z "$base" ] || base_args=(--build-arg "BASE_IMAGE=$base")
  inputs=$({
    cat "$dockerfile" "$context.sha256"
    printf '%s\n' "$arch" "${label_args[@]}"
    [ -z "$base" ] || "$docker" image inspect --format '{{ .Id }}' "$base"
  } | sha256sum | cut -c1-16)
  if [ "$("$docker" image inspect --format '{{ index .Config.Labels "org.pier.test.inputs" }}' "$tag" 2>/dev/null)" = "$inputs" ]; then
    log "$tag is up to date"
    return 0
  fi
  if ! "$docker" build --network host --progress=plain -f "$dockerfile" \
    --build-arg BINARY_FROM=context "${base_args[@]}" "${label_args[@]}" \
    --label "org.pier.test.inputs=$inputs" -t "$tag" "$context" >"$context.log" 2>&1; then
    tail -n 40 "$context.log" >&2
    die "docker build of $tag failed (whole log: $context.log)"
  fi
  if [ "$DOCKER_HOST" = "$_pier_engine_socket" ] && [ "$("$docker" info --format '{{ .Driver }}')" = vfs ]; then
    "$docker" builder prune --all --force >/dev/null
  fi
  "$docker" run --rm --network host "$tag" --version >/dev/null \
    || die "$tag does not run: '$tag --version' failed"
  log "built $tag in $((SECONDS - start)) s ($("$docker" image inspect --format '{{ .Size }}' "$tag" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
}

build pier-proxy "$proxy_bin" "$repo/proxy/Dockerfile" "$proxy_image" "$proxy_base"
build pier-builder "$builder_bin" "$repo/backend/builder/Dockerfile" "$builder_image" "$builder_base"
# Layers left untagged by earlier builds of these tags.
"$docker" image prune --force --filter "label=org.opencontainers.image.title=pier-proxy" >/dev/null 2>&1 || true
"$docker" image prune --force --filter "label=org.opencontainers.image.title=pier-builder" >/dev/null 2>&1 || true
echo "$proxy_image"
echo "$builder_image"
