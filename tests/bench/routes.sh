#!/usr/bin/env bash
# Route-engine benchmark: pier-proxy serving a site with a 200-rule vercel.json (70 redirects,
# 60 rewrites, 70 header rules, with parameters) against the same site with no config, and
# against nginx with the equivalent rules (regex `location`s with `return 308`, `map` +
# `add_header`, and `try_files` falling back to `rewrite`s), all on loopback, driven by wrk.
# The requests walk every rule: a file under /docs/ (served with one header rule's header), a
# rewrite near the end of the list, and a redirect near the end. Prints req/s, CPU per
# request and the goals (issue 15: ≤ 10% slower than no rules, ≥ 1.2× nginx with rules).
#
# A benchmark, not a test: it prints figures and exits 0 unless something failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DURATION=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-64}
RUNS=${BENCH_RUNS:-3}

log() { printf '[routes-bench %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
WRK=${WRK:-$(command -v wrk || true)}
if [[ ! -x $NGINX || -z $WRK ]]; then
    log "apt-get install nginx wrk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light wrk >&2
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    WRK=$(command -v wrk)
fi

TARGET=${CARGO_TARGET_DIR:-$REPO/target}
# Only the proxy is timed, so the CLI that deploys the sites may be a debug build.
PIER=${PIER_BIN:-$TARGET/debug/pier}
PIER_PROXY=${PIER_PROXY_BIN:-$TARGET/release/pier-proxy}
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build -p pier-cli; cargo build --release -p pier-proxy"
    (cd "$REPO" && cargo build -q -p pier-cli && cargo build --release -q -p pier-proxy) >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pier-routes-bench.XXXXXX")
chmod 755 "$TMP"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$TMP"
}
trap cleanup EXIT
export PIER_CONFIG=$TMP/pier-config.toml
unset PIER_STORE PIER_BASE_URL

# The site (twice: with and without the rules) and the equivalent nginx rules.
python3 - "$TMP" <<'EOF'
import json, os, sys
tmp = sys.argv[1]
page = "<!doctype html><title>page</title>" + "<p>Pier route benchmark.</p>" * 60
for site in ("plain", "rules"):
    for path in ("index.html", "docs/page.html", "app.html"):
        full = os.path.join(tmp, site, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        open(full, "w").write(page)
redirects = [{"source": f"/old-{i}/:slug", "destination": f"/new-{i}/:slug"} for i in range(70)]
rewrites = [{"source": f"/app-{i}/:path*", "destination": "/app.html"} for i in range(60)]
headers = [{"source": f"/section-{i}/:path*", "headers": [{"key": f"X-Rule-{i}", "value": "on"}]}
           for i in range(69)]
headers.append({"source": "/docs/:path*", "headers": [{"key": "X-Docs", "value": ":path"}]})
json.dump({"redirects": redirects, "rewrites": rewrites, "headers": headers},
          open(os.path.join(tmp, "rules", "vercel.json"), "w"))
# nginx: the same rules, in its own idioms.
maps, adds, locations, fallbacks = [], [], [], []
for i in range(69):
    maps.append(f"map $uri $rule_{i} {{ ~^/section-{i}(/|$) on; }}")
    adds.append(f"add_header X-Rule-{i} $rule_{i};")
maps.append("map $uri $docs { ~^/docs/(?<p>.*)$ $p; }")
adds.append("add_header X-Docs $docs;")
for i in range(70):
    locations.append(f"location ~ ^/old-{i}/([^/]+)$ {{ return 308 /new-{i}/$1; }}")
for i in range(60):
    fallbacks.append(f"rewrite ^/app-{i}(/.*)?$ /app.html last;")
open(os.path.join(tmp, "nginx-rules.conf"), "w").write(
    "\n".join(maps) + "\nserver {\n    listen 127.0.0.1:NGINX_PORT;\n    root " + os.path.join(tmp, "rules")
    + ";\n    " + "\n    ".join(adds) + "\n    " + "\n    ".join(locations)
    + "\n    location / { try_files $uri $uri.html @rewrites; }\n    location @rewrites {\n        "
    + "\n        ".join(fallbacks) + "\n        return 404;\n    }\n}\n")
EOF
for site in plain rules; do
    "$PIER" --store "$TMP/store" deploy "$TMP/$site" --project "$site" --prod --json >/dev/null 2>"$TMP/deploy.err" ||
        die "pier deploy $site failed: $(cat "$TMP/deploy.err")"
done

read -r PIER_PORT NGINX_PORT < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks: s.close()')
PIER_LOG=warn "$PIER_PROXY" --store "$TMP/store" --listen "127.0.0.1:$PIER_PORT" --base-domain localhost \
    >"$TMP/pier-proxy.log" 2>&1 &
PIDS+=($!)
PIER_PID=$!
mkdir -p "$TMP/nginx"
sed -i "s/NGINX_PORT/$NGINX_PORT/" "$TMP/nginx-rules.conf"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    open_file_cache max=10000 inactive=60s;
    keepalive_requests 1000000;
    absolute_redirect off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    include $TMP/nginx-rules.conf;
}
EOF
"$NGINX" -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" -g 'daemon off;' >"$TMP/nginx/stdout.log" 2>&1 &
PIDS+=($!)
NGINX_PID=$!
sleep 0.5

