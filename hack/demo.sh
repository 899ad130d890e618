#!/usr/bin/env bash
# make demo: on a fresh machine, build what is needed, start a local control
# plane with the stock Velero server, the plugin and the OSS/ECS emulator, run
# the migration scenario of Alibaba Cloud's ACK migration walk-through
# (StatefulSet `web` from namespace default to default1, registry mapping,
# node affinity removed by a resource modifier, disks restored from ECS
# snapshots) with a short narrative and a before/after diff of the
# StatefulSet, then stop everything.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
echo "demo: building etcd, kube-apiserver and velero from the Go module proxy (cached after the first run)"
tools_env="$("$root/hack/tools.sh" env)"
while IFS= read -r line; do export "${line?}"; done <<<"$tools_env"

cd "$root/test/e2e"
# No package argument: `go test` streams the narrative as it happens.
E2E_DEMO=1 go test -count=1 -timeout 20m -run '^TestMigration$'
