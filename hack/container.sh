#!/usr/bin/env bash
# Builds the plugin image (Dockerfile) for every platform in PLATFORMS from the
# binaries `make build` left in _output/<os>/<arch>/, and leaves it as one OCI
# image index in _output/container/velero-plugin-for-alibabacloud.oci.tar.
# No base image and no registry: the image is FROM scratch.
#
# With a Docker engine (`docker info` answers) it uses docker buildx; else
# buildah (installed with apt-get when missing and running as root), with a
# storage root in a temporary directory that is removed afterwards, so the
# build neither depends on nor leaves global container state.
#
# PUSH=docker://registry.example.com/velero-plugin-for-alibabacloud:v0.1.0
# (any containers-transports destination with buildah) also pushes the image
# index there.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=velero-plugin-for-alibabacloud
IMAGE=${IMAGE:-$BIN}
VERSION=${VERSION:-dev}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64}
OUT=_output/container
ARCHIVE=$OUT/$BIN.oci.tar
REF=$IMAGE:$VERSION

for p in $PLATFORMS; do
	for f in $BIN copy-plugins; do
		[ -x "_output/$p/$f" ] || { echo "missing _output/$p/$f: run make build" >&2; exit 1; }
	done
done
mkdir -p "$OUT"
rm -f "$ARCHIVE"
start=$(date +%s%N)

if docker info >/dev/null 2>&1; then
	echo "building $REF for $PLATFORMS with docker buildx"
	# The oci exporter needs a builder that can export image indexes (the
	# containerd image store or a docker-container builder: BUILDX_BUILDER).
	docker buildx build --platform "$(echo $PLATFORMS | tr ' ' ,)" \
		--build-arg VERSION="$VERSION" -f Dockerfile \
		--output "type=oci,dest=$ARCHIVE,name=$REF" _output
	if [ -n "${PUSH:-}" ]; then
		docker buildx build --platform "$(echo $PLATFORMS | tr ' ' ,)" \
			--build-arg VERSION="$VERSION" -f Dockerfile -t "${PUSH#docker://}" --push _output
	fi
else
	if ! command -v buildah >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			echo "no Docker engine and no buildah: installing buildah"
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
		else
			echo "make container needs a Docker engine or buildah (apt-get install buildah)" >&2
			exit 1
		fi
	fi
	echo "building $REF for $PLATFORMS with buildah"
	store=$(mktemp -d "${TMPDIR:-/tmp}/velero-plugin-image.XXXXXX")
	B=(buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs)
	cleanup() {
		"${B[@]}" rm --all >/dev/null 2>&1 || true
		"${B[@]}" rmi --all --force >/dev/null 2>&1 || true
		rm -rf "$store"
	}
	trap cleanup EXIT
	mkdir -p "$store/tmp"
	export TMPDIR=$store/tmp BUILDAH_ISOLATION=chroot
	"${B[@]}" manifest create "localhost/$REF" >/dev/null
	for p in $PLATFORMS; do
		"${B[@]}" build --quiet --platform "$p" --build-arg TARGETARCH="${p#*/}" \
			--build-arg VERSION="$VERSION" -f Dockerfile -t "localhost/$REF-${p#*/}" _output >/dev/null
		"${B[@]}" manifest add "localhost/$REF" "localhost/$REF-${p#*/}" >/dev/null
	done
	"${B[@]}" manifest push --quiet --all "localhost/$REF" "oci-archive:$ARCHIVE:$REF"
	if [ -n "${PUSH:-}" ]; then
		echo "pushing to $PUSH"
		"${B[@]}" manifest push --all "localhost/$REF" "$PUSH"
	fi
fi

ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "image $REF: $ARCHIVE ($(du -k "$ARCHIVE" | cut -f1) KiB for $(echo $PLATFORMS | wc -w) platforms), built in $((ms / 1000)).$(printf %03d $((ms % 1000)))s"
