//go:build tools

// Package tools pins github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws
// so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws"
