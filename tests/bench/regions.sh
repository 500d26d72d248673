#!/usr/bin/env bash
# Multi-region deploy benchmark: `pier deploy` of a generated 5,000-file site to one region
# and to two regions (two s3s-fs servers on loopback, one per region), against
# `rclone copy --checksum` to both servers one after the other. Measures a first deploy and a
# redeploy after one file changed; prints each tool's best of BENCH_RUNS (default 3) with the
# spread, and the cost of the second region (goals: first deploy <= 1.3x one region, one-file
# redeploy <= 1.2x). Each figure comes with the CPU seconds of pier and of the servers, and the
# floor those impose when the servers share the machine's cores. See tests/bench/README.md.
#
# A benchmark, not a test: it prints figures and exits 0 unless something failed (set
# BENCH_ENFORCE=1 to also exit 1 when a goal is missed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${PIER_BENCH_CACHE:-$HOME/.cache/pier-bench}
RUNS=${BENCH_RUNS:-3}
FILES=${BENCH_FILES:-5000}
SEED=${BENCH_SEED:-20241127}
STEP_TIMEOUT=${BENCH_TIMEOUT:-300}
S3S_FS_VERSION=${S3S_FS_VERSION:-0.14.1}
GOAL_FIRST=1.3
GOAL_REDEPLOY=1.2

