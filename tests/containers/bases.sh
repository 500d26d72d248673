#!/usr/bin/env bash
# Stand-in base images for Pier's images, made from Debian packages with mmdebstrap, because
# nothing can be pulled from a registry where the tests run. The Dockerfiles keep the real
# public bases as their defaults; tests pass these with --build-arg BASE_IMAGE=….
#
#   bash tests/containers/bases.sh          make (or reuse) both; prints the two tags
#
# - pier-stand-in/cc:debian12 stands in for gcr.io/distroless/cc-debian12:nonroot: what a
#   dynamically linked glibc Rust binary needs and nothing else. libc6 and libgcc-s1 from
#   bookworm, only extracted (`--variant=extract`: no dpkg, no shell, no package scripts),
#   docs, man pages, locales and gconv modules removed; the CA bundle concatenated from the
#   ca-certificates package's Mozilla certificates (never the host's bundle, which may hold
#   local CAs); /etc/passwd and /etc/group with root, nobody and nonroot (65532), whose
#   home /home/nonroot is the working directory. Config as distroless's: USER 65532:65532,
#   PATH, SSL_CERT_FILE. About 5 MB.
# - pier-stand-in/node:20-trixie stands in for node:20-bookworm-slim: Debian trixie's nodejs
#   (20.19; bookworm has only 18, too old for Vite 7) with git, ca-certificates and passwd
#   (useradd), on the Essential set with docs, man pages and locales left out like
#   debian:*-slim. npm and corepack come from the npm registry (`npm pack` on this host;
#   Debian's npm package would add ~360 packages, python and libssl-dev among them), laid
#   out as in the node images: /usr/local/lib/node_modules/{npm,corepack} and
#   /usr/local/bin/{npm,npx,corepack}. CMD ["node"]. About 270 MB.
# - busybox:latest stands in for Docker Hub's busybox, which moto's Lambda (the function tests)
#   runs to fill a volume with a function's code (`sleep 100`, then an archive put in): Debian's
#   busybox-static, only extracted, with its applets linked into /bin. About 2 MB.
# - pier-stand-in/debian:bookworm stands in for Docker Hub's debian:bookworm: a clean system for
#   the desktop's install test, where `apt-get install ./Pier_….deb` pulls the app's
#   dependencies from the mirror. bookworm's minbase (apt, no recommends) with apt's sources
#   pointing at the mirror.
#
# Each root filesystem is cached as a tarball under ${PIER_CACHE_DIR:-~/.cache/pier}/bases/,
# named by a hash of its recipe (suite, packages, hooks, versions), and imported with
# `docker import` only when the engine has no image of that recipe yet (label
# org.pier.stand-in.recipe). Change a recipe and that base is made again on the next run.
# mmdebstrap works in a tmpfs (/dev/shm) when one with 2 GB free is there: on a slow disk
# this more than halves a cold build.
#
# Timings on 2 cores, Debian 12, with a cargo build running beside it (cold = mmdebstrap
# plus import; warm = nothing to do):
#   cc:debian12      cold ~4 s     tarball cached, image missing: ~0.3 s
#   node:20-trixie   cold ~30 s    tarball cached, image missing: ~3 s
#   both, warm       ~0.5 s
#
# Settings (environment): PIER_CACHE_DIR; PIER_DEBIAN_MIRROR (http://deb.debian.org/debian);
# PIER_STAND_IN_NPM / PIER_STAND_IN_COREPACK (the npm and corepack versions);
# PIER_CC_STAND_IN / PIER_NODE_STAND_IN / PIER_BUSYBOX_STAND_IN (the tags); PIER_BASES_BUSYBOX=1
# makes the busybox stand-in too (tests/containers/lambda.sh asks for it); PIER_BASES_DEBIAN=1
# the debian one (the desktop's install test), tagged PIER_DEBIAN_STAND_IN.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/engine.sh"

