# The plugin image, for linux/amd64 and linux/arm64, from the static binaries
# of `make build`: the build context is _output/, so no base image, builder
# image or registry is needed (`make container` builds it with docker buildx
# or buildah, offline).
#
# The init container that `velero plugin add` creates mounts the Velero
# server's plugin volume at /target and runs the entrypoint, copy-plugins
# (cmd/copy-plugins), which copies /plugins/* there. Nothing else is in the
# image: two files, no shell.
FROM scratch
ARG TARGETARCH
ARG VERSION=dev
LABEL org.opencontainers.image.source="https://github.com/alibabacloud/velero-plugin-for-alibabacloud" \
      org.opencontainers.image.title="velero-plugin-for-alibabacloud" \
      org.opencontainers.image.version="${VERSION}"
COPY linux/${TARGETARCH}/velero-plugin-for-alibabacloud /plugins/velero-plugin-for-alibabacloud
COPY linux/${TARGETARCH}/copy-plugins /bin/copy-plugins
USER 65532:65532
ENTRYPOINT ["/bin/copy-plugins"]
