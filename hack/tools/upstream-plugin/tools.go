//go:build tools

// Package tools pins github.com/AliyunContainerService/velero-plugin/velero-plugin-alibabacloud
// so `go mod tidy` keeps its dependencies.
package tools

import _ "github.com/AliyunContainerService/velero-plugin/velero-plugin-alibabacloud"
