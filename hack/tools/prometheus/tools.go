//go:build tools

// Package tools pins the Prometheus server and promtool used by the test environment.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
