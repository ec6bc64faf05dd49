#!/usr/bin/env bash
# fresh-test.sh — run CI (`CI=true bash .ci/run`, which is `make test`) on a clean clone, in a
# Debian 12 root that nobody has set up: made by mmdebstrap from Debian's archive with only what
# a fresh development machine has (compilers, git, curl, Go; no runtimes, registries, cross
# compilers or emulators), entered with chroot in a private mount namespace. Whatever the tests
# need must come from the Makefile, as on CI. A green `make test` on a machine that someone set
# up by hand proves less: this is how to check that it does not depend on that.
#
#   sudo scripts/fresh-test.sh [GIT-REV]      (default HEAD; 10-20 minutes; needs mmdebstrap)
#
# The root stays in FRESH_DIR (default /var/tmp/scratchpack-fresh) for a look afterwards;
# rerunning replaces it. The kernel, /sys and /dev are the host's, so binfmt_misc registrations
# and cgroups are shared, as they are on any machine; nothing else of the host is visible.
set -euo pipefail

rev=${1:-HEAD}
repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
dir=${FRESH_DIR:-/var/tmp/scratchpack-fresh}
root=$dir/root
log() { printf 'fresh-test: %s\n' "$*"; }

if ((EUID != 0)); then
	echo "fresh-test: run as root (mmdebstrap, chroot and the tests' runtimes need it)" >&2
	exit 2
fi
command -v mmdebstrap >/dev/null || { echo "fresh-test: apt-get install mmdebstrap" >&2; exit 2; }

# What a new development machine has before anyone runs make: see the machine notes.
base_packages=build-essential,ca-certificates,curl,git,jq,zstd,strace,file,time,procps,iproute2,python3,xz-utils,zlib1g-dev,nodejs,sqlite3,gdb,unzip,wget

rm -rf "$dir"
mkdir -p "$root"
log "making a Debian 12 root in $root"
# The host's apt sources, when it has deb822 ones, so that the root gets the same versions.
sources=()
for f in /etc/apt/sources.list.d/*.sources; do [[ -f $f ]] && sources+=("$f"); done
mmdebstrap --quiet --variant=apt --include="$base_packages" bookworm "$root" "${sources[@]}"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The machine's own trust store: where a network reaches the Go module proxy through a
# TLS-inspecting proxy, a fresh machine of that network trusts its CA, and so must the root.
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
goroot=$(go env GOROOT)
log "copying Go from $goroot"
mkdir -p "$root/usr/local"
cp -a "$goroot" "$root/usr/local/go"
log "cloning $rev of $repo"
git clone --quiet --no-hardlinks "$repo" "$root/root/scratchpack"
git -C "$root/root/scratchpack" checkout --quiet --detach "$(git -C "$repo" rev-parse "$rev")"

log "running CI=true bash .ci/run inside it"
start=$(date +%s)
status=0
unshare --mount --fork -- bash -euc '
	r=$1
	mount --make-rprivate /
	mount --bind "$r" "$r"          # a mount point, so that runc can pivot_root inside
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs tmpfs "$r/tmp"
	mount -t tmpfs tmpfs "$r/run"
	exec chroot "$r" /usr/bin/env -i HOME=/root CI=true TERM=dumb \
		PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash -c "cd /root/scratchpack && bash .ci/run"
' _ "$root" || status=$?
log "exit $status after $(( $(date +%s) - start )) s (root left in $root)"
exit "$status"
