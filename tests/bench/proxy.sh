#!/usr/bin/env bash
# Proxy benchmark: Pier's edge proxy (`pier-proxy`, serving a deployment from a local store)
# against nginx serving the same site folder straight from disk, both on loopback, both
# driven by wrk. Prints req/s and p99 latency per file, pier's ratio to nginx, and the goals.
# Then measures first-byte latency of a file the proxy has never served (blob not cached)
# against a direct read of the same blob from the store. See tests/bench/README.md.
#
# This is a benchmark, not a test: it prints figures and exits 0 unless something failed
# (set BENCH_ENFORCE=1 to also exit 1 when a goal is missed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DURATION=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
BIG_CONNS=${BENCH_BIG_CONNECTIONS:-16}
RUNS=${BENCH_RUNS:-3}
FB_SAMPLES=${BENCH_FIRST_BYTE_SAMPLES:-5}
KEEP=${BENCH_KEEP:-0}
IDLE_WAIT=${BENCH_IDLE_WAIT:-180}
HOST=bench.localhost
# Goals: pier / nginx req/s, and pier's CPU per request over nginx's (index.html and app.js
# ≥ 1.25× and CPU ≤ nginx's; big.bin ≥ 1.0×, CPU ≤ 1.5× nginx's and p99 ≤ nginx's), and the
# first byte of a never-served 5 MB file.
GOAL_SMALL=1.25
GOAL_BIG=1.0
GOAL_CPU_SMALL=1.0
GOAL_CPU_BIG=1.5
GOAL_FIRST_BYTE_MS=2

log() { printf '[proxy-bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
[[ $IDLE_WAIT =~ ^[0-9]+$ ]] || die "BENCH_IDLE_WAIT must be a whole number, got '$IDLE_WAIT'"
for n in DURATION THREADS CONNS BIG_CONNS RUNS FB_SAMPLES; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer, got '${!n}'"
done

# ---------------------------------------------------------------------------------------
# 1. Tools, installed only when missing.
# ---------------------------------------------------------------------------------------
SUDO=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null && SUDO=(sudo -n)
fi
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
    if ! apt-cache policy "$@" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        log "apt-get update"
        "${SUDO[@]}" apt-get update -qq >&2
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}
NGINX=${NGINX:-$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)}
WRK=${WRK:-$(command -v wrk || true)}
missing=()
[[ -n $NGINX ]] || missing+=(nginx)
[[ -n $WRK ]] || missing+=(wrk)
if ((${#missing[@]})); then
    apt_install "${missing[@]}"
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    WRK=$(command -v wrk)
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

TARGET=${CARGO_TARGET_DIR:-$REPO/target}
PIER=${PIER_BIN:-$TARGET/release/pier}
PIER_PROXY=${PIER_PROXY_BIN:-$TARGET/release/pier-proxy}
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release -p pier-cli -p pier-proxy (a cold build takes ~10 min on 2 cores)"
    (cd "$REPO" && cargo build --release -q -p pier-cli -p pier-proxy) >&2
fi
[[ -x $PIER ]] || die "no pier binary at $PIER"
[[ -x $PIER_PROXY ]] || die "no pier-proxy binary at $PIER_PROXY"

load=$(cut -d' ' -f1 /proc/loadavg)
cores=$(nproc)
if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l > c / 2) }'; then
    log "warning: load average $load on $cores cores; the figures will be noisy"
fi

# ---------------------------------------------------------------------------------------
# 2. Temp dir, cleanup.
# ---------------------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pier-proxy-bench.XXXXXX")
chmod 755 "$TMP" # nginx workers run as nobody when started by root
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ $KEEP == 1 ]]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export PIER_CONFIG=$TMP/pier-config.toml
unset PIER_STORE PIER_BASE_URL

SITE=$TMP/site
STORE=$TMP/store

