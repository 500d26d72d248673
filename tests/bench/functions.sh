#!/usr/bin/env bash
# Function benchmark (issue 16): warm requests to a zero-config `api/hello` served by Pier's local
# runtime (a release pier-proxy with --functions-dir, the same proxy `pier serve` runs) against
# the same handler in a plain `node:http` server (the floor) and against `wrangler pages dev`
# (npm) running the equivalent Pages function, in one run, all on loopback, driven by wrk.
# Prints p50 and p99 at one connection, requests per second at 32, and the cold start of a
# function (first request of a bundle never run, to its response; the bundle copy from the
# store and Node's start included), with the goals: warm p50 ≤ floor + 0.5 ms, throughput ≥
# 0.8× the floor, cold start ≤ 150 ms.
#
# A benchmark, not a test: it prints figures and exits 0 unless something failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DURATION=${BENCH_SECONDS:-6}
RUNS=${BENCH_RUNS:-3}
COLD_SAMPLES=${BENCH_COLD_SAMPLES:-7}
CACHE=${PIER_BENCH_CACHE:-$HOME/.cache/pier/bench}

log() { printf '[functions-bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
WRK=${WRK:-$(command -v wrk || true)}
if [[ -z $WRK ]]; then
    log "apt-get install wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2
    WRK=$(command -v wrk)
fi
command -v node >/dev/null || die "node is needed (apt-get install nodejs npm)"
WRANGLER_DIR=$CACHE/wrangler
if [[ ! -x $WRANGLER_DIR/node_modules/.bin/wrangler ]]; then
    log "npm install wrangler@4 into $WRANGLER_DIR (once)"
    mkdir -p "$WRANGLER_DIR"
    (cd "$WRANGLER_DIR" && echo '{"private":true}' >package.json &&
        npm install --no-audit --no-fund --loglevel=error wrangler@4 >&2)
fi
WRANGLER=$WRANGLER_DIR/node_modules/.bin/wrangler

TARGET=${CARGO_TARGET_DIR:-$REPO/target}
# Only the proxy is timed, so the CLI that deploys the site may be a debug build.
PIER=${PIER_BIN:-$TARGET/debug/pier}
PIER_PROXY=${PIER_PROXY_BIN:-$TARGET/release/pier-proxy}
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build -p pier-cli; cargo build --release -p pier-proxy"
    (cd "$REPO" && cargo build -q -p pier-cli && cargo build --release -q -p pier-proxy) >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pier-functions-bench.XXXXXX")
PIDS=()
cleanup() {
    [[ -n ${WRANGLER_PID:-} ]] && wrangler_runs yes 2>/dev/null
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$TMP"
}
trap cleanup EXIT
export PIER_CONFIG=$TMP/pier-config.toml
unset PIER_STORE PIER_BASE_URL

# One handler, three hosts: Node's (req, res) for Pier and the floor, a Pages function for
# wrangler, each answering the same JSON.
HANDLER='module.exports = (req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ hello: "world", path: req.url }));
};'
mkdir -p "$TMP/site/api" "$TMP/pages/functions/api" "$TMP/pages/public"
echo "<h1>bench</h1>" >"$TMP/site/index.html"
echo "$HANDLER" >"$TMP/site/api/hello.js"
cp "$TMP/site/index.html" "$TMP/pages/public/"
cat >"$TMP/pages/functions/api/hello.js" <<'EOF'
export function onRequest(context) {
  const url = new URL(context.request.url);
  return new Response(JSON.stringify({ hello: "world", path: url.pathname }), {
    headers: { "content-type": "application/json" },
  });
}
EOF
cat >"$TMP/floor.js" <<EOF
const http = require("node:http");
const handler = require("$TMP/site/api/hello.js");
http.createServer(handler).listen(Number(process.argv[2]), "127.0.0.1");
EOF

"$PIER" --store "$TMP/store" deploy "$TMP/site" --project bench --prod --json >/dev/null 2>"$TMP/deploy.err" ||
    die "pier deploy failed: $(cat "$TMP/deploy.err")"

read -r PIER_PORT FLOOR_PORT PAGES_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks: s.close()')
PIER_LOG=warn "$PIER_PROXY" --store "$TMP/store" --listen "127.0.0.1:$PIER_PORT" --base-domain localhost \
    --functions-dir "$TMP/functions" >"$TMP/pier-proxy.log" 2>&1 &
PIDS+=($!)
PIER_PID=$!
node "$TMP/floor.js" "$FLOOR_PORT" &
PIDS+=($!)
# In its own process group, so that it (and its workerd processes, which can keep a core busy
# while idle) is paused while the others are measured.
(cd "$TMP/pages" && CI=1 WRANGLER_SEND_METRICS=false exec setsid "$WRANGLER" pages dev public \
    --ip 127.0.0.1 --port "$PAGES_PORT" --compatibility-date=2025-01-01 --log-level error \
    --show-interactive-dev-session=false \
    >"$TMP/wrangler.log" 2>&1) &
PIDS+=($!)
WRANGLER_PID=$!
# Only wrangler runs while wrangler is measured, and not at all otherwise.
wrangler_runs() { # yes|no
    local group
    group=$(ps -o pgid= "$WRANGLER_PID" 2>/dev/null | tr -d ' ') || return 0
    [[ -n $group ]] || return 0
    if [[ $1 == yes ]]; then kill -CONT -- "-$group"; else kill -STOP -- "-$group"; fi
}

