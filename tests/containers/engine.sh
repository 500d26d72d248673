#!/usr/bin/env bash
# A container engine for Pier's container tests and image benchmark, on a fresh Debian or
# Ubuntu machine (as root, or through sudo).
#
#   eval "$(bash tests/containers/engine.sh)"   start (or reuse) an engine; prints the exports
#   source tests/containers/engine.sh           the same, exported into the calling shell; then
#                                               pier_engine_stop_if_started stops it only if
#                                               this shell started it (PIER_ENGINE_STARTED=1)
#   bash tests/containers/engine.sh stop        stop the engine this script started, if any
#   bash tests/containers/engine.sh status      say which engine answers, and which client builds
#
# What it does:
# - Reuses any engine that already answers `docker info` (DOCKER_HOST, the default socket, or
#   one this script started earlier), and never stops an engine it did not start.
# - Otherwise installs Debian's `docker.io` (20.10) if `dockerd` is missing, and starts
#       dockerd --storage-driver=vfs --bridge=none --iptables=false
#   with everything in its own folders, so it cannot clash with a system engine:
#   data in $PIER_ENGINE_DATA_ROOT (/var/lib/pier-docker; a vfs engine's in that path plus
#   `-vfs`), socket, pidfile, exec-root (containerd) and log in $PIER_ENGINE_RUN_DIR
#   (/run/pier-docker). It runs detached and outlives this script; `stop` ends it.
# - Storage: `vfs` works everywhere (also nested) but copies every layer and every new
#   container's root filesystem in full. Measured here with the 285 MB builder image:
#   `docker run --rm pier-builder:test --version` takes 6.4 s on vfs and 0.25 s on overlay2;
#   building it 9 s against 2 s; 1.2 GB on disk against 0.3 GB. PIER_ENGINE_STORAGE_DRIVER
#   picks the driver (vfs by default); `auto` takes overlay2 when an overlay mount works on
#   the data root's file system (it does on these machines), else vfs.
# - Also installs `mmdebstrap` (tests/containers/bases.sh makes the stand-in base images with it)
#   and Debian's archive keyring, in the same apt-get call. apt-get waits up to 15 minutes for
#   another apt/dpkg to finish (DPkg::Lock::Timeout).
# - Exports DOCKER_HOST, DOCKER_BUILDKIT=1 and PIER_DOCKER, the docker client to use for
#   everything (builds included); scripts run "$PIER_DOCKER" rather than `docker`.
#
# Which client, and how BuildKit builds work without buildx (tested with Debian 12's
# docker.io 20.10.24 engine, API 1.41):
# - Any recent client talks to the 20.10 engine: the Docker 28.2 client negotiates the API
#   down ("API version: 1.41 (downgraded from 1.50)") and run/import/save/inspect all work.
# - But a client from 23.0 on builds only through the buildx plugin: without it,
#   `DOCKER_BUILDKIT=1 docker build` stops with "BuildKit is enabled but the buildx component
#   is missing or broken", and `DOCKER_BUILDKIT=0` (or the default) falls back to the legacy
#   builder, which builds EVERY stage (so it tries to pull the unused rust image) and knows
#   no `RUN --mount`. Debian bookworm has no docker-buildx package.
# - The 20.10 engine has BuildKit built in, and the 20.10 client (Debian's /usr/bin/docker)
#   drives it with plain `DOCKER_BUILDKIT=1 docker build`, no buildx needed: stages the
#   target does not need are neither built nor even resolved (an unpullable
#   `FROM rust:1-slim-bookworm` in an unused stage is fine), TARGETARCH is set, and
#   `RUN --mount=type=cache` works with no `# syntax=` line (which would need a pull).
#   So PIER_DOCKER is the first of these that can build with BuildKit: $PIER_DOCKER if set,
#   `docker` on PATH, /usr/bin/docker; a client qualifies if it has `buildx` or is older
#   than 23. Where /usr/local/bin/docker (28.x, no buildx) shadows Debian's client, that is
#   /usr/bin/docker.
# - With --bridge=none, containers and build steps have no default network: `RUN` fails
#   with "network bridge not found". Pass `--network host` to `docker build` (BuildKit
#   allows it here) and to `docker run`, which also keeps all traffic on loopback.
#
# Timings on 2 cores (Debian 12): installing docker.io + mmdebstrap ~12 s; a cold start of
# dockerd until `docker info` answers ~0.3 s; reusing a running engine ~0.1 s.

_pier_engine_log() { printf '[engine] %s\n' "$*" >&2; }
_pier_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

PIER_ENGINE_RUN_DIR=${PIER_ENGINE_RUN_DIR:-/run/pier-docker}
PIER_ENGINE_DATA_ROOT=${PIER_ENGINE_DATA_ROOT:-/var/lib/pier-docker}
PIER_ENGINE_STORAGE_DRIVER=${PIER_ENGINE_STORAGE_DRIVER:-vfs}
_pier_engine_socket="unix://$PIER_ENGINE_RUN_DIR/docker.sock"
_pier_engine_marker="$PIER_ENGINE_RUN_DIR/started-by-pier"