# ---------------------------------------------------------------------------------------
# 3. Site: index.html ~2 KB, app.js ~100 KB, big.bin 5 MiB; deterministic.
# ---------------------------------------------------------------------------------------
python3 - "$SITE" <<'EOF'
import hashlib, os, sys
site = sys.argv[1]
os.makedirs(site, exist_ok=True)
para = "<p>Pier benchmark page. The quick brown fox jumps over the lazy dog.</p>\n"
html = "<!doctype html>\n<html><head><meta charset=utf-8><title>bench</title>" \
       "<script src=/app.js defer></script></head><body>\n"
while len(html) < 2000:
    html += para
html += "</body></html>\n"
with open(os.path.join(site, "index.html"), "w") as f:
    f.write(html)
lines, i = [], 0
while sum(map(len, lines)) < 100 * 1024:
    lines.append(f"export function f{i}(a, b) {{ return (a * {i} + b) ^ 0x{i * 2654435761 % 2**32:08x}; }}\n")
    i += 1
with open(os.path.join(site, "app.js"), "w") as f:
    f.write("".join(lines))
# 5 MiB from a SHA-256 counter stream: incompressible and the same every run.
out, n = bytearray(), 0
while len(out) < 5 * 1024 * 1024:
    out += hashlib.sha256(b"pier-bench-%d" % n).digest()
    n += 1
with open(os.path.join(site, "big.bin"), "wb") as f:
    f.write(out[: 5 * 1024 * 1024])
EOF
FILES=(index.html app.js big.bin)
for f in "${FILES[@]}"; do
    log "site: $f $(stat -c %s "$SITE/$f") bytes"
done

log "pier deploy"
"$PIER" --store "$STORE" deploy "$SITE" --project bench --prod --json >"$TMP/deploy.json" 2>"$TMP/deploy.err" ||
    die "pier deploy failed: $(cat "$TMP/deploy.err")"

# ---------------------------------------------------------------------------------------
# 4. Servers on free loopback ports.
# ---------------------------------------------------------------------------------------
read -r PIER_PORT ADMIN_PORT NGINX_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks: s.close()')

PIER_LOG=warn "$PIER_PROXY" --store "$STORE" --listen "127.0.0.1:$PIER_PORT" \
    --admin-listen "127.0.0.1:$ADMIN_PORT" --base-domain localhost \
    >"$TMP/pier-proxy.log" 2>&1 &
PIDS+=($!)
PIER_PID=$!

mkdir -p "$TMP/nginx"
MIME_TYPES=/etc/nginx/mime.types
[[ -f $MIME_TYPES ]] || die "no $MIME_TYPES"
# Minimal nginx at its best for static files (sendfile, and open_file_cache so it keeps file
# descriptors and sizes instead of opening each file per request), same caching headers as
# pier (strong ETag is nginx's default, plus Last-Modified). keepalive_requests is raised so neither server closes wrk's connections
# mid-run (nginx's default is 1000 requests per connection; pier has no limit).
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include $MIME_TYPES;
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/html text/css text/plain application/javascript;
    access_log off;
    sendfile on;
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_errors on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    etag on;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        server_name $HOST;
        root $SITE;
        add_header Cache-Control "public, max-age=0, must-revalidate";
        add_header X-Content-Type-Options nosniff;
    }
}
EOF
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -g 'daemon off;' >"$TMP/nginx/stdout.log" 2>&1 &
PIDS+=($!)
NGINX_PID=$!

url() { # server file
    case $1 in
    pier) echo "http://127.0.0.1:$PIER_PORT/$2" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT/$2" ;;
    esac
}
for server in pier nginx; do
    ready=0
    for _ in $(seq 100); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $HOST" "$(url $server index.html)") == 200 ]]; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if [[ $ready != 1 ]]; then
        cat "$TMP/pier-proxy.log" "$TMP/nginx/error.log" "$TMP/nginx/stdout.log" >&2 2>/dev/null || true
        die "$server did not come up"
    fi
done
log "pier-proxy on :$PIER_PORT (admin :$ADMIN_PORT), nginx on :$NGINX_PORT"

