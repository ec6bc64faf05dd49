# scratchpack — build, fixtures and tests.
#
#   make build      bin/scratchpack
#   make fixtures   compile testdata/src into testdata/bin (git-ignored)
#   make test       install missing packages (as root), build, fixtures, go vet, go test
#   make lint       gofmt, go vet, the committed malformed ELF files match their generator,
#                   and docs/cli.md is what the CLI prints
#   make docs       rewrite docs/cli.md from the CLI's --help
#   make fuzz       run every fuzz target for FUZZTIME each (make test does it for 10s on CI)
#   make demo       build and inspect a couple of fixtures
#   make bench      time scratchpack against docker build, crane and the floors (minutes)
#   make bench-base only its rows of packs onto a Debian base
#   make corpus     pack and run every program of /usr/bin and /usr/sbin, compared with here (long)
#   make debian-images  build the Debian 12 roots and images some tests use, once (testdata/out/debian)
#   make clean      remove everything the Makefile built

GO ?= go
# C compilers: make's built-in CC (cc) and CXX (g++) for the host; cross and musl below.
MUSL_CC ?= musl-gcc
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_CXX ?= aarch64-linux-gnu-g++

CFLAGS ?= -O2 -Wall
CXXFLAGS ?= -O2 -Wall
# Strip the checkout's absolute path from debug info, so fixtures do not depend on where
# the repository lives.
PREFIX_MAP := -ffile-prefix-map=$(CURDIR)=.
# -trimpath and no VCS stamping: the Go fixtures do not depend on the checkout either.
GOFIXTUREFLAGS := -trimpath -buildvcs=false

GOTESTFLAGS ?= -timeout 60m
ifeq ($(CI),true)
# Never trust the test cache on CI: end-to-end tests depend on more than Go inputs.
GOTESTFLAGS += -count=1
endif

SRC := testdata/src
BIN := testdata/bin

FIXTURES := \
	$(BIN)/hello-c \
	$(BIN)/hello-c-static \
	$(BIN)/hello-c-static-pie \
	$(BIN)/hello-cc \
	$(BIN)/hello-cc-static \
	$(BIN)/hello-musl \
	$(BIN)/hello-musl-static \
	$(BIN)/hello-go \
	$(BIN)/hello-cgo \
	$(BIN)/exit3 \
	$(BIN)/app \
	$(BIN)/getpwnam \
	$(BIN)/dlopen \
	$(BIN)/rpath/bin/greet \
	$(BIN)/rpath/lib/libgreet.so.1.0.0 \
	$(BIN)/rpath/lib/libgreet.so.1 \
	$(BIN)/hello-c-arm64 \
	$(BIN)/hello-cc-arm64 \
	$(BIN)/hello-go-arm64 \
	$(BIN)/nss \
	$(BIN)/nss-static \
	$(BIN)/iconv \
	$(BIN)/cancel \
	$(BIN)/gotls \
	$(BIN)/gozone \
	$(BIN)/pyi/boot \
	$(BIN)/pyi/libpyext.so.1 \
	$(BIN)/pyi/libpython3.11.so.1.0

# A failed compile must not leave a half-written fixture that looks up to date.
.DELETE_ON_ERROR:

.PHONY: build deps fixtures test lint malformed demo bench bench-base clean fuzz docs corpus debian-images

# The binary is static (nothing needs cgo, and the dynamic loader costs ~2 ms a start)
# and leaves out urfave/cli's man and markdown writers (their init costs ~1 ms a start).
build:
	CGO_ENABLED=0 $(GO) build -tags urfave_cli_no_docs -o bin/scratchpack ./cmd/scratchpack

deps:
	bash scripts/install-deps.sh

fixtures: $(FIXTURES)

# deps runs first (a fresh machine has no cross compilers yet), then the rest; a
# recursive make keeps that order even under `make -j`.
test: deps
	$(MAKE) --no-print-directory fixtures build
	$(GO) vet ./...
	$(GO) test $(GOTESTFLAGS) ./...