# apt-get install PACKAGE..., running `apt-get update` first only when one has no candidate.
_pier_apt_install() {
  command -v apt-get >/dev/null 2>&1 || { _pier_engine_log "no apt-get: install $* by hand"; return 1; }
  local apt=(apt-get -o DPkg::Lock::Timeout=900 -o Acquire::Retries=3) package try
  for package in "$@"; do
    if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      for try in 1 2 3; do
        _pier_sudo "${apt[@]}" update -qq >&2 && break
        [ "$try" = 3 ] && return 1
        _pier_engine_log "apt-get update failed (another apt running?); retrying in 20 s"
        sleep 20
      done
      break
    fi
  done
  _pier_engine_log "apt-get install $*"
  _pier_sudo env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "$@" >&2
}

# Prints the first client that can run BuildKit builds (see the top of this file).
_pier_engine_pick_client() {
  local candidate path version
  for candidate in ${PIER_DOCKER:+"$PIER_DOCKER"} docker /usr/bin/docker; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if "$path" buildx version >/dev/null 2>&1; then
      echo "$path"
      return 0
    fi
    version=$("$path" --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
    if [ -n "$version" ] && [ "$version" -lt 23 ]; then
      echo "$path"
      return 0
    fi
  done
  return 1
}

# Any client at all, to ask whether an engine answers.
_pier_engine_any_client() {
  local candidate
  for candidate in ${PIER_DOCKER:+"$PIER_DOCKER"} docker /usr/bin/docker; do
    command -v "$candidate" 2>/dev/null && return 0
  done
  return 1
}

_pier_engine_answers() { # CLIENT HOST
  DOCKER_HOST=$2 timeout 20 "$1" info >/dev/null 2>&1
}

# Prints the DOCKER_HOST of an engine that answers already, if any.
_pier_engine_find_running() {
  local client host
  client=$(_pier_engine_any_client) || return 1
  for host in ${DOCKER_HOST:+"$DOCKER_HOST"} unix:///var/run/docker.sock "$_pier_engine_socket"; do
    if _pier_engine_answers "$client" "$host"; then
      echo "$host"
      return 0
    fi
  done
  return 1
}

# Installs what is missing: dockerd (only when WITH_DOCKERD=1), mmdebstrap, Debian's keyring.
_pier_engine_install() { # WITH_DOCKERD
  local need=()
  if [ "$1" = 1 ]; then
    command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || [ -x /usr/bin/dockerd ] || need+=(docker.io)
  fi
  command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
  [ -s /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  if [ "${#need[@]}" -gt 0 ]; then
    _pier_apt_install "${need[@]}"
  fi
}

# Whether an overlay mount works under the data root (what overlay2 needs).
_pier_engine_overlay_works() {
  local probe=$PIER_ENGINE_DATA_ROOT/.overlay-probe status=1
  _pier_sudo mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged" || return 1
  if _pier_sudo mount -t overlay overlay \
    -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    _pier_sudo umount "$probe/merged"
    status=0
  fi
  _pier_sudo rm -rf "$probe"
  return "$status"
}

_pier_engine_start() {
  local dockerd run=$PIER_ENGINE_RUN_DIR pid client i group_args=() driver=$PIER_ENGINE_STORAGE_DRIVER data_root
  dockerd=$(command -v dockerd 2>/dev/null || echo /usr/sbin/dockerd)
  [ -x "$dockerd" ] || dockerd=/usr/bin/dockerd
  _pier_sudo mkdir -p "$run"
  # A pidfile left by a dockerd that is gone (reboot, kill -9) would stop a new one starting.
  if [ -f "$run/dockerd.pid" ]; then
    pid=$(cat "$run/dockerd.pid" 2>/dev/null || true)
    if [ -z "$pid" ] || ! grep -qs dockerd "/proc/$pid/cmdline"; then
      _pier_sudo rm -f "$run/dockerd.pid" "$_pier_engine_marker"
    fi
  fi
  # Through sudo: let the calling user's group use the socket (they can sudo anyway).
  [ "$(id -u)" -eq 0 ] || group_args=(--group "$(id -g)")
  if [ "$driver" = auto ]; then
    if _pier_engine_overlay_works; then driver=overlay2; else driver=vfs; fi
  fi
  # Each driver keeps its own data root: BuildKit's cache records live beside the layers
  # but not per driver, so a vfs engine on an overlay2 engine's data root (or the reverse)
  # leaves records of snapshots the other cannot find, and every later build fails with
  # "stat …/overlay2/<id>: no such file or directory".
  data_root=$PIER_ENGINE_DATA_ROOT
  [ "$driver" != vfs ] || data_root="$PIER_ENGINE_DATA_ROOT-vfs"
  _pier_sudo mkdir -p "$data_root"
  _pier_engine_log "starting dockerd ($driver, no bridge) on $_pier_engine_socket; log in $run/dockerd.log"
  _pier_sudo sh -c 'setsid "$@" </dev/null >>"$0/dockerd.log" 2>&1 &' "$run" \
    "$dockerd" --storage-driver="$driver" --bridge=none --iptables=false \
    --ip6tables=false --data-root="$data_root" --exec-root="$run/exec" \
    --pidfile="$run/dockerd.pid" --host="$_pier_engine_socket" --log-level=warn "${group_args[@]}"
  client=$(_pier_engine_any_client) || { _pier_engine_log "no docker client"; return 1; }
  for i in $(seq 1 600); do
    if _pier_engine_answers "$client" "$_pier_engine_socket"; then
      _pier_sudo sh -c 'cat "$0/dockerd.pid" >"$0/started-by-pier"' "$run"
      return 0
    fi
    sleep 0.1
  done
  _pier_engine_log "dockerd did not answer within 60 s; the end of $run/dockerd.log:"
  _pier_sudo tail -n 20 "$run/dockerd.log" >&2 || true
  return 1
}

# Starts or reuses an engine; sets and exports DOCKER_HOST, DOCKER_BUILDKIT, PIER_DOCKER.
pier_engine_up() {
  local host start=$SECONDS
  PIER_ENGINE_STARTED=0
  # With an engine running already, dockerd is not installed.
  if host=$(_pier_engine_find_running); then
    _pier_engine_log "reusing the engine at $host"
    _pier_engine_install 0 || return 1
  else
    _pier_engine_install 1 || return 1
    _pier_engine_start || return 1
    host=$_pier_engine_socket
    PIER_ENGINE_STARTED=1
    _pier_engine_log "engine ready after $((SECONDS - start)) s"
  fi
  if ! PIER_DOCKER=$(_pier_engine_pick_client); then
    # A docker client from 23 on without buildx, and no 20.10 one: Debian's docker.io has it,
    # unless Docker's own packages (which conflict with it) are installed.
    if ! dpkg -s docker-ce-cli >/dev/null 2>&1 && _pier_apt_install docker.io && PIER_DOCKER=$(_pier_engine_pick_client); then
      :
    else
      _pier_engine_log "no docker client here can build with BuildKit: install the buildx plugin (docker-buildx-plugin) or Debian's docker.io"
      return 1
    fi
  fi
  export DOCKER_HOST=$host DOCKER_BUILDKIT=1 PIER_DOCKER PIER_ENGINE_STARTED
}

# Stops the engine that this script started (by its pidfile), never any other.
pier_engine_stop() {
  local run=$PIER_ENGINE_RUN_DIR pid i
  if [ ! -f "$_pier_engine_marker" ]; then
    _pier_engine_log "no engine started by this script is running; nothing to stop"
    return 0
  fi
  pid=$(cat "$_pier_engine_marker")
  if [ -n "$pid" ] && grep -qs dockerd "/proc/$pid/cmdline"; then
    _pier_engine_log "stopping dockerd (pid $pid)"
    _pier_sudo kill -TERM "$pid"
    for i in $(seq 1 300); do
      grep -qs dockerd "/proc/$pid/cmdline" || break
      sleep 0.1
    done
    if grep -qs dockerd "/proc/$pid/cmdline"; then
      _pier_engine_log "dockerd (pid $pid) did not stop within 30 s"
      return 1
    fi
  fi
  # dockerd leaves its default network namespace mounted.
  if grep -qs " $run/exec/netns/default " /proc/mounts; then
    _pier_sudo umount "$run/exec/netns/default" || true
  fi
  _pier_sudo rm -f "$_pier_engine_marker"
}

# In a shell that sourced this file: stop the engine only if this shell started it.
pier_engine_stop_if_started() {
  if [ "${PIER_ENGINE_STARTED:-0}" = 1 ]; then pier_engine_stop; fi
}

_pier_engine_print_env() {
  printf 'export DOCKER_HOST=%q DOCKER_BUILDKIT=1 PIER_DOCKER=%q\n' "$DOCKER_HOST" "$PIER_DOCKER"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: start or reuse, and export into the caller's shell (whose arguments "$@" still
  # are, so they are not read). Stop later with pier_engine_stop_if_started or pier_engine_stop.
  pier_engine_up
else
  set -euo pipefail
  case "${1:-start}" in
    start | env)
      pier_engine_up
      _pier_engine_print_env
      ;;
    stop) pier_engine_stop ;;
    status)
      if host=$(_pier_engine_find_running); then
        echo "engine: $host$([ -f "$_pier_engine_marker" ] && [ "$host" = "$_pier_engine_socket" ] && echo ' (started by this script)')"
      else
        echo "engine: none answers"
      fi
      echo "build client: $(_pier_engine_pick_client || echo 'none (needs buildx, or a client older than 23)')"
      ;;
    *)
      echo "usage: $0 [start|env|stop|status]" >&2
      exit 2
      ;;
  esac
fi