log() { printf '[bases %3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

cache=${PIER_CACHE_DIR:-$HOME/.cache/pier}/bases
mirror=${PIER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
npm_version=${PIER_STAND_IN_NPM:-10.9.9}
corepack_version=${PIER_STAND_IN_COREPACK:-0.34.7}
cc_tag=${PIER_CC_STAND_IN:-pier-stand-in/cc:debian12}
node_tag=${PIER_NODE_STAND_IN:-pier-stand-in/node:20-trixie}
busybox_tag=${PIER_BUSYBOX_STAND_IN:-busybox:latest}
debian_tag=${PIER_DEBIAN_STAND_IN:-pier-stand-in/debian:bookworm}
docker=$PIER_DOCKER
mkdir -p "$cache"

work=$(mktemp -d "${TMPDIR:-/tmp}/pier-bases.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One bases.sh at a time per cache (two CI jobs on one machine would build the same tarball).
exec 9>"$cache/.lock"
flock 9

# mmdebstrap's own temp dir: a tmpfs with room if there is one, else the default.
mmdebstrap_tmp=
if [ "${PIER_BASES_TMPFS:-1}" = 1 ] && [ -d /dev/shm ] && [ -w /dev/shm ] \
  && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((2 * 1024 * 1024)) ] \
  && ! awk '$2 == "/dev/shm" { print $4 }' /proc/mounts | grep -qw noexec; then
  mmdebstrap_tmp=/dev/shm
fi

# docs, man pages, info, lintian and locales are left out, as in debian:*-slim.
slim_dpkg_opts=(
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/groff/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/lintian/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
)

# ------------------------------------------------------------------------------------------
# Recipes: the mmdebstrap arguments, hooks and image config of each base. The recipe hash
# covers all of it.
# ------------------------------------------------------------------------------------------

# Runs in the extracted tree ($1) of the cc stand-in, with apt still configured.
cc_hook=$(cat <<'EOF'
set -eu
root=$1
tmp=$(mktemp -d)
# The CA bundle: every Mozilla certificate of the ca-certificates package, as
# update-ca-certificates would write it with the default configuration.
(cd "$tmp" && APT_CONFIG="$MMDEBSTRAP_APT_CONFIG" apt-get -o APT::Sandbox::User=root download -qq ca-certificates)
dpkg-deb --fsys-tarfile "$tmp"/ca-certificates_*.deb | tar -x -C "$tmp" ./usr/share/ca-certificates/mozilla
mkdir -p "$root/etc/ssl/certs"
cat "$tmp"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$tmp"
# Nothing a Rust binary uses: docs, locales, iconv modules, libc's tools (no shell runs them).
rm -rf "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/lintian \
  "$root"/usr/share/locale "$root"/usr/share/i18n "$root"/usr/lib/*/gconv "$root"/usr/bin \
  "$root"/usr/sbin "$root"/sbin "$root"/bin "$root"/usr/libexec
# No package manager either (mmdebstrap empties apt's folders after this hook), and not the
# host's resolv.conf and hostname that mmdebstrap copied in: the engine provides those.
rm -rf "$root"/etc/apt/sources.list "$root"/var/lib/dpkg "$root"/etc/fstab "$root"/etc/hostname \
  "$root"/etc/resolv.conf
mkdir -p "$root/usr/bin"
# Users as in distroless: root, nobody, nonroot (65532).
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' >"$root/etc/nsswitch.conf"
printf 'PRETTY_NAME="Pier stand-in for distroless cc (Debian GNU/Linux 12)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' >"$root/etc/os-release"
mkdir -p "$root/root" "$root/home/nonroot" "$root/tmp"
chmod 700 "$root/root" "$root/home/nonroot"
chown 65532:65532 "$root/home/nonroot"
chmod 1777 "$root/tmp"
EOF
)
# (The suite comes last; the target and the mirror are added when it runs.)
cc_args=(--variant=extract --include=libc6,libgcc-s1 --skip=output/dev --extract-hook="$cc_hook" bookworm)
cc_changes=(
  'USER 65532:65532'
  'WORKDIR /home/nonroot'
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
)

# Runs in the installed tree ($1) of the node stand-in; PIER_STAND_IN_TARBALLS holds npm's
# and corepack's package tarballs.
node_hook=$(cat <<'EOF'
set -eu
root=$1
for package in npm corepack; do
  mkdir -p "$root/usr/local/lib/node_modules/$package"
  tar -xzf "$PIER_STAND_IN_TARBALLS/$package".tgz -C "$root/usr/local/lib/node_modules/$package" \
    --strip-components=1 --no-same-owner --no-same-permissions
done
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
ln -sf ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
chroot "$root" sh -c 'echo "node $(node --version), npm $(npm --version), corepack $(corepack --version), $(git --version)"' >&2
rm -rf "$root/root/.npm"
# Not the host's resolv.conf and hostname, which mmdebstrap copied in: the engine provides them.
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
EOF
)
node_args=(--variant=essential --include=nodejs,git,ca-certificates,passwd --skip=output/dev "${slim_dpkg_opts[@]}"
  --customize-hook="$node_hook" trixie)
node_changes=(
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  'CMD ["node"]'
  "LABEL org.pier.stand-in.npm=$npm_version org.pier.stand-in.corepack=$corepack_version"
)

# Runs in the extracted tree ($1) of the busybox stand-in.
busybox_hook=$(cat <<'EOF'
set -eu
root=$1
mkdir -p "$root/bin" "$root/tmp"
chmod 1777 "$root/tmp"
[ -e "$root/bin/busybox" ] || ln -s /usr/bin/busybox "$root/bin/busybox"
for applet in $(chroot "$root" /bin/busybox --list); do
  [ -e "$root/bin/$applet" ] || ln -s /bin/busybox "$root/bin/$applet"
done
rm -rf "$root"/usr/share/doc "$root"/usr/share/man "$root"/var/lib/dpkg \
  "$root"/etc/apt/sources.list "$root"/etc/resolv.conf "$root"/etc/hostname
EOF
)
busybox_args=(--variant=extract --include=busybox-static --skip=output/dev --extract-hook="$busybox_hook" bookworm)
busybox_changes=(
  'ENV PATH=/bin'
  'CMD ["sh"]'
)

# Runs in the installed tree ($1) of the debian stand-in.
debian_hook=$(cat <<'EOF'
set -eu
root=$1
# Not the host's resolv.conf and hostname, which mmdebstrap copied in: the engine provides them.
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
EOF
)
debian_args=(--variant=minbase --skip=output/dev --customize-hook="$debian_hook" bookworm)
debian_changes=(
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  'CMD ["bash"]'
)

# ------------------------------------------------------------------------------------------

recipe_hash() { # NAME ARGS... (the recipe and the image changes, as words)
  printf '%s\0' "v1" "$@" | sha256sum | cut -c1-16
}

# Puts npm.tgz and corepack.tgz into $work/tarballs with the host's npm.
pack_npm() {
  if ! command -v npm >/dev/null 2>&1; then
    _pier_apt_install npm
  fi
  mkdir -p "$work/tarballs"
  log "npm pack npm@$npm_version corepack@$corepack_version"
  (cd "$work/tarballs" && npm pack --silent "npm@$npm_version" "corepack@$corepack_version" >/dev/null)
  mv "$work/tarballs/npm-$npm_version.tgz" "$work/tarballs/npm.tgz"
  mv "$work/tarballs/corepack-$corepack_version.tgz" "$work/tarballs/corepack.tgz"
}

# ensure_base NAME TAG ARGS_ARRAY CHANGES_ARRAY
ensure_base() {
  local name=$1 tag=$2
  local -n args=$3 changes=$4
  local hash tarball have old start change_args=() change
  hash=$(recipe_hash "$name" "${args[@]}" -- "${changes[@]}")
  have=$("$docker" image inspect --format '{{ index .Config.Labels "org.pier.stand-in.recipe" }}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$hash" ]; then
    log "$tag is up to date"
    return 0
  fi
  tarball="$cache/$name-$hash.tar"
  if [ ! -s "$tarball" ]; then
    start=$SECONDS
    [ "$name" != node ] || pack_npm
    log "mmdebstrap $name (${args[0]} ${args[1]})"
    if ! _pier_sudo env ${mmdebstrap_tmp:+TMPDIR=$mmdebstrap_tmp} PIER_STAND_IN_TARBALLS="$work/tarballs" \
      mmdebstrap --format=tar "${args[@]}" "$tarball.partial" "$mirror" >"$work/$name.log" 2>&1; then
      tail -n 30 "$work/$name.log" >&2
      _pier_sudo rm -f "$tarball.partial"
      die "mmdebstrap $name failed"
    fi
    sed -n 's/^\(node v.*\)/\1/p' "$work/$name.log" | while read -r line; do log "$line"; done
    [ "$(id -u)" -eq 0 ] || _pier_sudo chown "$(id -u):$(id -g)" "$tarball.partial"
    mv "$tarball.partial" "$tarball"
    find "$cache" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$hash.tar" -delete
    log "made $tarball ($(du -m "$tarball" | cut -f1) MB) in $((SECONDS - start)) s"
  fi
  start=$SECONDS
  for change in "${changes[@]}" "LABEL org.pier.stand-in.recipe=$hash"; do
    change_args+=(--change "$change")
  done
  old=$("$docker" image inspect --format '{{ .Id }}' "$tag" 2>/dev/null || true)
  "$docker" import "${change_args[@]}" --message "Pier stand-in base ($name)" "$tarball" "$tag" >/dev/null
  # The previous recipe's image, unless images built on it still use it.
  [ -z "$old" ] || "$docker" rmi "$old" >/dev/null 2>&1 || true
  log "imported $tag in $((SECONDS - start)) s ($("$docker" image inspect --format '{{ .Size }}' "$tag" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
}

ensure_base cc "$cc_tag" cc_args cc_changes
ensure_base node "$node_tag" node_args node_changes
echo "$cc_tag"
echo "$node_tag"
if [ "${PIER_BASES_BUSYBOX:-0}" = 1 ]; then
  ensure_base busybox "$busybox_tag" busybox_args busybox_changes
  echo "$busybox_tag"
fi
if [ "${PIER_BASES_DEBIAN:-0}" = 1 ]; then
  ensure_base debian "$debian_tag" debian_args debian_changes
  echo "$debian_tag"
fi
