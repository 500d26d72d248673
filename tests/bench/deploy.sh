#!/usr/bin/env bash
# Deploy benchmark: `pier deploy` against `rclone copy --checksum` and `aws s3 sync`, all
# uploading the same generated 5,000-file site to one local S3 server (s3s-fs on loopback),
# each tool into its own fresh bucket. Measures wall-clock seconds for a first deploy and
# for a redeploy after one file changed, then prints a table and pier's ratio against the
# faster of the two peers. See tests/bench/README.md.
#
# This is a benchmark, not a test: it prints figures and exits 0 unless something failed
# (set BENCH_ENFORCE=1 to also exit 1 when a goal is missed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${PIER_BENCH_CACHE:-$HOME/.cache/pier-bench}
RUNS=${BENCH_RUNS:-1}
FILES=${BENCH_FILES:-5000}
SEED=${BENCH_SEED:-20241127}
STEP_TIMEOUT=${BENCH_TIMEOUT:-300}
S3S_FS_VERSION=${S3S_FS_VERSION:-0.14.1}
# Goals: pier / faster peer.
GOAL_FIRST=0.5
GOAL_REDEPLOY=0.1

source "$HERE/common.sh"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, got '$RUNS'"

find_rclone
find_aws
find_s3s_fs
find_pier
command -v python3 >/dev/null || die "python3 is needed"

# ---------------------------------------------------------------------------------------
# 2. Scratch space, cleaned up (and s3s-fs stopped) on any exit.
# ---------------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pier-bench.XXXXXX")
cleanup() {
    local status=$?
    stop_s3s_fs
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Only test credentials and the local endpoint: nothing from the user's AWS, rclone or pier
# configuration may leak in.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 PIER_STORE PIER_BASE_URL
# A custom CA bundle is useless for a plain-http endpoint, and rclone refuses to start with one.
unset AWS_CA_BUNDLE
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
export AWS_PAGER=
export PIER_CONFIG=$WORK/pier-config.toml
export RCLONE_CONFIG=$WORK/rclone.conf

# ---------------------------------------------------------------------------------------
# 3. The site.
# ---------------------------------------------------------------------------------------
SITE=$WORK/site
log "generating $FILES files (seed $SEED)"
GEN=$(python3 "$HERE/gen_site.py" "$SITE" --files "$FILES" --seed "$SEED") || die "generating the site failed"
SITE_BYTES=${GEN#* }
# The file the one-file redeploy changes: one in the middle of the sorted listing.
CHANGED=$(cd "$SITE" && find . -type f | LC_ALL=C sort | sed -n "$(((FILES + 1) / 2))p")
CHANGED=${CHANGED#./}
cp -p "$SITE/$CHANGED" "$WORK/changed.orig"

# ---------------------------------------------------------------------------------------
# 4. s3s-fs on a free loopback port.
# ---------------------------------------------------------------------------------------
start_s3s_fs "$WORK/data" "$WORK/s3s-fs.log"
ENDPOINT=$S3S_ENDPOINT

export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=test RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=test
export RCLONE_CONFIG_BENCH_ENDPOINT=$ENDPOINT RCLONE_CONFIG_BENCH_REGION=us-east-1
export RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true RCLONE_CONFIG_BENCH_ENV_AUTH=false

make_bucket() {
    "$AWS_CLI" --endpoint-url "$ENDPOINT" s3 mb "s3://$1" >"$WORK/mb.log" 2>&1 ||
        { cat "$WORK/mb.log" >&2; die "could not create bucket $1"; }
}

# ---------------------------------------------------------------------------------------
# 5. Measurements.
# ---------------------------------------------------------------------------------------

# Files each tool reports having uploaded in the step just run.
uploads_pier() {
    python3 - "$1" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
if "deployment" not in doc:
    sys.exit(f"unexpected pier output: {doc}")
d = doc["deployment"]
print(d["uploaded_blobs"], d.get("reused_blobs", "?"), d.get("file_count", "?"))
EOF
}
uploads_rclone() { grep -c ': Copied (' "$1" || true; }
uploads_aws() { grep -c '^upload: ' "$1" || true; }

deploy_pier() { # BUCKET LOGBASE
    run_step "pier deploy" "$2" "$PIER_BIN" \
        --store "s3://$1/pier?endpoint=$ENDPOINT&region=us-east-1" \
        deploy "$SITE" --project bench-site --json
    local counts
    counts=$(uploads_pier "$2.out") || die "could not read pier's JSON output"
    read -r UPLOADS REUSED FILECOUNT <<<"$counts"
    UPLOADS_NOTE="uploaded_blobs=$UPLOADS reused_blobs=$REUSED file_count=$FILECOUNT"
}
deploy_rclone() {
    # shellcheck disable=SC2086
    run_step "rclone copy" "$2" "$RCLONE" copy --checksum -v ${BENCH_RCLONE_FLAGS:-} "$SITE" "bench:$1"
    UPLOADS=$(uploads_rclone "$2.err")
    UPLOADS_NOTE="copied=$UPLOADS"
}
deploy_aws() {
    # shellcheck disable=SC2086
    run_step "aws s3 sync" "$2" "$AWS_CLI" --endpoint-url "$ENDPOINT" s3 sync --no-progress \
        ${BENCH_AWS_FLAGS:-} "$SITE" "s3://$1"
    UPLOADS=$(uploads_aws "$2.out")
    UPLOADS_NOTE="uploads=$UPLOADS"
}

TOOLS=(pier rclone aws)
declare -A LABEL=([pier]="pier deploy" [rclone]="rclone copy --checksum" [aws]="aws s3 sync")
declare -A BEST_FIRST BEST_REDEPLOY UP_FIRST UP_REDEPLOY

log "site: $FILES files, $SITE_BYTES bytes; one-file change: $CHANGED ($(stat -c %s "$SITE/$CHANGED") bytes)"
log "endpoint $ENDPOINT (s3s-fs $S3S_FS_VERSION), $RUNS run(s), $(nproc) cores"
LOAD=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }'; then
    log "warning: load average $LOAD on $(nproc) cores; other work (a compile?) will skew the figures"
fi
for run in $(seq "$RUNS"); do
    # Rotate the order each run so no tool always goes first.
    order=()
    for i in 0 1 2; do order+=("${TOOLS[$(((i + run - 1) % 3))]}"); done
    cp -p "$WORK/changed.orig" "$SITE/$CHANGED"
    touch "$SITE/$CHANGED"
    for tool in "${order[@]}"; do make_bucket "$tool-r$run"; done
    for tool in "${order[@]}"; do
        "deploy_$tool" "$tool-r$run" "$WORK/$tool-r$run-first"
        log "run $run: $tool first deploy ${STEP_SECONDS}s ($UPLOADS_NOTE)"
        BEST_FIRST[$tool]=$(min "${BEST_FIRST[$tool]:-}" "$STEP_SECONDS")
        UP_FIRST[$tool]=$UPLOADS
    done
    sleep 1 # the changed file's mtime must be later than every upload (aws s3 sync compares it)
    python3 "$HERE/gen_site.py" --change "$SITE/$CHANGED" --seed "$run" >/dev/null
    for tool in "${order[@]}"; do
        "deploy_$tool" "$tool-r$run" "$WORK/$tool-r$run-redeploy"
        log "run $run: $tool one-file redeploy ${STEP_SECONDS}s ($UPLOADS_NOTE)"
        BEST_REDEPLOY[$tool]=$(min "${BEST_REDEPLOY[$tool]:-}" "$STEP_SECONDS")
        UP_REDEPLOY[$tool]=$UPLOADS
    done
done

# ---------------------------------------------------------------------------------------
# 6. Report.
# ---------------------------------------------------------------------------------------
faster() { # COLUMN-ARRAY-NAME -> "tool seconds" of the faster peer
    local -n col=$1
    if awk -v a="${col[rclone]}" -v b="${col[aws]}" 'BEGIN { exit !(a + 0 <= b + 0) }'; then
        echo "rclone ${col[rclone]}"
    else
        echo "aws ${col[aws]}"
    fi
}
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g) ? "met" : "MISSED" }'; }