# server name → "port host"
endpoint() {
    case $1 in
    plain) echo "$PIER_PORT plain.localhost" ;;
    rules) echo "$PIER_PORT rules.localhost" ;;
    nginx) echo "$NGINX_PORT localhost" ;;
    esac
}
# The answers must agree before anything is timed.
check() { # server path want_status [header]
    local port host got
    read -r port host < <(endpoint "$1")
    got=$(curl -s -o /dev/null -D - -H "Host: $host" "http://127.0.0.1:$port$2" | tr -d '\r')
    grep -q "^HTTP/1.1 $3" <<<"$got" || die "$1 $2: want $3, got $(head -1 <<<"$got")"
    [[ -z ${4:-} ]] || grep -qi "^$4" <<<"$got" || die "$1 $2: no $4 header"
}
for server in rules nginx; do
    check $server /docs/page.html 200 "x-docs: page.html"
    check $server /app-59/deep/link 200
    check $server /old-69/x 308 "location: /new-69/x"
done
check plain /docs/page.html 200

CLK_TCK=$(getconf CLK_TCK)
ticks() {
    local pids=$PIER_PID
    [[ $1 == nginx ]] && pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"
    for pid in $pids; do sed 's/.*) //' "/proc/$pid/stat"; done | awk '{ t += $12 + $13 } END { print t + 0 }'
}
declare -A BEST CPU
for ((run = 1; run <= RUNS; run++)); do
    for target in /docs/page.html /app-59/deep/link /old-69/x; do
        for server in plain rules nginx; do
            [[ $server == plain && $target != /docs/page.html ]] && continue
            read -r port host < <(endpoint $server)
            before=$(ticks $server)
            out=$("$WRK" -t2 -c"$CONNS" -d"${DURATION}s" -H "Host: $host" "http://127.0.0.1:$port$target")
            used=$(($(ticks $server) - before))
            rps=$(awk '/Requests\/sec:/ { print $2 }' <<<"$out")
            requests=$(awk '/requests in/ { print $1 }' <<<"$out")
            key="$server $target"
            if awk -v a="$rps" -v b="${BEST[$key]:-0}" 'BEGIN { exit !(a > b) }'; then
                BEST[$key]=$rps
                CPU[$key]=$(awk -v t="$used" -v n="$requests" -v c="$CLK_TCK" 'BEGIN { printf "%.1f", t / c / n * 1e6 }')
            fi
        done
    done
done

printf '\n%-20s %12s %12s %12s %26s\n' "request" "pier plain" "pier rules" "nginx rules" "CPU µs (plain/rules/nginx)"
for target in /docs/page.html /app-59/deep/link /old-69/x; do
    plain=${BEST["plain $target"]:--}
    printf '%-20s %12s %12s %12s %26s\n' "$target" "$plain" "${BEST["rules $target"]}" "${BEST["nginx $target"]}" \
        "${CPU["plain $target"]:--} / ${CPU["rules $target"]} / ${CPU["nginx $target"]}"
done
awk -v p="${BEST["plain /docs/page.html"]}" -v r="${BEST["rules /docs/page.html"]}" -v n="${BEST["nginx /docs/page.html"]}" 'BEGIN {
    printf "\n/docs/page.html: rules cost %.1f%% of req/s against no rules (goal ≤ 10%%); pier with rules %.2f× nginx with rules (goal ≥ 1.2×)\n", 100 * (1 - r / p), r / n
}'
