# velero-plugin-for-alibabacloud
BIN        := velero-plugin-for-alibabacloud
IMAGE      ?= velero-plugin-for-alibabacloud
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PLATFORMS  := linux/amd64 linux/arm64
GO         ?= go
FUZZTIME   ?= 20s

.PHONY: all build test lint fuzz container container-test e2e demo bench clean

all: lint test build

## build: static binaries for every platform under _output/<os>/<arch>/
build:
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "building $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath \
			-ldflags "-s -w" -o _output/$$os/$$arch/$(BIN) . || exit 1; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath \
			-ldflags "-s -w" -o _output/$$os/$$arch/copy-plugins ./cmd/copy-plugins || exit 1; \
	done

## test: unit and integration tests (real SDKs against the local emulator)
test:
	$(GO) test -count=1 ./...
	cd test/s3compat && $(GO) test -count=1 ./...

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzzing $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## container: the multi-arch plugin image from the binaries of build, as an OCI
## archive in _output/container/ (docker buildx if a Docker engine answers, else buildah);
## PUSH=docker://<registry>/<image>:<tag> also pushes it
container: build
	IMAGE=$(IMAGE) VERSION=$(VERSION) PLATFORMS="$(PLATFORMS)" PUSH=$(PUSH) bash hack/container.sh

## container-test: checks the image in that archive (platforms, user, files, the
## entrypoint copying the plugin as uid 65532, the copy answering as a plugin); root
container-test: container
	$(GO) test -tags containertest -count=1 -timeout 3m -v ./test/container/

## e2e: every end-to-end scenario through a stock Velero server on a local control plane
e2e:
	bash hack/e2e.sh

## demo: the migration scenario with a narrative
demo:
	bash hack/demo.sh

## bench: benchmarks and bench/REPORT.md
bench:
	bash hack/bench.sh

clean:
	rm -rf _output