# Both must send the same bytes with identity encoding; this request also warms each server.
for f in "${FILES[@]}"; do
    want=$(sha256sum <"$SITE/$f" | cut -d' ' -f1)
    for server in pier nginx; do
        got=$(curl -sf -H "Host: $HOST" -D "$TMP/headers-$server-$f" "$(url $server "$f")" | sha256sum | cut -d' ' -f1) ||
            die "$server: GET /$f failed"
        [[ $got == "$want" ]] || die "$server: /$f body differs from the file"
        grep -qi '^content-encoding' "$TMP/headers-$server-$f" && die "$server: /$f was not sent identity-encoded"
    done
done
log "both servers send identical bodies; response headers (pier | nginx) for app.js:"
paste -d'|' <(tr -d '\r' <"$TMP/headers-pier-app.js") <(tr -d '\r' <"$TMP/headers-nginx-app.js") |
    sed 's/^/    /' >&2

# ---------------------------------------------------------------------------------------
# 5. wrk runs.
# ---------------------------------------------------------------------------------------
# Prints "req/s p99_ms errors" from one wrk output.
parse_wrk() {
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ *99%/ {
            v = $2; unit = v; sub(/^[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
            ms = (unit == "us") ? v / 1000 : (unit == "ms") ? v : (unit == "s") ? v * 1000 : (unit == "m") ? v * 60000 : -1
            p99 = ms
        }
        /Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { errors += $5 }
        END { printf "%s %s %d\n", (rps == "" ? 0 : rps), (p99 == "" ? -1 : p99), errors }
    ' "$1"
}

# CPU time (clock ticks, user + system) used so far by a server: pier-proxy, or nginx's
# master and workers. Divided by the requests wrk counted, it gives CPU per request, which
# other load on the machine disturbs less than req/s does.
CLK_TCK=$(getconf CLK_TCK)
server_ticks() {
    local pids
    case $1 in
    pier) pids=$PIER_PID ;;
    nginx) pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
    esac
    for pid in $pids; do
        sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null || true
    done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# CPU time (clock ticks) all CPUs spent working so far, from the first line of /proc/stat:
# user, nice, system, irq and softirq (idle, iowait and steal are not work; guest time is
# already inside user and nice).
# On loopback the kernel charges a TCP transmit to whichever process happens to trigger it:
# data queued while the socket buffer was full goes out when the client's ACK arrives, in the
# client's context. So the server's own CPU time depends on how its writes meet the client's
# reads; the whole machine's time per request, with the same client for both servers, does not.
machine_ticks() {
    awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

per_request() { # ticks requests -> µs
    awk -v t="$1" -v hz="$CLK_TCK" -v n="$2" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }'
}

# Percent of all CPUs busy over one second, from /proc/stat. Called between runs, when both
# servers are idle, so it measures other work on the machine.
cpu_busy() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        n = split(a, x); split(b, y)
        for (i = 2; i <= n; i++) { d = y[i] - x[i]; total += d; if (i == 5 || i == 6) idle += d }
        printf "%d", (total > 0 ? 100 * (total - idle) / total : 0)
    }'
}
# Waits (up to BENCH_IDLE_WAIT seconds) until the machine is quiet: a compile or a test
# suite running beside the benchmark moves req/s by 30% or more on 2 cores.
NOISY=0
wait_idle() {
    local waited=0 busy
    while :; do
        busy=$(cpu_busy)
        ((busy < 15)) && return 0
        if ((waited >= IDLE_WAIT)); then
            log "warning: the machine is still ${busy}% busy; running anyway"
            NOISY=1
            return 0
        fi
        ((waited == 0)) && log "other work keeps the CPUs ${busy}% busy; waiting up to ${IDLE_WAIT}s for quiet"
        sleep 4
        waited=$((waited + 5))
    done
}

