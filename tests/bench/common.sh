#!/usr/bin/env bash
# What the S3 benchmarks (deploy.sh, regions.sh) share: logging, installing a tool only when it
# is missing (rclone and the AWS CLI from Debian, s3s-fs with cargo), building `pier`, and
# starting s3s-fs on a free loopback port. Sourced, never run; the caller sets REPO, CACHE and
# S3S_FS_VERSION first.

log() { printf '[bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ---------------------------------------------------------------------------------------
# 1. Tools, installed only when missing.
# ---------------------------------------------------------------------------------------
SUDO=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null && SUDO=(sudo -n)
fi
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || return 1
    # A package with no candidate means the lists are missing or stale: update once.
    if [[ $APT_UPDATED == 0 ]] && ! apt-cache policy "$@" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        log "apt-get update"
        "${SUDO[@]}" apt-get update -qq >&2 || return 1
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

find_rclone() {
    if [[ -n ${RCLONE:-} ]]; then return; fi
    if ! command -v rclone >/dev/null; then
        apt_install rclone || die "could not install rclone (apt-get install rclone)"
    fi
    RCLONE=$(command -v rclone)
}

find_aws() {
    if [[ -n ${AWS_CLI:-} ]]; then return; fi
    # Prefer Debian's awscli (v2); else a pip-installed one in a cached venv.
    if [[ -x /usr/bin/aws ]] || apt_install awscli; then
        AWS_CLI=/usr/bin/aws
        return
    fi
    local venv=$CACHE/awscli-venv
    if [[ ! -x $venv/bin/aws ]]; then
        log "Debian awscli unavailable; pip install awscli into $venv"
        python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q awscli >&2 ||
            die "could not install awscli with pip"
    fi
    AWS_CLI=$venv/bin/aws
}

find_s3s_fs() {
    if [[ -n ${S3S_FS:-} ]]; then return; fi
    S3S_FS=$CACHE/bin/s3s-fs
    [[ -x $S3S_FS ]] && return
    command -v cargo >/dev/null || die "cargo is needed to install s3s-fs"
    log "cargo install s3s-fs@$S3S_FS_VERSION into $CACHE (about 2 minutes)"
    mkdir -p "$CACHE"
    cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --locked --root "$CACHE" >&2 ||
        cargo install "s3s-fs@$S3S_FS_VERSION" --features binary --root "$CACHE" >&2 ||
        die "could not install s3s-fs"
}

find_pier() {
    if [[ -n ${PIER_BIN:-} ]]; then return; fi
    local target=${CARGO_TARGET_DIR:-$REPO/target}
    [[ $target == /* ]] || target=$REPO/$target
    PIER_BIN=$target/release/pier
    if [[ ${BENCH_SKIP_BUILD:-0} == 1 && -x $PIER_BIN ]]; then return; fi
    # `--bin pier` without `-p`: whichever workspace package holds the CLI builds it.
    log "cargo build --release --bin pier"
    (cd "$REPO" && cargo build --release -q --bin pier) >&2 || die "building pier failed"
    [[ -x $PIER_BIN ]] || die "no pier binary at $PIER_BIN"
}

# start_s3s_fs DIR LOG: s3s-fs serving DIR on a free loopback port; sets S3S_ENDPOINT and
# appends its pid to S3S_PIDS (the caller stops them on exit).
S3S_PIDS=()
S3S_LOGS=()
start_s3s_fs() {
    local dir=$1 logfile=$2 port pid
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$dir"
    "$S3S_FS" --host 127.0.0.1 --port "$port" --access-key test --secret-key test "$dir" >"$logfile" 2>&1 &
    pid=$!
    S3S_PIDS+=("$pid")
    S3S_LOGS+=("$logfile")
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { cat "$logfile" >&2; die "s3s-fs exited"; }
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "s3s-fs did not listen on port $port"
    S3S_ENDPOINT=http://127.0.0.1:$port
}

stop_s3s_fs() {
    local pid
    for pid in "${S3S_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}

now() { date +%s.%N; }

# CPU seconds (user + system) the s3s-fs servers have used so far.
servers_cpu() {
    local pid total=0 ticks
    ticks=$(getconf CLK_TCK)
    for pid in "${S3S_PIDS[@]}"; do
        # Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing paren.
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
    done
    awk -v t="$total" -v hz="$ticks" 'BEGIN { printf "%.2f", t / hz }'
}

# run_step NAME LOG CMD...: runs CMD (within STEP_TIMEOUT) with stdout to LOG.out and stderr
# to LOG.err; sets STEP_SECONDS, STEP_CPU (the command's CPU seconds) and STEP_SERVER_CPU (the
# s3s-fs servers' during the step), so a figure can be told apart from the servers' share of
# these cores. Any failure stops the benchmark with the command's output and the s3s-fs
# servers' last lines.
run_step() {
    local name=$1 logbase=$2 t0 server_log servers_before status=0 TIMEFORMAT='%U %S'
    shift 2
    servers_before=$(servers_cpu)
    t0=$(now)
    { time timeout "$STEP_TIMEOUT" "$@" >"$logbase.out" 2>"$logbase.err" || status=$?; } 2>"$logbase.cpu"
    STEP_SECONDS=$(elapsed "$t0" "$(now)")
    STEP_CPU=$(awk '{ printf "%.2f", $1 + $2 }' "$logbase.cpu")
    STEP_SERVER_CPU=$(elapsed "$servers_before" "$(servers_cpu)")
    if [[ $status != 0 ]]; then
        log "$name failed: $*"
        tail -n 40 "$logbase.out" "$logbase.err" >&2
        for server_log in "${S3S_LOGS[@]}"; do
            log "$server_log tail:"
            tail -n 20 "$server_log" >&2
        done
        exit 1
    fi
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }
