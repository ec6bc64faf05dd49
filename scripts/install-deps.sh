#!/usr/bin/env bash
# install-deps.sh — install the Debian packages that scratchpack's build, fixtures and
# tests need. Idempotent: it installs only what is missing and runs `apt-get update` once,
# only when something must be installed. Safe to run on every `make test`.
#
# As root (CI) it installs with apt-get; as a user with passwordless sudo it uses sudo;
# otherwise it prints what is missing and carries on, so a developer can still run the
# tests whose tools are present.
set -euo pipefail

# Tools used by the build, the fixtures (compilers, cross toolchains, qemu) and the
# end-to-end tests (runtimes, registry, compressors, sample programs to pack).
packages=(
	# build and fixtures (zlib1g-dev: the PyInstaller bootloader stand-in inflates with zlib)
	git make gcc g++ binutils file zlib1g-dev
	musl musl-tools
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
	libc6-armhf-cross libc6-armel-cross # real armhf (v7) and armel (v5TE) files for the ARM variant tests
	qemu-user-static binfmt-support
	# image tooling and runtimes for the end-to-end tier
	runc umoci skopeo docker.io podman docker-registry
	# podman's default runtime where it is installed, which fails on hybrid cgroup hosts: here so
	# that the tests always meet it and must pin runc (testenv.PodmanRun), as a fresh machine may
	crun
	apache2-utils # htpasswd, for an authenticated test registry
	# benchmarks, compression, sample programs to pack
	hyperfine pigz zstd busybox nodejs curl openssl postgresql-client bash strace
	python3 perl tcl8.6 gdb # interpreters whose standard library is a run-time need; gdb and python3 for --trace
	gpg # a real program that needs its home directory (/root) in the image
	time jq # make bench: peak memory (GNU time), reading hyperfine's and pack's JSON
	# run-time data files pack bundles (CA certificates, time zones); unshare -n for the air-gapped test
	ca-certificates tzdata util-linux
	libsqlite3-0 # README's pack --include-lib libsqlite3.so.0 example, which make test runs
	xfsprogs # an XFS file system with reflinks, for the cache's FICLONE copies (packer/reflink_test.go)
	e2fsprogs # filefrag, which shows that a reflinked copy shares its extents (packer/reflink_test.go)
	# real Debian 12 roots and images as test inputs (testenv.DebianRoot). Its recommends (kept)
	# bring arch-test; other-architecture roots need nothing more with --variant=extract, and
	# qemu-user-static (above) with the variants that run maintainer scripts
	mmdebstrap
)

log() { printf 'install-deps: %s\n' "$*"; }

# installed PKG: true if dpkg records PKG as fully installed ("install ok installed").
# `dpkg -s` alone also succeeds for removed-but-not-purged packages.
installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	log "no dpkg on this machine; install these by hand: ${packages[*]}"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	if installed "$p"; then
		:
	else
		missing+=("$p")
	fi
done

if ((${#missing[@]} == 0)); then
	log "all ${#packages[@]} packages already installed"
	exit 0
fi
log "missing: ${missing[*]}"

# How to run apt-get: directly as root, through sudo if it needs no password, else not at all.
if ((EUID == 0)); then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	{
		echo '************************************************************************'
		echo "install-deps: NOT ROOT and no passwordless sudo: cannot install packages."
		echo "install-deps: missing: ${missing[*]}"
		echo "install-deps: install them with:"
		echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
		echo "install-deps: continuing; fixtures and tests that need them will fail or skip."
		echo '************************************************************************'
	} >&2
	exit 0
fi

# Recommends are kept on purpose: podman and docker.io need several (crun, slirp4netns, ...).
# Wait (up to 10 minutes) for another apt/dpkg run to release its locks instead of failing.
# NEEDRESTART_SUSPEND keeps needrestart (if installed) from scanning services afterwards.
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get -q -o DPkg::Lock::Timeout=600)

log "apt-get update"
"${apt_get[@]}" update >/dev/null

# Skip names the configured archives do not have (e.g. a package dropped in a later
# Debian release) rather than failing the whole install.
wanted=()
for p in "${missing[@]}"; do
	candidate="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
	if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
		log "skip $p: no installation candidate in the apt sources"
	else
		wanted+=("$p")
	fi
done

if ((${#wanted[@]} == 0)); then
	log "nothing installable"
	exit 0
fi

log "apt-get install ${wanted[*]}"
"${apt_get[@]}" install -y "${wanted[@]}"

for p in "${wanted[@]}"; do
	if installed "$p"; then
		log "installed $p"
	else
		log "FAILED to install $p"
		exit 1
	fi
done