ifeq ($(CI),true)
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(CI_FUZZTIME)
endif

# Fuzzing: each target runs for FUZZTIME, one after the other (go test -fuzz takes one
# target at a time). Seeds come from f.Add and testdata/fuzz/<Target>/ in each package;
# a crash is written to testdata/fuzz/<Target>/ and fails the run: commit that file, it
# becomes a regression seed that plain `go test` replays. The generated corpus lives in
# $$(go env GOCACHE)/fuzz. CI runs each target for CI_FUZZTIME (8 targets, ~2 min in all).
# Minimizing each new interesting input takes up to 60s by default, during which no
# mutations run: with a young corpus a 10s run spent it all minimizing (FuzzParseLDCache
# ran 15 inputs in 10s). A 1s bound keeps the time for fuzzing.
FUZZTIME ?= 30s
CI_FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 1s
FUZZ_TARGETS := \
	./elfdeps:FuzzInspect \
	./elfdeps:FuzzParseLDCache \
	./elfdeps:FuzzParseARMCPUArch \
	./elfdeps:FuzzReadPyInstaller \
	./elfdeps:FuzzDlopenNames \
	./transfer:FuzzUnpackStaysInside \
	./transfer:FuzzBaseFSMatchesUnpack \
	./transfer:FuzzDecodeIndex \
	./config:FuzzParse \
	./sbom:FuzzParseStatus

fuzz:
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME) $(FUZZMINIMIZETIME) $(FUZZ_TARGETS)

lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt -w:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# The committed malformed files must be exactly what gen.go writes.
	@tmp="$$(mktemp -d)"; \
	$(GO) run testdata/malformed/gen.go -o "$$tmp" && \
	diff -r --exclude=README.md --exclude=gen.go testdata/malformed "$$tmp"; \
	rc=$$?; rm -rf "$$tmp"; \
	if [ $$rc -ne 0 ]; then echo "testdata/malformed is stale: run make malformed"; fi; \
	exit $$rc
	@# docs/cli.md must be what the CLI prints (make docs rewrites it).
	$(GO) test -count=1 -run '^TestCLIReference$$' ./cmd/scratchpack

# Rewrite the CLI reference, docs/cli.md, from every command's --help.
docs:
	$(GO) test -count=1 -run '^TestCLIReference$$' ./cmd/scratchpack -update

# Regenerate the committed malformed ELF files (see testdata/malformed/README.md).
malformed:
	$(GO) run testdata/malformed/gen.go -o testdata/malformed

# The main job on the built-in examples: inspect two of them, then pack them all onto
# scratch and onto a busybox:glibc base that scratchpack makes itself, and print sizes.
demo: deps
	$(MAKE) --no-print-directory fixtures build
	bin/scratchpack inspect $(BIN)/hello-cc $(BIN)/hello-go
	@echo
	$(GO) run ./internal/demo

# scratchpack against docker build + save, crane append and the compression floors, on
# node and the fixtures; prints a table. Root, a private dockerd, minutes; not part of test.
bench: deps
	$(MAKE) --no-print-directory build
	bash scripts/bench.sh

# Only bench's rows of packs and checks onto a 230 MB Debian base (issue 20): root, a local
# docker-registry, a minute or two once the Debian root is cached.
bench-base: deps
	$(MAKE) --no-print-directory build
	bash scripts/bench-base.sh

clean:
	rm -rf bin $(BIN) testdata/out

# The real Debian 12 roots (mmdebstrap, through this machine's apt sources) and their
# one-layer images that tests use as inputs, built ahead of `make test`: testenv.DebianRoot
# and DebianImage cache them in testdata/out/debian (~380 MB; make clean removes them),
# keyed by a hash of each spec and the apt sources, so this pays once per machine (~1 min).
# Root, and network access to Debian's archive; a second run takes about a second.
debian-images: deps
	$(GO) test -count=1 -v -run '^TestDebian(Root|Image)$$' ./internal/testenv

