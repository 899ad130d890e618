# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w" -o /out/velero-plugin-for-alibabacloud .

# The init container that `velero plugin add` creates mounts the server's
# plugin volume at /target and runs the entrypoint: copying the binary there
# is all this image does. busybox's musl build is one static binary.
FROM busybox:1.37-musl
COPY --from=build /out/velero-plugin-for-alibabacloud /plugins/velero-plugin-for-alibabacloud
USER 65532:65532
ENTRYPOINT ["/bin/sh", "-c", "cp /plugins/* /target/."]