declare -A RPS P99 ERRS CPU MACHINE RPS_MIN RPS_MAX
log "wrk: ${THREADS} threads, ${DURATION}s per run, -c$CONNS (-c$BIG_CONNS for big.bin), $RUNS run(s); best run kept"
for ((run = 1; run <= RUNS; run++)); do
    for f in "${FILES[@]}"; do
        c=$CONNS
        [[ $f == big.bin ]] && c=$BIG_CONNS
        order=(nginx pier)
        ((run % 2 == 0)) && order=(pier nginx)
        for server in "${order[@]}"; do
            out="$TMP/wrk-$server-$f-$run.txt"
            wait_idle
            ticks=$(server_ticks $server)
            all_ticks=$(machine_ticks)
            "$WRK" -t"$THREADS" -c"$c" -d"${DURATION}s" --latency -H "Host: $HOST" "$(url $server "$f")" >"$out" 2>&1 ||
                die "wrk failed against $server: $(cat "$out")"
            ticks=$(($(server_ticks $server) - ticks))
            all_ticks=$(($(machine_ticks) - all_ticks))
            read -r rps p99 errors < <(parse_wrk "$out")
            requests=$(awk '/requests in/ { print $1 }' "$out")
            cpu=$(per_request "$ticks" "$requests")
            machine=$(per_request "$all_ticks" "$requests")
            log "run $run $f $server: $rps req/s, p99 ${p99} ms, CPU µs/req: server ${cpu}, machine ${machine}, errors $errors"
            key="$server/$f"
            if [[ -z ${RPS_MIN[$key]:-} ]] || awk -v a="$rps" -v b="${RPS_MIN[$key]}" 'BEGIN { exit !(a < b) }'; then
                RPS_MIN[$key]=$rps
            fi
            if [[ -z ${RPS_MAX[$key]:-} ]] || awk -v a="$rps" -v b="${RPS_MAX[$key]}" 'BEGIN { exit !(a > b) }'; then
                RPS_MAX[$key]=$rps
            fi
            if [[ -z ${RPS[$key]:-} ]] || awk -v a="$rps" -v b="${RPS[$key]}" 'BEGIN { exit !(a > b) }'; then
                RPS[$key]=$rps
                P99[$key]=$p99
            fi
            if [[ -z ${CPU[$key]:-} ]] || awk -v a="$cpu" -v b="${CPU[$key]}" 'BEGIN { exit !(a < b) }'; then
                CPU[$key]=$cpu
            fi
            if [[ -z ${MACHINE[$key]:-} ]] || awk -v a="$machine" -v b="${MACHINE[$key]}" 'BEGIN { exit !(a < b) }'; then
                MACHINE[$key]=$machine
            fi
            ERRS[$key]=$((${ERRS[$key]:-0} + errors))
        done
    done
done

# ---------------------------------------------------------------------------------------
# 6. First byte of a file the proxy has never served.
# ---------------------------------------------------------------------------------------
# Fresh files with unique content, deployed as a new (preview) deployment. Its host, alias
# and manifest are warmed with /index.html first, so the timed request misses only the blob.
mkdir -p "$SITE/fresh"
python3 - "$SITE/fresh" "$FB_SAMPLES" <<'EOF'
import hashlib, os, sys
folder, samples = sys.argv[1], int(sys.argv[2])
for size, name in ((100 * 1024, "small"), (5 * 1024 * 1024, "big")):
    for i in range(samples):
        out, n = bytearray(), 0
        while len(out) < size:
            out += hashlib.sha256(b"fresh-%s-%d-%d" % (name.encode(), i, n)).digest()
            n += 1
        with open(os.path.join(folder, f"{name}-{i}.bin"), "wb") as f:
            f.write(out[:size])
EOF
log "pier deploy (fresh files)"
"$PIER" --store "$STORE" deploy "$SITE" --project bench --json >"$TMP/deploy2.json" 2>"$TMP/deploy2.err" ||
    die "pier deploy failed: $(cat "$TMP/deploy2.err")"
read -r DEPLOY_ID PREVIEW < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["deployment"]
print(d["id"], d["preview"])' "$TMP/deploy2.json")
"$PIER" --store "$STORE" inspect "$DEPLOY_ID" --json >"$TMP/inspect.json"
declare -A SHA
while read -r path sha; do
    SHA[$path]=$sha