# ---- fixtures -------------------------------------------------------------------------
# Every fixture also depends on this Makefile, so changed flags rebuild it.

$(BIN) $(BIN)/rpath/bin $(BIN)/rpath/lib:
	mkdir -p $@

# glibc C: dynamic, static, static-pie.
$(BIN)/hello-c: $(SRC)/hello.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

$(BIN)/hello-c-static: $(SRC)/hello.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -static -o $@ $<

$(BIN)/hello-c-static-pie: $(SRC)/hello.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -fPIE -static-pie -o $@ $<

$(BIN)/exit3: $(SRC)/exit3.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

# getpwnam needs /etc/passwd at run time; dlopen names libraries it loads at run time.
$(BIN)/getpwnam: $(SRC)/getpwnam.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

$(BIN)/dlopen: $(SRC)/dlopen.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $< -ldl

# app is README's ./app: --version, --selftest (dlopens libm), exit 2 on other arguments.
$(BIN)/app: $(SRC)/app.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $< -ldl

# C++: --no-as-needed keeps libm and libgcc_s in DT_NEEDED even where the toolchain
# defaults to --as-needed, so the fixture always needs libstdc++, libm, libgcc_s and libc.
$(BIN)/hello-cc: $(SRC)/hello.cc Makefile | $(BIN)
	$(CXX) $(CXXFLAGS) $(PREFIX_MAP) -Wl,--no-as-needed -o $@ $< -lm -lgcc_s

$(BIN)/hello-cc-static: $(SRC)/hello.cc Makefile | $(BIN)
	$(CXX) $(CXXFLAGS) $(PREFIX_MAP) -static -o $@ $<

# musl: dynamic (interpreter /lib/ld-musl-x86_64.so.1) and static.
$(BIN)/hello-musl: $(SRC)/hello.c Makefile | $(BIN)
	$(MUSL_CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

$(BIN)/hello-musl-static: $(SRC)/hello.c Makefile | $(BIN)
	$(MUSL_CC) $(CFLAGS) $(PREFIX_MAP) -static -o $@ $<

# Run-time needs that no DT_NEEDED names (see elfdeps/glibc.go): NSS lookups,
# gconv modules for iconv, libgcc_s.so.1 for pthread_cancel.
$(BIN)/nss: $(SRC)/nss.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

# glibc warns that a static program using NSS needs glibc's shared libraries at
# run time; since 2.34 files and dns are linked in, so it does not.
$(BIN)/nss-static: $(SRC)/nss.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -static -o $@ $< 2>/dev/null

$(BIN)/iconv: $(SRC)/iconv.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

$(BIN)/cancel: $(SRC)/cancel.c Makefile | $(BIN)
	$(CC) $(CFLAGS) $(PREFIX_MAP) -pthread -o $@ $<

# Go programs that need data files: CA certificates (crypto/tls, net/http)
# and the zone database (time.LoadLocation without time/tzdata).
$(BIN)/gotls: $(SRC)/gotls/main.go Makefile | $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFIXTUREFLAGS) -o $@ ./$(SRC)/gotls

$(BIN)/gozone: $(SRC)/gozone/main.go Makefile | $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFIXTUREFLAGS) -o $@ ./$(SRC)/gozone

# PyInstaller stand-ins (see testdata/src/pyiboot/boot.c): a bootloader-like
# program and the libraries the tests put in its CArchive. libpython needs
# libm (left out of archives) and libpyext (inside them).
$(BIN)/pyi:
	mkdir -p $@

