#!/usr/bin/env bash
# bench-base.sh — the base rows of `make bench` (issue 20): the C++ hello packed onto a
# 230 MB Debian 12 base, first (empty cache) and cached, and `check --base` on it, side by
# side with what they are measured against, in one hyperfine run: pack on scratch, a `cp`
# of the base's blob, and `crane append` onto the same base pushed to a local registry.
#
# The base is testenv.DebianServers (mmdebstrap --variant=apt bookworm with redis-server,
# nginx-light, python3 and curl; built once, as root, into testdata/out/debian by the
# test that `make debian-images` runs), made here into
#   - a `docker save` archive of the pre-Docker-25 kind (manifest.json, CONFIG.json,
#     DIR/layer.tar): its one layer an uncompressed tar, as in issue 20's table;
#   - an OCI layout with its gzip layer, pushed by crane to Debian's docker-registry on
#     127.0.0.1 for the registry rows.
# Writes base-hyperfine.json and base-runs.tsv (peak RSS of one more run) in
# testdata/out/bench; scripts/bench.sh runs it before its report, which prints them.
# Alone (make bench-base) it prints only its own table. BENCH_RUNS as bench.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
B=$ROOT/testdata/out/bench
RUNS=${BENCH_RUNS:-5}
CRANE_VERSION=v0.22.1

log() { printf 'bench-base: %s\n' "$*" >&2; }
die() { printf 'bench-base: %s\n' "$*" >&2; exit 1; }

for t in hyperfine jq curl python3 docker-registry /usr/bin/time; do
	command -v "$t" >/dev/null || die "$t missing: run make deps (scripts/install-deps.sh)"