read -r FAST_FIRST_TOOL FAST_FIRST < <(faster BEST_FIRST)
read -r FAST_RE_TOOL FAST_RE < <(faster BEST_REDEPLOY)
RATIO_FIRST=$(ratio "${BEST_FIRST[pier]}" "$FAST_FIRST")
RATIO_RE=$(ratio "${BEST_REDEPLOY[pier]}" "$FAST_RE")
V_FIRST=$(verdict "$RATIO_FIRST" "$GOAL_FIRST")
V_RE=$(verdict "$RATIO_RE" "$GOAL_REDEPLOY")

best=""
[[ $RUNS -gt 1 ]] && best=" (best of $RUNS)"
echo
echo "Deploy benchmark$best: $FILES files, $(awk -v b="$SITE_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB," \
    "s3s-fs $S3S_FS_VERSION on loopback, $(nproc) cores, load average $LOAD at start"
echo "  pier:   $("$PIER_BIN" --version 2>/dev/null || echo "$PIER_BIN")"
echo "  rclone: $("$RCLONE" version 2>/dev/null | head -n 1)"
echo "  aws:    $("$AWS_CLI" --version 2>&1 | head -n 1)"
echo
printf '%-24s %12s %12s %16s %16s\n' "tool" "first (s)" "1-file (s)" "files up first" "files up 1-file"
printf '%-24s %12s %12s %16s %16s\n' "----" "---------" "----------" "--------------" "---------------"
for tool in "${TOOLS[@]}"; do
    printf '%-24s %12s %12s %16s %16s\n' "${LABEL[$tool]}" "${BEST_FIRST[$tool]}" \
        "${BEST_REDEPLOY[$tool]}" "${UP_FIRST[$tool]}" "${UP_REDEPLOY[$tool]}"
done
echo
printf 'pier / faster peer, first deploy:      %6sx  (faster peer: %s, goal <= %sx: %s)\n' \
    "$RATIO_FIRST" "${LABEL[$FAST_FIRST_TOOL]}" "$GOAL_FIRST" "$V_FIRST"
printf 'pier / faster peer, one-file redeploy: %6sx  (faster peer: %s, goal <= %sx: %s)\n' \
    "$RATIO_RE" "${LABEL[$FAST_RE_TOOL]}" "$GOAL_REDEPLOY" "$V_RE"
echo "pier uploaded_blobs on the one-file redeploy: ${UP_REDEPLOY[pier]} (expected 1)"

if [[ ${BENCH_ENFORCE:-0} == 1 && ($V_FIRST != met || $V_RE != met || ${UP_REDEPLOY[pier]} != 1) ]]; then
    exit 1
fi