$(BIN)/pyi/boot: $(SRC)/pyiboot/boot.c Makefile | $(BIN)/pyi
	$(CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $< -lz -ldl

$(BIN)/pyi/libpyext.so.1: $(SRC)/pyiboot/libpyext.c Makefile | $(BIN)/pyi
	$(CC) $(CFLAGS) $(PREFIX_MAP) -fPIC -shared -Wl,-soname,libpyext.so.1 -o $@ $<

$(BIN)/pyi/libpython3.11.so.1.0: $(SRC)/pyiboot/libpython.c $(BIN)/pyi/libpyext.so.1 Makefile | $(BIN)/pyi
	$(CC) $(CFLAGS) $(PREFIX_MAP) -fPIC -shared -pthread -Wl,-soname,libpython3.11.so.1.0 -o $@ $< \
		-Wl,--no-as-needed -L$(BIN)/pyi -l:libpyext.so.1 -lm

# Go: testdata/ is invisible to ./..., so build the packages by path inside this module.
$(BIN)/hello-go: $(SRC)/hellogo/main.go Makefile | $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFIXTUREFLAGS) -o $@ ./$(SRC)/hellogo

$(BIN)/hello-cgo: $(SRC)/hellocgo/main.go Makefile | $(BIN)
	CGO_ENABLED=1 $(GO) build $(GOFIXTUREFLAGS) -o $@ ./$(SRC)/hellocgo

# rpath: bin/greet finds lib/libgreet.so.1 (-> libgreet.so.1.0.0) through $ORIGIN/../lib.
$(BIN)/rpath/lib/libgreet.so.1.0.0: $(SRC)/rpath/libgreet.c $(SRC)/rpath/greet.h Makefile | $(BIN)/rpath/lib
	$(CC) $(CFLAGS) $(PREFIX_MAP) -fPIC -shared -Wl,-soname,libgreet.so.1 -o $@ $<

$(BIN)/rpath/lib/libgreet.so.1: $(BIN)/rpath/lib/libgreet.so.1.0.0
	ln -sfn libgreet.so.1.0.0 $@

# -l:libgreet.so.1 links against the soname file, so no libgreet.so dev link is needed;
# $$ is make's escape for the literal $ that the loader expands at run time.
$(BIN)/rpath/bin/greet: $(SRC)/rpath/greet.c $(SRC)/rpath/greet.h $(BIN)/rpath/lib/libgreet.so.1 Makefile | $(BIN)/rpath/bin
	$(CC) $(CFLAGS) $(PREFIX_MAP) -I$(SRC)/rpath -o $@ $< \
		-L$(BIN)/rpath/lib -l:libgreet.so.1 -Wl,-rpath,'$$ORIGIN/../lib'

# arm64 (aarch64-linux-gnu), for foreign-architecture tests; run with
# qemu-aarch64-static -L /usr/aarch64-linux-gnu.
$(BIN)/hello-c-arm64: $(SRC)/hello.c Makefile | $(BIN)
	$(ARM64_CC) $(CFLAGS) $(PREFIX_MAP) -o $@ $<

$(BIN)/hello-cc-arm64: $(SRC)/hello.cc Makefile | $(BIN)
	$(ARM64_CXX) $(CXXFLAGS) $(PREFIX_MAP) -Wl,--no-as-needed -o $@ $< -lm -lgcc_s

$(BIN)/hello-go-arm64: $(SRC)/hellogo/main.go Makefile | $(BIN)
	CGO_ENABLED=0 GOARCH=arm64 $(GO) build $(GOFIXTUREFLAGS) -o $@ ./$(SRC)/hellogo

# A measurement of scratchpack on real software, not a test (CI does not run it): every
# ELF program of /usr/bin and /usr/sbin whose --version (else --help) exits 0 here is
# packed with default flags and with --trace -- FLAG, run in runc, and compared with the
# program run here. Root; installs nothing; CORPUS_FILTER (a regular expression on the
# path) runs a subset, CORPUS_JOBS sets how many at once (default: the CPUs). Prints
# N/M identical and every difference with a one-word cause (testdata/out/corpus/).
CORPUS_FILTER ?=
CORPUS_JOBS ?= $(shell nproc)
corpus:
	$(MAKE) --no-print-directory build
	$(GO) run ./internal/corpus -filter '$(CORPUS_FILTER)' -jobs $(CORPUS_JOBS)
