//go:build tools

// Package tools pins the etcd server main package (go.etcd.io/etcd/server/v3 is
// itself package main) so `go mod tidy` keeps its dependencies.
package tools

import _ "go.etcd.io/etcd/server/v3"