done < <(python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["deployment"]["files"]:
    print(f["path"], f["sha256"])' "$TMP/inspect.json")
FRESH_HOST=$PREVIEW.localhost
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $FRESH_HOST" "$(url pier index.html)") == 200 ]] ||
    die "the fresh deployment does not answer at $FRESH_HOST"

# Milliseconds to the first byte, and in total, for one curl.
ttfb() { curl -sf -o /dev/null -w '%{time_starttransfer} %{time_total}\n' "$@" |
    awk '{ printf "%.3f %.3f\n", $1 * 1000, $2 * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A FB
for kind in small big; do
    for ((i = 0; i < FB_SAMPLES; i++)); do
        path=fresh/$kind-$i.bin
        sha=${SHA[$path]:-}
        [[ -n $sha && -f $STORE/blobs/$sha ]] || die "no blob for $path in the store"
        read -r pb pt < <(ttfb -H "Host: $FRESH_HOST" "$(url pier "$path")") || die "pier: GET /$path failed"
        read -r pb2 pt2 < <(ttfb -H "Host: $FRESH_HOST" "$(url pier "$path")") || die "pier: GET /$path failed"
        read -r nb nt < <(ttfb -H "Host: $HOST" "$(url nginx "$path")") || die "nginx: GET /$path failed"
        read -r db dt < <(ttfb "file://$STORE/blobs/$sha") || die "cannot read the blob of $path"
        FB[$kind/pier]+="$pb "
        FB[$kind/pier_total]+="$pt "
        FB[$kind/pier_warm]+="$pb2 "
        FB[$kind/nginx]+="$nb "
        FB[$kind/direct]+="$db "
        FB[$kind/direct_total]+="$dt "
    done
done
med() { tr ' ' '\n' <<<"${FB[$1]}" | grep . | median; }

# ---------------------------------------------------------------------------------------
# 7. Report.
# ---------------------------------------------------------------------------------------
ENFORCE_FAIL=0
echo
echo "Pier edge proxy vs nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), wrk ${THREADS}t, ${DURATION}s per run, best of $RUNS run(s)."
echo "$(nproc) cores shared by wrk and the server under test (same for both); identity encoding."
echo "req/s and p99 from the best run; CPU = the server's user+system CPU time per request (lowest run)."
echo
printf '%-10s %8s %5s %11s %11s %6s %9s %9s %9s %9s %6s  %s\n' file size conns "nginx req/s" "pier req/s" ratio "nginx p99" "pier p99" "nginx CPU" "pier CPU" "CPU ×" goal
for f in "${FILES[@]}"; do
    c=$CONNS goal=$GOAL_SMALL cpu_goal=$GOAL_CPU_SMALL p99_rule=0
    if [[ $f == big.bin ]]; then c=$BIG_CONNS goal=$GOAL_BIG cpu_goal=$GOAL_CPU_BIG p99_rule=1; fi
    n=${RPS[nginx/$f]} p=${RPS[pier/$f]}
    np=${P99[nginx/$f]} pp=${P99[pier/$f]}
    ratio=$(awk -v p="$p" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? p / n : 0) }')
    cpu_ratio=$(awk -v p="${CPU[pier/$f]}" -v n="${CPU[nginx/$f]}" 'BEGIN { printf "%.2f", (n > 0 ? p / n : 0) }')
    met=$(awk -v r="$ratio" -v g="$goal" -v cr="$cpu_ratio" -v cg="$cpu_goal" -v np="$np" -v pp="$pp" -v rule="$p99_rule" \
        'BEGIN { print (r >= g && cr <= cg && (!rule || pp <= np)) ? "met" : "MISSED" }')
    [[ $met == met ]] || ENFORCE_FAIL=1
    goal_text="≥${goal}×, CPU ≤ ${cpu_goal}×"
    ((p99_rule)) && goal_text+=", p99 ≤ nginx"
    size=$(stat -c %s "$SITE/$f")
    printf '%-10s %8s %5s %11.0f %11.0f %5s× %7.2fms %7.2fms %6.1fµs %6.1fµs %5s×  %s %s\n' \
        "$f" "$size" "$c" "$n" "$p" "$ratio" "$np" "$pp" "${CPU[nginx/$f]}" "${CPU[pier/$f]}" "$cpu_ratio" "$goal_text" "$met"
done
echo
echo "CPU per request in µs (lowest run): the server's own, and the whole machine's (server, wrk and the kernel's"
echo "loopback TCP wherever it ran). On loopback the kernel charges much of a send to the client: data queued"
echo "behind a full socket buffer goes out when wrk's ACK arrives, in wrk's context. The machine's figure, with"
echo "the same client for both servers, is the one that does not depend on that."
printf '%-10s %11s %11s %9s %14s %14s %10s   %s\n' file "nginx own" "pier own" "own ×" "nginx machine" "pier machine" "machine ×" "goal on the machine's figure"
for f in "${FILES[@]}"; do
    cpu_goal=$GOAL_CPU_SMALL
    [[ $f == big.bin ]] && cpu_goal=$GOAL_CPU_BIG
    own=$(awk -v p="${CPU[pier/$f]}" -v n="${CPU[nginx/$f]}" 'BEGIN { printf "%.2f", (n > 0 ? p / n : 0) }')
    whole=$(awk -v p="${MACHINE[pier/$f]}" -v n="${MACHINE[nginx/$f]}" 'BEGIN { printf "%.2f", (n > 0 ? p / n : 0) }')
    met=$(awk -v r="$whole" -v g="$cpu_goal" 'BEGIN { print (r <= g) ? "met" : "MISSED" }')
    printf '%-10s %9.1fµs %9.1fµs %8s× %12.1fµs %12.1fµs %9s×   ≤ %s× %s\n' "$f" "${CPU[nginx/$f]}" "${CPU[pier/$f]}" "$own" \
        "${MACHINE[nginx/$f]}" "${MACHINE[pier/$f]}" "$whole" "$cpu_goal" "$met"
done
echo
echo "Spread of req/s over the $RUNS runs (lowest–highest):"
for f in "${FILES[@]}"; do
    printf '  %-10s nginx %8.0f–%-8.0f pier %8.0f–%-8.0f\n' "$f" \
        "${RPS_MIN[nginx/$f]}" "${RPS_MAX[nginx/$f]}" "${RPS_MIN[pier/$f]}" "${RPS_MAX[pier/$f]}"
done
errs=0
for k in "${!ERRS[@]}"; do errs=$((errs + ERRS[$k])); done
((NOISY == 0)) || echo "warning: some runs started while other work kept the CPUs busy; the figures are noisy"
((errs == 0)) || echo "warning: wrk counted $errs socket errors or non-2xx/3xx responses (see the log)"
echo
echo "First byte of a never-served file, median of $FB_SAMPLES, in ms (each blob was just written, so it is in the page cache):"
printf '%-18s %12s %12s %14s %14s   %12s %12s\n' file "direct blob" "nginx 1st" "pier 1st" "pier 2nd" "direct total" "pier 1st total"
for kind in small big; do
    printf '%-18s %12.3f %12.3f %14.3f %14.3f   %12.3f %12.3f\n' "$kind ($(stat -c %s "$SITE/fresh/$kind-0.bin") B)" \
        "$(med $kind/direct)" "$(med $kind/nginx)" "$(med $kind/pier)" "$(med $kind/pier_warm)" \
        "$(med $kind/direct_total)" "$(med $kind/pier_total)"
done
echo "direct blob = curl file://<store>/blobs/<sha256>; nginx/pier = curl over loopback HTTP (connect included);"
echo "pier 1st = blob not in pier's cache (the deployment was warmed), pier 2nd = the same file again."
big_first=$(med big/pier)
first_met=$(awk -v v="$big_first" -v g="$GOAL_FIRST_BYTE_MS" 'BEGIN { print (v <= g) ? "met" : "MISSED" }')
[[ $first_met == met ]] || ENFORCE_FAIL=1
echo "goal: first byte of a never-served 5 MB file ≤ ${GOAL_FIRST_BYTE_MS} ms: ${big_first} ms, $first_met"

if [[ ${BENCH_ENFORCE:-0} == 1 && $ENFORCE_FAIL == 1 ]]; then
    log "a goal was missed (BENCH_ENFORCE=1)"
    exit 1
fi