# server name → "port host"
endpoint() {
    case $1 in
    pier) echo "$PIER_PORT bench.localhost" ;;
    floor) echo "$FLOOR_PORT localhost" ;;
    wrangler) echo "$PAGES_PORT localhost" ;;
    esac
}
wait_for() { # server
    local port host
    read -r port host < <(endpoint "$1")
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null -H "Host: $host" "http://127.0.0.1:$port/api/hello" && return 0
        sleep 0.2
    done
    die "$1 never answered /api/hello (logs in $TMP)"
}
for server in pier floor wrangler; do
    wait_for $server
    read -r port host < <(endpoint $server)
    body=$(curl -s -H "Host: $host" "http://127.0.0.1:$port/api/hello")
    grep -q '"hello":"world"' <<<"$body" || die "$server answered $body"
done

ms() { # wrk latency text (12.34us, 1.20ms, 1.5s) → milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    }'
}
CLK_TCK=$(getconf CLK_TCK)
# CPU ticks of the processes named.
ticks_of() {
    [[ -z ${1// /} ]] && { echo 0; return; }
    for pid in $1; do sed 's/.*) //' "/proc/$pid/stat"; done | awk '{ t += $12 + $13 } END { print t + 0 }'
}
# A process and its children (the proxy's Node processes are its children).
ticks() { ticks_of "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
node_ticks() { ticks_of "$(pgrep -P "$1" | tr '\n' ' ')"; }
declare -A P50 P99 RPS
PROXY_US="" NODE_US=""
for ((run = 1; run <= RUNS; run++)); do
    for server in floor pier wrangler; do
        if [[ $server == wrangler ]]; then wrangler_runs yes; else wrangler_runs no; fi
        read -r port host < <(endpoint $server)
        url="http://127.0.0.1:$port/api/hello"
        out=$("$WRK" -t1 -c1 -d"${DURATION}s" --latency -H "Host: $host" "$url")
        p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
        p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
        [[ $server == pier ]] && before_all=$(ticks "$PIER_PID") && before_node=$(node_ticks "$PIER_PID")
        out=$("$WRK" -t2 -c32 -d"${DURATION}s" -H "Host: $host" "$url")
        rps=$(awk '/Requests\/sec:/ { print $2 }' <<<"$out")
        if [[ $server == pier ]]; then
            requests=$(awk '/requests in/ { print $1 }' <<<"$out")
            all=$(($(ticks "$PIER_PID") - before_all))
            node=$(($(node_ticks "$PIER_PID") - before_node))
            PROXY_US="$PROXY_US $(awk -v t="$((all - node))" -v n="$requests" -v c="$CLK_TCK" 'BEGIN { printf "%.1f", t / c / n * 1e6 }')"
            NODE_US="$NODE_US $(awk -v t="$node" -v n="$requests" -v c="$CLK_TCK" 'BEGIN { printf "%.1f", t / c / n * 1e6 }')"
        fi
        P50[$server]="${P50[$server]:-} $p50"
        P99[$server]="${P99[$server]:-} $p99"
        RPS[$server]="${RPS[$server]:-} $rps"
        log "run $run $server: p50 $p50 ms, p99 $p99 ms, $rps req/s"
    done
done
wrangler_runs no
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "–" hi }'; }

# Cold starts: each sample deploys a bundle never run before (its handler differs by a comment)
# and times its first request through its preview host.
COLD=""
for ((sample = 1; sample <= COLD_SAMPLES; sample++)); do
    { echo "$HANDLER"; echo "// sample $sample $RANDOM"; } >"$TMP/site/api/hello.js"
    id=$("$PIER" --store "$TMP/store" deploy "$TMP/site" --project bench --json 2>"$TMP/deploy.err" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["deployment"]["preview"])') ||
        die "pier deploy failed: $(cat "$TMP/deploy.err")"
    seconds=$(curl -s -o /dev/null -w '%{time_total}' -H "Host: $id.localhost" "http://127.0.0.1:$PIER_PORT/api/hello")
    COLD="$COLD $(awk -v s="$seconds" 'BEGIN { printf "%.1f", s * 1000 }')"
done

printf '\n%-10s %14s %14s %16s\n' "server" "p50 ms (c=1)" "p99 ms (c=1)" "req/s (c=32)"
for server in floor pier wrangler; do
    printf '%-10s %14s %14s %16s\n' "$server" "$(median "${P50[$server]}")" "$(median "${P99[$server]}")" \
        "$(median "${RPS[$server]}") ($(spread "${RPS[$server]}"))"
done
printf '\npier CPU per request at c=32: proxy %s µs, the function'"'"'s Node process %s µs (medians)\n' \
    "$(median "$PROXY_US")" "$(median "$NODE_US")"
printf '\ncold start (first request of a new bundle), %s samples: median %s ms, range %s ms\n' \
    "$COLD_SAMPLES" "$(median "$COLD")" "$(spread "$COLD")"
awk -v pp="$(median "${P50[pier]}")" -v fp="$(median "${P50[floor]}")" \
    -v pr="$(median "${RPS[pier]}")" -v fr="$(median "${RPS[floor]}")" \
    -v wr="$(median "${RPS[wrangler]}")" -v cold="$(median "$COLD")" 'BEGIN {
    printf "warm p50: pier %.3f ms vs floor %.3f ms (+%.3f ms; goal ≤ +0.5 ms)\n", pp, fp, pp - fp
    printf "throughput: pier %.2f× the floor (goal ≥ 0.8×), %.2f× wrangler pages dev\n", pr / fr, pr / wr
    printf "cold start: %s ms (goal ≤ 150 ms)\n", cold
}'
