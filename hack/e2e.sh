#!/usr/bin/env bash
# make e2e: every end-to-end scenario (test/e2e) through the stock Velero
# server and CLI, a local etcd + kube-apiserver and the OSS/ECS emulator.
#
#   hack/e2e.sh                     all scenarios
#   hack/e2e.sh -run TestMigration  extra arguments go to `go test`
#
# Environment: E2E_KEEP=1 keeps the run directory (logs, kubeconfig) for a look
# afterwards; E2E_TIMEOUT (default 30m) bounds the whole run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
start=$(date +%s)

# Build (or find cached) etcd, kube-apiserver and velero; export their paths.
tools_start=$(date +%s)
tools_env="$("$root/hack/tools.sh" env)"
while IFS= read -r line; do export "${line?}"; done <<<"$tools_env"
echo "e2e: tools ready in $(( $(date +%s) - tools_start ))s"

cd "$root/test/e2e"
status=0
go test -count=1 -timeout "${E2E_TIMEOUT:-30m}" -v . "$@" || status=$?
echo "e2e: finished in $(( $(date +%s) - start ))s (exit $status)"
exit $status
