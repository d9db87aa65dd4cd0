// Package measure holds what hack/bench reads from the processes it runs: CPU seconds from
// /proc, the load average, resident memory and API writes from a binary's metrics, and CPU
// and heap profiles from a binary's or the API server's pprof endpoints.
package measure
