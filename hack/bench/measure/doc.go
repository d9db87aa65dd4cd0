// Package measure holds what hack/bench reads from the processes it runs: CPU seconds and
// resident memory from /proc, the load average, API writes from a binary's metrics, and CPU
// and heap profiles from a binary's or the API server's pprof endpoints.
package measure
