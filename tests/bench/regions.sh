#!/usr/bin/env bash
# Multi-region deploy benchmark: `pier deploy` of a generated 5,000-file site to one region
# and to two regions (two s3s-fs servers on loopback, one per region), against
# `rclone copy --checksum` to both servers one after the other. Measures a first deploy and a
# redeploy after one file changed; prints each tool's best of BENCH_RUNS (default 3) with the
# spread, and the cost of the second region (goals: first deploy <= 1.3x one region, one-file
# redeploy <= 1.2x). See tests/bench/README.md.
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
    local t0
    t0=$(now)
    for remote in us eu; do
        timeout "$STEP_TIMEOUT" "$RCLONE" copy --checksum -v "$SITE" "$remote:rclone-r$1" \
            >"$WORK/rclone-$remote-r$1-$2.out" 2>"$WORK/rclone-$remote-r$1-$2.err" ||
            { tail -n 40 "$WORK/rclone-$remote-r$1-$2.err" >&2; die "rclone copy to $remote failed"; }
    done
    STEP_SECONDS=$(elapsed "$t0" "$(now)")
    UPLOADS=$(cat "$WORK"/rclone-*-r"$1-$2".err | grep -c ': Copied (' || true)
}

TOOLS=(one two rclone)
declare -A LABEL=([one]="pier, one region" [two]="pier, two regions" [rclone]="rclone copy --checksum x2")
declare -A FIRST REDEPLOY UP_FIRST UP_REDEPLOY
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
        log "run $run: ${LABEL[$tool]} first ${STEP_SECONDS}s ($UPLOADS uploaded)"
        FIRST[$tool]="${FIRST[$tool]:-} $STEP_SECONDS"
        UP_FIRST[$tool]=$UPLOADS
    done
    sleep 1
    python3 "$HERE/gen_site.py" --change "$SITE/$CHANGED" --seed "$run" >/dev/null
    for tool in "${order[@]}"; do
        "deploy_$tool" "$run" redeploy
        log "run $run: ${LABEL[$tool]} one-file redeploy ${STEP_SECONDS}s ($UPLOADS uploaded)"
        REDEPLOY[$tool]="${REDEPLOY[$tool]:-} $STEP_SECONDS"
        UP_REDEPLOY[$tool]=$UPLOADS
    done
done

best() { tr ' ' '\n' <<<"$1" | awk 'NF { if (m == "" || $1 < m) m = $1 } END { print m }'; }
spread() { tr ' ' '\n' <<<"$1" | awk 'NF { if (lo == "" || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { printf "%s-%s", lo, hi }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "MISSED" }'; }

echo
echo "Multi-region deploy benchmark (best of $RUNS, spread in brackets): $FILES files," \
    "$(awk -v b="$SITE_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, two s3s-fs $S3S_FS_VERSION on loopback, $(nproc) cores"
echo "  pier:   $("$PIER_BIN" --version 2>/dev/null)"
echo "  rclone: $("$RCLONE" version 2>/dev/null | head -n 1)"
echo
printf '%-28s %22s %22s %10s %10s\n' "" "first (s)" "1-file (s)" "up first" "up 1-file"
for tool in "${TOOLS[@]}"; do
    printf '%-28s %8s %13s %8s %13s %10s %10s\n' "${LABEL[$tool]}" \
        "$(best "${FIRST[$tool]}")" "[$(spread "${FIRST[$tool]}")]" \
        "$(best "${REDEPLOY[$tool]}")" "[$(spread "${REDEPLOY[$tool]}")]" \
        "${UP_FIRST[$tool]}" "${UP_REDEPLOY[$tool]}"
done
R_FIRST=$(ratio "$(best "${FIRST[two]}")" "$(best "${FIRST[one]}")")
R_RE=$(ratio "$(best "${REDEPLOY[two]}")" "$(best "${REDEPLOY[one]}")")
echo
printf 'two regions / one region, first deploy:      %6sx  (goal <= %sx: %s)\n' "$R_FIRST" "$GOAL_FIRST" "$(verdict "$R_FIRST" "$GOAL_FIRST")"
printf 'two regions / one region, one-file redeploy: %6sx  (goal <= %sx: %s)\n' "$R_RE" "$GOAL_REDEPLOY" "$(verdict "$R_RE" "$GOAL_REDEPLOY")"
printf 'pier two regions / rclone to both, first:    %6sx\n' "$(ratio "$(best "${FIRST[two]}")" "$(best "${FIRST[rclone]}")")"
printf 'pier two regions / rclone to both, 1-file:   %6sx\n' "$(ratio "$(best "${REDEPLOY[two]}")" "$(best "${REDEPLOY[rclone]}")")"
if [[ ${BENCH_ENFORCE:-0} == 1 && ($(verdict "$R_FIRST" "$GOAL_FIRST") != met || $(verdict "$R_RE" "$GOAL_REDEPLOY") != met) ]]; then
    exit 1
fi