done
[[ -x bin/scratchpack ]] || die "bin/scratchpack missing: run make bench-base, which builds it"
mkdir -p "$B/bin" "$B/out"
OUT=$B/out
cp bin/scratchpack "$B/bin/scratchpack"
SP=$B/bin/scratchpack
if [[ ! -x $B/bin/crane ]] || [[ "$("$B/bin/crane" version)" != "$CRANE_VERSION" ]]; then
	log "installing crane $CRANE_VERSION into $B/bin"
	(cd "$B" && GOBIN=$B/bin GOFLAGS=-mod=mod go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION")
fi
CRANE=$B/bin/crane
go build -o "$B/bin/report" ./internal/bench/report

# ---- the program --------------------------------------------------------------------
make -s fixtures
CC_PROG=$ROOT/testdata/bin/hello-cc
# What crane appends onto the base: the program alone at /app/hello-cc, as scratchpack
# adds it (its libraries are the base's).
rm -rf "$B/cc-app"
mkdir -p "$B/cc-app/app"
cp "$CC_PROG" "$B/cc-app/app/hello-cc"
tar -C "$B/cc-app" --owner=0 --group=0 -cf "$B/cc-app.tar" app

# ---- the base -----------------------------------------------------------------------
log "the Debian base (built with mmdebstrap once, then cached in testdata/out/debian)"
go test -count=1 -run '^TestDebianImage$/^amd64-servers$' ./internal/testenv >&2
key=$(jq -r 'select(.arch == "amd64" and .variant == "apt" and .packages == ["curl", "nginx-light", "python3", "redis-server"]) | input_filename' testdata/out/debian/*.json)
[[ -n $key && $(wc -l <<<"$key") == 1 ]] || die "no single cached Debian servers root in testdata/out/debian: $key"
ROOT_TAR=${key%.json}.tar
GZ=$ROOT_TAR.gz
[[ -s $ROOT_TAR && -s $GZ && -s $GZ.json ]] || die "$ROOT_TAR, $GZ or $GZ.json missing"
diff_id=$(jq -r .diffID "$GZ.json")
gz_digest=$(jq -r .digest "$GZ.json")
gz_size=$(jq -r .size "$GZ.json")

BASE=$B/debian
SAVE=$BASE/saved.tar
LAYOUT=$BASE/oci
if [[ ! -s $BASE/made || $(cat "$BASE/made") != "$diff_id" ]]; then
	log "making the base's docker save archive and OCI layout in $BASE"
	rm -rf "$BASE"
	mkdir -p "$BASE/save/${diff_id#sha256:}" "$LAYOUT/blobs/sha256"
	printf '{"architecture":"amd64","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"created":"2023-06-10T00:00:00Z","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
		"$diff_id" >"$BASE/config.json"
	cfg_hex=$(sha256sum "$BASE/config.json" | cut -d' ' -f1)
	cfg_size=$(stat -c %s "$BASE/config.json")
	# docker save (before Docker 25)
	cp "$BASE/config.json" "$BASE/save/$cfg_hex.json"
	ln "$ROOT_TAR" "$BASE/save/${diff_id#sha256:}/layer.tar" 2>/dev/null || cp "$ROOT_TAR" "$BASE/save/${diff_id#sha256:}/layer.tar"
	printf '[{"Config":"%s.json","RepoTags":["bench/debian:servers"],"Layers":["%s/layer.tar"]}]' \
		"$cfg_hex" "${diff_id#sha256:}" >"$BASE/save/manifest.json"
	tar -C "$BASE/save" --owner=0 --group=0 -cf "$SAVE" manifest.json "$cfg_hex.json" "${diff_id#sha256:}/layer.tar"
	rm -rf "$BASE/save"
	# OCI layout, the gzip layer
	cp "$BASE/config.json" "$LAYOUT/blobs/sha256/$cfg_hex"
	ln "$GZ" "$LAYOUT/blobs/sha256/${gz_digest#sha256:}" 2>/dev/null || cp "$GZ" "$LAYOUT/blobs/sha256/${gz_digest#sha256:}"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
		"$cfg_hex" "$cfg_size" "$gz_digest" "$gz_size" >"$BASE/manifest.json"
	man_hex=$(sha256sum "$BASE/manifest.json" | cut -d' ' -f1)
	mv "$BASE/manifest.json" "$LAYOUT/blobs/sha256/$man_hex"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
		"$man_hex" "$(stat -c %s "$LAYOUT/blobs/sha256/$man_hex")" >"$LAYOUT/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
	echo "$diff_id" >"$BASE/made"
fi
"$SP" check --no-cache --base "docker-archive:$SAVE" "$CC_PROG" >&2 || die "the C++ hello does not run on the base"
# A base file changed in the last 2 s is not trusted by its stamp (layercache.Stamp:
# Settled); the first pack after it settles reads it once more to record its check. Wait,
# so that every row measures the steady state.
sleep 3

# ---- a local registry (the configuration of internal/testenv/registry.go) -----------
R=$(mktemp -d /tmp/spk-bench-registry-XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
cat >"$R/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: "$R/storage"
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: "$REG"
health:
  storagedriver:
    enabled: false
YAML
# distribution lets REGISTRY_* and OTEL_* variables override the configuration.
env $(env | grep -oE '^(REGISTRY|OTEL)_[^=]*' | sed 's/^/-u /') docker-registry serve "$R/config.yml" >"$R/registry.log" 2>&1 &
REGISTRY_PID=$!
stop_registry() {
	kill -TERM "$REGISTRY_PID" 2>/dev/null || true
	wait "$REGISTRY_PID" 2>/dev/null || true
	rm -rf "$R"
}
trap stop_registry EXIT
for _ in $(seq 100); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$REG/v2/" >/dev/null || die "docker-registry did not start; see $R/registry.log"
log "pushing the base to $REG/base"
"$CRANE" push "$LAYOUT" "$REG/base" >&2

# ---- timed commands -----------------------------------------------------------------
CW=$B/cache-base-warm
CF=$B/cache-base-first
rm -rf "$CW"
"$SP" pack --cache "$CW" --base "docker-archive:$SAVE" -o "oci:$OUT/warm" "$CC_PROG" >/dev/null 2>&1
"$SP" pack --cache "$CW" --base "$REG/base" -o "docker://$REG/warm" "$CC_PROG" >/dev/null 2>&1
rm -rf "$OUT/warm"
LAYER=$BASE/layer.tar # the base's blob alone, for the cp
[[ -s $LAYER ]] || ln "$ROOT_TAR" "$LAYER" 2>/dev/null || cp "$ROOT_TAR" "$LAYER"

SAVED="docker-archive:$SAVE"
names=() cmds=() preps=()
add() { names+=("$1"); cmds+=("$2"); preps+=("${3:-rm -rf $OUT/x $OUT/x.blob}"); }
add base/scratch "$SP pack --no-cache -o oci:$OUT/x $CC_PROG 2>/dev/null"
add base/scratch-cached "$SP pack --cache $CW -o oci:$OUT/x $CC_PROG 2>/dev/null"
add base/cp "cp $LAYER $OUT/x.blob"
add base/pack-first "$SP pack --cache $CF --base $SAVED -o oci:$OUT/x $CC_PROG 2>/dev/null" "rm -rf $OUT/x $CF"
add base/pack-cached "$SP pack --cache $CW --base $SAVED -o oci:$OUT/x $CC_PROG 2>/dev/null"
add base/pack-no-cache "$SP pack --no-cache --base $SAVED -o oci:$OUT/x $CC_PROG 2>/dev/null"
add base/check-first "$SP check --cache $CF --base $SAVED $CC_PROG >/dev/null" "rm -rf $CF"
add base/check-cached "$SP check --cache $CW --base $SAVED $CC_PROG >/dev/null"
add base/crane-append "$CRANE append -b $REG/base -f $B/cc-app.tar -t $REG/crane-app 2>/dev/null >/dev/null"
add base/pack-registry-first "$SP pack --cache $CF --base $REG/base -o docker://$REG/sp-app $CC_PROG 2>/dev/null" "rm -rf $CF"
add base/pack-registry-cached "$SP pack --cache $CW --base $REG/base -o docker://$REG/sp-app $CC_PROG 2>/dev/null"
# The same, written to a local file: both download the base's 87 MB gzip layer.
add base/crane-append-tar "$CRANE append -b $REG/base -f $B/cc-app.tar -t bench/app -o $OUT/x.tar 2>/dev/null >/dev/null" "rm -f $OUT/x.tar"
add base/pack-registry-tar-first "$SP pack --cache $CF --base $REG/base -o docker-archive:$OUT/x.tar $CC_PROG 2>/dev/null" "rm -rf $OUT/x.tar $CF"
add base/pack-registry-tar-cached "$SP pack --cache $CW --base $REG/base -o docker-archive:$OUT/x.tar $CC_PROG 2>/dev/null" "rm -f $OUT/x.tar"

hf=(hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$B/base-hyperfine.json")
for i in "${!names[@]}"; do
	hf+=(-n "${names[$i]}" --prepare "${preps[$i]}" "${cmds[$i]}")
done
log "hyperfine: ${#names[@]} commands, $RUNS runs each (plus one warm-up)"
"${hf[@]}" >"$B/base-hyperfine.txt"

log "peak memory: one more run of each"
: >"$B/base-runs.tsv"
for i in "${!names[@]}"; do
	rm -rf "$OUT/x" "$OUT/x.blob" "$OUT/x.tar"
	sh -c "${preps[$i]}"
	/usr/bin/time -f '%M' -o "$B/time.tmp" sh -c "${cmds[$i]}" >/dev/null
	size=""
	if [[ -d $OUT/x ]]; then
		size=$(du -sb --apparent-size "$OUT/x" | cut -f1)
	elif [[ -e $OUT/x.tar ]]; then
		size=$(stat -c %s "$OUT/x.tar")
	fi
	printf '%s\t%s\t%s\n' "${names[$i]}" "$(tail -n1 "$B/time.tmp")" "$size" >>"$B/base-runs.tsv"
done
rm -rf "$OUT/x" "$OUT/x.blob" "$OUT/x.tar"

if [[ ${1:-} != --no-report ]]; then
	"$B/bin/report" -dir "$B" -base
fi