source "$HERE/common.sh"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"
find_rclone
find_s3s_fs
find_pier

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pier-regions-bench.XXXXXX")
cleanup() {
    local status=$?
    stop_s3s_fs
    [[ ${BENCH_KEEP:-0} == 1 ]] && log "kept $WORK" || rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 PIER_STORE PIER_BASE_URL AWS_CA_BUNDLE
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export RCLONE_CONFIG=$WORK/rclone.conf

SITE=$WORK/site
log "generating $FILES files (seed $SEED)"
GEN=$(python3 "$HERE/gen_site.py" "$SITE" --files "$FILES" --seed "$SEED") || die "generating the site failed"
SITE_BYTES=${GEN#* }
CHANGED=$(cd "$SITE" && find . -type f | LC_ALL=C sort | sed -n "$(((FILES + 1) / 2))p")
CHANGED=${CHANGED#./}
cp -p "$SITE/$CHANGED" "$WORK/changed.orig"

# One s3s-fs per region; rclone names them us and eu.
start_s3s_fs "$WORK/us" "$WORK/s3s-us.log"
US=$S3S_ENDPOINT
start_s3s_fs "$WORK/eu" "$WORK/s3s-eu.log"
EU=$S3S_ENDPOINT
for remote in US EU; do
    endpoint=${!remote}
    export "RCLONE_CONFIG_${remote}_TYPE=s3" "RCLONE_CONFIG_${remote}_PROVIDER=Other"
    export "RCLONE_CONFIG_${remote}_ACCESS_KEY_ID=test" "RCLONE_CONFIG_${remote}_SECRET_ACCESS_KEY=test"
    export "RCLONE_CONFIG_${remote}_ENDPOINT=$endpoint" "RCLONE_CONFIG_${remote}_REGION=us-east-1"
    export "RCLONE_CONFIG_${remote}_FORCE_PATH_STYLE=true" "RCLONE_CONFIG_${remote}_ENV_AUTH=false"
done
store_url() { echo "s3://$2/pier?endpoint=$1&region=us-east-1"; }

# Checks pier's JSON: a deployment, and every other region in sync.
check_pier() {
    python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
d = doc.get("deployment") or sys.exit(f"unexpected pier output: {doc}")
regions = d.get("regions", [])
if len(regions) != int(sys.argv[2]) or any(r["state"] != "in_sync" for r in regions):
    sys.exit(f"regions not in sync: {regions}")
print(d["uploaded_blobs"])
PY
}

deploy_one() { # RUN STEP
    printf 'store = "%s"\n' "$(store_url "$US" "one-r$1")" >"$WORK/one.toml"
    PIER_CONFIG=$WORK/one.toml run_step "pier deploy (one region)" "$WORK/one-r$1-$2" \
        "$PIER_BIN" deploy "$SITE" --project bench-site --prod --json
    UPLOADS=$(check_pier "$WORK/one-r$1-$2.out" 0) || die "pier's one-region deploy"
}
deploy_two() {
    cat >"$WORK/two.toml" <<TOML
store = "$(store_url "$US" "two-r$1")"
region = "us-east-1"

[[regions]]
name = "eu-west-1"
store = "$(store_url "$EU" "two-r$1")"
TOML
    PIER_CONFIG=$WORK/two.toml run_step "pier deploy (two regions)" "$WORK/two-r$1-$2" \
        "$PIER_BIN" deploy "$SITE" --project bench-site --prod --json
    UPLOADS=$(check_pier "$WORK/two-r$1-$2.out" 1) || die "pier's two-region deploy"
}
deploy_rclone() {
    local seconds=0 cpu=0 server_cpu=0
    for remote in us eu; do
        run_step "rclone copy to $remote" "$WORK/rclone-$remote-r$1-$2" \
            "$RCLONE" copy --checksum -v "$SITE" "$remote:rclone-r$1"
        seconds=$(awk -v a="$seconds" -v b="$STEP_SECONDS" 'BEGIN { printf "%.3f", a + b }')
        cpu=$(awk -v a="$cpu" -v b="$STEP_CPU" 'BEGIN { printf "%.2f", a + b }')
        server_cpu=$(awk -v a="$server_cpu" -v b="$STEP_SERVER_CPU" 'BEGIN { printf "%.2f", a + b }')
    done
    STEP_SECONDS=$seconds STEP_CPU=$cpu STEP_SERVER_CPU=$server_cpu
    UPLOADS=$(cat "$WORK"/rclone-*-r"$1-$2".err | grep -c ': Copied (' || true)
}

TOOLS=(one two rclone)
declare -A LABEL=([one]="pier, one region" [two]="pier, two regions" [rclone]="rclone copy --checksum x2")
declare -A FIRST REDEPLOY UP_FIRST UP_REDEPLOY CPU_FIRST CPU_REDEPLOY
log "site: $FILES files, $SITE_BYTES bytes; $RUNS run(s), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for run in $(seq "$RUNS"); do
    order=()
    for i in 0 1 2; do order+=("${TOOLS[$(((i + run - 1) % 3))]}"); done
    cp -p "$WORK/changed.orig" "$SITE/$CHANGED"
    for bucket in "one-r$run" "two-r$run" "rclone-r$run"; do
        "$RCLONE" mkdir "us:$bucket" && "$RCLONE" mkdir "eu:$bucket" || die "could not create $bucket"
    done
    for tool in "${order[@]}"; do
        "deploy_$tool" "$run" first
        log "run $run: ${LABEL[$tool]} first ${STEP_SECONDS}s ($UPLOADS uploaded; CPU ${STEP_CPU}s, servers ${STEP_SERVER_CPU}s)"
        FIRST[$tool]="${FIRST[$tool]:-} $STEP_SECONDS"
        CPU_FIRST[$tool]="${CPU_FIRST[$tool]:-} $STEP_SECONDS:$STEP_CPU:$STEP_SERVER_CPU"
        UP_FIRST[$tool]=$UPLOADS
    done
    sleep 1
    python3 "$HERE/gen_site.py" --change "$SITE/$CHANGED" --seed "$run" >/dev/null
    for tool in "${order[@]}"; do
        "deploy_$tool" "$run" redeploy
        log "run $run: ${LABEL[$tool]} one-file redeploy ${STEP_SECONDS}s ($UPLOADS uploaded; CPU ${STEP_CPU}s, servers ${STEP_SERVER_CPU}s)"
        REDEPLOY[$tool]="${REDEPLOY[$tool]:-} $STEP_SECONDS"
        CPU_REDEPLOY[$tool]="${CPU_REDEPLOY[$tool]:-} $STEP_SECONDS:$STEP_CPU:$STEP_SERVER_CPU"
        UP_REDEPLOY[$tool]=$UPLOADS
    done
done

best() { tr ' ' '\n' <<<"$1" | awk 'NF { if (m == "" || $1 < m) m = $1 } END { print m }'; }
spread() { tr ' ' '\n' <<<"$1" | awk 'NF { if (lo == "" || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { printf "%s-%s", lo, hi }'; }
# The CPU seconds (tool/servers) of the fastest run, from "seconds:cpu:servers" entries.
cpu_of_best() { tr ' ' '\n' <<<"$1" | awk -F: 'NF == 3 { if (m == "" || $1 < m) { m = $1; c = $2 "/" $3 } } END { print c }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "MISSED" }'; }

echo
echo "Multi-region deploy benchmark (best of $RUNS, spread in brackets): $FILES files," \
    "$(awk -v b="$SITE_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, two s3s-fs $S3S_FS_VERSION on loopback, $(nproc) cores"
echo "  pier:   $("$PIER_BIN" --version 2>/dev/null)"
echo "  rclone: $("$RCLONE" version 2>/dev/null | head -n 1)"
echo
printf '%-28s %22s %22s %10s %10s %13s %13s\n' "" "first (s)" "1-file (s)" "up first" "up 1-file" "CPU first" "CPU 1-file"
for tool in "${TOOLS[@]}"; do
    printf '%-28s %8s %13s %8s %13s %10s %10s %13s %13s\n' "${LABEL[$tool]}" \
        "$(best "${FIRST[$tool]}")" "[$(spread "${FIRST[$tool]}")]" \
        "$(best "${REDEPLOY[$tool]}")" "[$(spread "${REDEPLOY[$tool]}")]" \
        "${UP_FIRST[$tool]}" "${UP_REDEPLOY[$tool]}" \
        "$(cpu_of_best "${CPU_FIRST[$tool]}")" "$(cpu_of_best "${CPU_REDEPLOY[$tool]}")"
done
echo "(CPU: seconds of the tool / of both s3s-fs servers, in the fastest run; on $(nproc) cores they share)"
R_FIRST=$(ratio "$(best "${FIRST[two]}")" "$(best "${FIRST[one]}")")
R_RE=$(ratio "$(best "${REDEPLOY[two]}")" "$(best "${REDEPLOY[one]}")")
echo
printf 'two regions / one region, first deploy:      %6sx  (goal <= %sx: %s)\n' "$R_FIRST" "$GOAL_FIRST" "$(verdict "$R_FIRST" "$GOAL_FIRST")"
printf 'two regions / one region, one-file redeploy: %6sx  (goal <= %sx: %s)\n' "$R_RE" "$GOAL_REDEPLOY" "$(verdict "$R_RE" "$GOAL_REDEPLOY")"
# The servers share these cores with pier: with the second server's work added (and pier's own
# second-region work taken as free), two regions cannot take less than this here.
floor_of() { # ONE_CPU_ENTRIES TWO_CPU_ENTRIES ONE_BEST
    local one two
    one=$(cpu_of_best "$1") two=$(cpu_of_best "$2")
    awk -v p="${one%/*}" -v s="${two#*/}" -v n="$(nproc)" -v b="$3" \
        'BEGIN { f = (p + s) / n; printf "%.2fs (%.2fx one region)", f, (b > 0) ? f / b : 0 }'
}
printf 'floor on %s shared cores, first deploy:       %s\n' "$(nproc)" \
    "$(floor_of "${CPU_FIRST[one]}" "${CPU_FIRST[two]}" "$(best "${FIRST[one]}")")"
printf 'floor on %s shared cores, one-file redeploy:  %s\n' "$(nproc)" \
    "$(floor_of "${CPU_REDEPLOY[one]}" "${CPU_REDEPLOY[two]}" "$(best "${REDEPLOY[one]}")")"
printf 'pier two regions / rclone to both, first:    %6sx\n' "$(ratio "$(best "${FIRST[two]}")" "$(best "${FIRST[rclone]}")")"
printf 'pier two regions / rclone to both, 1-file:   %6sx\n' "$(ratio "$(best "${REDEPLOY[two]}")" "$(best "${REDEPLOY[rclone]}")")"
if [[ ${BENCH_ENFORCE:-0} == 1 && ($(verdict "$R_FIRST" "$GOAL_FIRST") != met || $(verdict "$R_RE" "$GOAL_REDEPLOY") != met) ]]; then
    exit 1
fi
