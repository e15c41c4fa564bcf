# ipcamd: `make run` streams a live source with no camera; `make test`
# installs the missing test peers and runs every test.

GO        ?= go
BIN       ?= bin
# The live test pattern at 1280x720@30, through the software encoder.
SOURCE    ?= testsrc
RUN_FLAGS ?=
FUZZTIME  ?= 10s
export CGO_ENABLED = 0

.PHONY: all build run test test-deps unit e2e lab image-qemu fuzz vet bench cross clean lint-buildroot vendor

all: build

build:
	$(GO) build -trimpath -o $(BIN)/ipcamd ./cmd/ipcamd

run: build
	$(BIN)/ipcamd -source $(SOURCE) $(RUN_FLAGS)

# Release builds: no HTTP/2 (cameras serve HTTP/1.1; -320 KB), and no
# inlining in cold packages (config, SOAP, TLS certificates and handshakes,
# GPIO setup, logging, RTCP reports, RTSP headers and MIKEY, digest auth;
# -250 KB) so that the stripped arm64 binary stays under 9 MiB (the goal
# was 8 MiB until SRTP, redirects and the web page; see docs/BENCHMARKS.md). The hot
# paths (runtime, TLS records, AES, SRTP, rtsp, ring, encoders, capture)
# keep it.
GO_TAGS    = nethttpomithttp2
COLD_PKGS  = go.yaml.in/yaml/v3 encoding/... crypto/x509/... net/http net/textproto mime/... compress/... \
             regexp/... math/big flag periph.io/x/... github.com/ipcamd/ipcamd/onvif/... \
             github.com/ipcamd/ipcamd/board/... github.com/ipcamd/ipcamd/cmd/ipcamd \
             crypto/hpke crypto/ecdsa crypto/rsa crypto/internal/fips140/mlkem crypto/internal/fips140/rsa \
             crypto/internal/fips140/ecdsa log/slog github.com/pion/rtcp github.com/pion/logging \
             github.com/pion/transport/... github.com/ipcamd/ipcamd/rtsp/auth \
             github.com/ipcamd/ipcamd/rtsp/headers github.com/ipcamd/ipcamd/rtsp/mikey
GO_RELEASE = -tags $(GO_TAGS) $(foreach p,$(COLD_PKGS),-gcflags=$(p)=-l) -trimpath -ldflags "-s -w"

# Static binaries for the boards (and amd64), with their sizes.
CROSS_TARGETS = arm64:ipcamd-linux-arm64 arm/7:ipcamd-linux-armv7 arm/6:ipcamd-linux-armv6 amd64:ipcamd-linux-amd64
cross:
	@set -e; for t in $(CROSS_TARGETS); do \
	  arch=$${t%%:*}; out=$(BIN)/$${t#*:}; goarch=$${arch%%/*}; goarm=$${arch#*/}; \
	  [ "$$goarm" = "$$arch" ] && goarm=; \
	  GOOS=linux GOARCH=$$goarch GOARM=$$goarm $(GO) build $(GO_RELEASE) -o $$out ./cmd/ipcamd; \
	  stat -c %s $$out | awk -v f=$$out '{ printf "%-26s %9d bytes (%.2f MiB)\n", f, $$1, $$1 / 1048576 }'; \
	done; \
	size=$$(stat -c %s $(BIN)/ipcamd-linux-arm64); \
	if [ $$size -ge 9437184 ]; then echo "the arm64 binary is $$size bytes: over the 9 MiB goal"; exit 1; fi

test: test-deps vet cross lint-buildroot unit fuzz e2e lab

test-deps:
	@bash e2e/install-peers.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd e2e && $(GO) vet ./...
	cd lab && $(GO) vet ./...

# -race needs cgo.
unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

# Short fuzz runs of every fuzz target (go test -fuzz takes one target and
# one package at a time). A failing input is saved under testdata/fuzz, so a
# real failure repeats on the second try; the retry only absorbs the fuzz
# coordinator's spurious "context deadline exceeded" on a loaded machine.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/ipcamd-fuzz.log 2>&1 || \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/ipcamd-fuzz.log 2>&1 || \
	    { cat /tmp/ipcamd-fuzz.log; exit 1; }; \
	  done; \
	done

e2e:
	cd e2e && CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

# The emulated arm64 camera board (qemu-system-aarch64, Debian kernel,
# vivid/vicodec/gpio-sim); see lab/README.md. fetch.sh is cached in
# ${IPCAMD_LAB_CACHE:-$HOME/.cache/ipcamd-lab}.
lab:
	bash lab/fetch.sh
	cd lab && $(GO) test -count=1 -timeout 15m ./...

# A bootable arm64 firmware image without Buildroot: the lab's pinned Debian
# kernel, busybox-static, ipcamd and the Buildroot tree's init script,
# overlays and config, in lab/out/image-qemu (run.sh boots it; see
# lab/README.md). TestImageQemu in `make lab` boots and checks it.
image-qemu:
	bash lab/fetch.sh
	cd lab && $(GO) run ./cmd/image-qemu -root .. -out out/image-qemu

# The BR2_EXTERNAL firmware tree (buildroot/): the linter's own self-test,
# then Buildroot's check-package rules on the tree (shellcheck comes from
# test-deps).
lint-buildroot:
	python3 scripts/lint-buildroot --self-test
	python3 scripts/lint-buildroot buildroot

# vendor/ for the Buildroot build, which compiles Go with -mod=vendor and
# GOPROXY=off and does not vendor a local source tree itself
# (docs/FLASHING.md). Not tracked in git.
vendor:
	$(GO) mod vendor

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
