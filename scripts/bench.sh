#!/usr/bin/env bash
# bench.sh — `make bench`: scratchpack against `docker build` + `docker save`, `crane append`,
# and the floors (tar | compressor | sha256sum), side by side in one hyperfine run, on
# the node binary (/usr/bin/node, from the nodejs package) and the C++ hello fixture;
# then peak memory, a synthetic 1 GiB program, image sizes of the fixtures, the
# compression levels, and packs onto a Debian base (scripts/bench-base.sh). Prints a
# table (internal/bench/report) and keeps the raw data in testdata/out/bench/.
#
# Needs root (a private dockerd) and the packages of scripts/install-deps.sh; crane is
# built from its module at a pinned version into testdata/out/bench/bin. Takes minutes.
# BENCH_RUNS (default 5) sets hyperfine's runs per command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
B=$ROOT/testdata/out/bench
RUNS=${BENCH_RUNS:-5}
CRANE_VERSION=v0.22.1
NODE=/usr/bin/node
NPROC=$(nproc)

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

((EUID == 0)) || die "run as root: docker build needs a (private) dockerd"
for t in hyperfine pigz zstd dockerd jq /usr/bin/time "$NODE"; do
	command -v "$t" >/dev/null || die "$t missing: run make deps (scripts/install-deps.sh)"
done

mkdir -p "$B/bin" "$B/out"
OUT=$B/out

# ---- tools ----------------------------------------------------------------------------
log "building the bench helpers (scratchpack itself is make build's bin/scratchpack)"
[[ -x bin/scratchpack ]] || die "bin/scratchpack missing: run make bench, which builds it"
cp bin/scratchpack "$B/bin/scratchpack"
go build -o "$B/bin/report" ./internal/bench/report
go build -o "$B/bin/levels" ./internal/bench/levels
SP=$B/bin/scratchpack
if [[ ! -x $B/bin/crane ]] || [[ "$("$B/bin/crane" version)" != "$CRANE_VERSION" ]]; then
	log "installing crane $CRANE_VERSION into $B/bin"
	(cd "$B" && GOBIN=$B/bin GOFLAGS=-mod=mod go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION")
fi
CRANE=$B/bin/crane

# ---- inputs ---------------------------------------------------------------------------
# rootfs DIR PROGRAM: PROGRAM and its ldd closure at their paths, as a hand-made rootfs.
rootfs() {
	local dir=$1 prog=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	cp --parents -L "$prog" "$dir/"
	ldd "$prog" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | while read -r lib; do
		cp --parents -L "$lib" "$dir/"
	done
}

# dockerctx DIR ROOTFS ENTRYPOINT: a docker build context, FROM scratch + COPY of the rootfs.
dockerctx() {
	rm -rf "$1"
	mkdir -p "$1"
	cp -a "$2" "$1/rootfs"
	printf 'FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["%s"]\n' "$3" >"$1/Dockerfile"
}

log "inputs: $NODE ($($NODE --version), package $(dpkg -S "$NODE" 2>/dev/null | cut -d: -f1) $(dpkg-query -W -f='${Version}' nodejs 2>/dev/null))"
make -s fixtures
CC_PROG=$ROOT/testdata/bin/hello-cc
rootfs "$B/rootfs-node" "$NODE"
rootfs "$B/rootfs-cc" "$CC_PROG"
tar -C "$B/rootfs-node" -cf "$B/node.tar" .
tar -C "$B/rootfs-cc" -cf "$B/cc.tar" .
dockerctx "$B/ctx-node" "$B/rootfs-node" "$NODE"
dockerctx "$B/ctx-cc" "$B/rootfs-cc" "$CC_PROG"

# A 1 GiB program: the C++ hello with 1 GiB of node's bytes appended (an ELF file may
# carry data after its segments, as PyInstaller programs do; it still runs).
BIG=$B/big/hello-1g
if [[ ! -s $BIG ]]; then
	log "making the 1 GiB program $BIG"
	mkdir -p "$B/big"
	# (the endless cat ends on SIGPIPE when head has its GiB: not a failure)
	{ cat "$CC_PROG"; (set +o pipefail; while :; do cat "$NODE"; done | head -c $((1 << 30))); } >"$BIG.tmp"
	chmod 755 "$BIG.tmp"
	mv "$BIG.tmp" "$BIG"
fi
"$BIG" >/dev/null || die "$BIG does not run"

# ---- a private dockerd (the flags of internal/testenv/docker.go) ----------------------
D=$(mktemp -d /tmp/spk-bench-dockerd-XXXXXX)
echo '{}' >"$D/daemon.json"
dockerd --config-file "$D/daemon.json" --host "unix://$D/docker.sock" \
	--data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
	--iptables=false --ip-forward=false --ip-masq=false --bridge=none \
	--containerd-namespace "spk-bench-$$" --containerd-plugins-namespace "spk-bench-$$-plugins" \
	>"$D/dockerd.log" 2>&1 &
DOCKERD_PID=$!
stop_dockerd() {
	kill -TERM "$DOCKERD_PID" 2>/dev/null || true
	for _ in $(seq 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DOCKERD_PID" 2>/dev/null || true
	wait "$DOCKERD_PID" 2>/dev/null || true
	# Unmount what it left (deepest first), then remove its directory.
	awk -v d="$D" '$5 ~ "^"d {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" || true; done
	rm -rf "$D"
}
trap stop_dockerd EXIT
export DOCKER_HOST=unix://$D/docker.sock DOCKER_CONFIG=$D/cli DOCKER_BUILDKIT=0
DOCKER=/usr/bin/docker # the client of Debian's docker.io, the same version as dockerd
for _ in $(seq 120); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
"$DOCKER" info >/dev/null 2>&1 || die "private dockerd did not start; see $D/dockerd.log"
log "dockerd $("$DOCKER" version --format '{{.Server.Version}}') at $DOCKER_HOST"

# ---- timed commands -------------------------------------------------------------------
CACHE_WARM=$B/cache-warm
CACHE_FIRST=$B/cache-first
rm -rf "$CACHE_WARM"
for prog in "$NODE" "$CC_PROG"; do
	"$SP" pack --cache "$CACHE_WARM" -o "oci:$OUT/warm" "$prog" 2>/dev/null >/dev/null
	rm -rf "$OUT/warm"
done

names=() cmds=() preps=()
add() { names+=("$1"); cmds+=("$2"); preps+=("${3:-rm -rf $OUT/x $OUT/x.tar}"); }
add node/docker "$DOCKER build --no-cache -q -t bench/node $B/ctx-node >/dev/null && $DOCKER save -o $OUT/x.tar bench/node"
add node/crane "$CRANE append -f $B/node.tar -t bench/node -o $OUT/x.tar 2>/dev/null"
add node/floor-gzip "tar -C $B/rootfs-node -cf - . | pigz -1 -p $NPROC | sha256sum"
add node/floor-zstd "tar -C $B/rootfs-node -cf - . | zstd -q -3 -T$NPROC | sha256sum"
add node/floor-none "tar -C $B/rootfs-node -cf - . | sha256sum"
add node/gzip "$SP pack --no-cache -o oci:$OUT/x $NODE 2>/dev/null"
add node/zstd "$SP pack --no-cache --compression zstd -o oci:$OUT/x $NODE 2>/dev/null"
add node/none-docker-archive "$SP pack --no-cache --compression none -o docker-archive:$OUT/x.tar $NODE 2>/dev/null"
add node/gzip-docker-archive "$SP pack --no-cache -o docker-archive:$OUT/x.tar $NODE 2>/dev/null"
add node/cache-first "$SP pack --cache $CACHE_FIRST -o oci:$OUT/x $NODE 2>/dev/null" "rm -rf $OUT/x $CACHE_FIRST"
add node/cache-second "$SP pack --cache $CACHE_WARM -o oci:$OUT/x $NODE 2>/dev/null"
add cc/docker "$DOCKER build --no-cache -q -t bench/cc $B/ctx-cc >/dev/null && $DOCKER save -o $OUT/x.tar bench/cc"
add cc/crane "$CRANE append -f $B/cc.tar -t bench/cc -o $OUT/x.tar 2>/dev/null"
add cc/floor-gzip "tar -C $B/rootfs-cc -cf - . | pigz -1 -p $NPROC | sha256sum"
add cc/floor-none "tar -C $B/rootfs-cc -cf - . | sha256sum"
add cc/scratchpack "$SP pack --no-cache -o oci:$OUT/x $CC_PROG 2>/dev/null"
# The same output as the alternatives: docker save writes uncompressed layers; crane
# append compresses at gzip.BestSpeed (level 1).
add cc/scratchpack-none-docker-archive "$SP pack --no-cache --compression none -o docker-archive:$OUT/x.tar $CC_PROG 2>/dev/null"
add cc/scratchpack-gzip1 "$SP pack --no-cache --compression-level 1 -o oci:$OUT/x $CC_PROG 2>/dev/null"
add cc/scratchpack-docker-archive "$SP pack --no-cache -o docker-archive:$OUT/x.tar $CC_PROG 2>/dev/null"
add cc/scratchpack-cached "$SP pack --cache $CACHE_WARM -o oci:$OUT/x $CC_PROG 2>/dev/null"

hf=(hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$B/hyperfine.json")
for i in "${!names[@]}"; do
	hf+=(-n "${names[$i]}" --prepare "${preps[$i]}" "${cmds[$i]}")
done
log "hyperfine: ${#names[@]} commands, $RUNS runs each (plus one warm-up)"
"${hf[@]}" >"$B/hyperfine.txt"

# ---- peak memory and output sizes: one more run of each ------------------------------
log "peak memory and output sizes"
: >"$B/runs.tsv"
for i in "${!names[@]}"; do
	sh -c "${preps[$i]}"
	/usr/bin/time -f '%M' -o "$B/time.tmp" sh -c "${cmds[$i]}" >/dev/null
	size=""
	if [[ -e $OUT/x.tar ]]; then
		size=$(stat -c %s "$OUT/x.tar")
	elif [[ -d $OUT/x ]]; then
		size=$(du -sb --apparent-size "$OUT/x" | cut -f1)
	else
		# a floor: the size of its compressed stream
		size=$(sh -c "${cmds[$i]% | sha256sum} | wc -c")
	fi
	rss=$(tail -n1 "$B/time.tmp")
	case ${names[$i]} in */docker) rss="" ;; esac # the docker client, not the build
	printf '%s\t%s\t%s\n' "${names[$i]}" "$rss" "$size" >>"$B/runs.tsv"
done

# ---- the 1 GiB program ----------------------------------------------------------------
log "packing the 1 GiB program"
: >"$B/big.tsv"
for c in gzip zstd none; do
	rm -rf "$OUT/big"
	/usr/bin/time -f '%e %M' -o "$B/time.tmp" "$SP" pack --no-cache --compression "$c" -o "oci:$OUT/big" "$BIG" 2>/dev/null >/dev/null
	read -r secs rss <"$B/time.tmp"
	printf 'big/%s\t%s\t%s\t%s\n' "$c" "$secs" "$rss" "$(du -sb --apparent-size "$OUT/big" | cut -f1)" >>"$B/big.tsv"
done
rm -rf "$OUT/big"

# ---- image sizes of the fixtures ------------------------------------------------------
log "image sizes of the fixtures"
: >"$B/sizes.tsv"
for f in hello-c hello-c-static hello-c-static-pie hello-cc hello-cc-static hello-musl hello-musl-static \
	hello-go hello-cgo exit3 rpath/bin/greet; do
	rm -rf "$OUT/f"
	"$SP" pack --no-cache --compression none --json -o "oci:$OUT/f" "testdata/bin/$f" 2>/dev/null |
		jq -r --arg f "$f" '[$f, .size, ([.layers[].uncompressed_size] | add), .image_size] | @tsv' >>"$B/sizes.tsv"
done
rm -rf "$OUT/f"

# ---- compression levels ---------------------------------------------------------------
log "compression levels on node's rootfs"
"$B/bin/levels" "$B/rootfs-node" >"$B/levels.tsv"
printf 'zlib gzip -6 (reference)\t%s\n' "$(gzip -6 -c "$B/node.tar" | wc -c)" >>"$B/levels.tsv"

# ---- packs onto a Debian base (scripts/bench-base.sh) ---------------------------------
log "packs onto a 230 MB Debian base"
bash scripts/bench-base.sh --no-report

# ---- report ---------------------------------------------------------------------------
"$B/bin/report" -dir "$B" -node "$NODE ($($NODE --version))" -cpus "$NPROC"
