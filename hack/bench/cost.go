package main

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/capstan-io/capstan/hack/bench/measure"
)

// cpuProcesses are the processes whose CPU seconds a phase reports, in print order.
var cpuProcesses = []string{"controller", "kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok", "bench"}

// phaseCost is what one phase cost: wall time, the load average around it, CPU seconds per
// process and the controller's API requests from the audit log.
type phaseCost struct {
	Name       string
	Wall       time.Duration
	Load       [2]float64 // one-minute load average at the start and at the end
	CPU        map[string]float64
	Requests   map[string]float64
	RequestErr error
	Profile    string
	// PeakRSS is the controller's highest resident memory during the phase (bytes).
	PeakRSS float64
}

// costMeter measures one phase.
type costMeter struct {
	b      *bench
	cost   phaseCost
	start  time.Time
	cpu    map[string]float64
	offset int64
	prof   []*measure.Profiler
	rss    *measure.RSSSampler
}

// startCost begins measuring a phase.
func (b *bench) startCost(name string) *costMeter {
	m := &costMeter{b: b, cost: phaseCost{Name: name}, start: time.Now(), cpu: b.sampleCPU(), offset: b.auditOffset(), rss: measure.SampleRSS(b.controllerPID)}
	m.cost.Load[0] = measure.LoadAverage()
	if b.cfg.cpuProfileDir != "" {
		m.prof = b.startProfile(name)
	}
	return m
}

// stop ends the measurement.
func (m *costMeter) stop() phaseCost {
	c := m.cost
	c.Wall = time.Since(m.start)
	c.PeakRSS = m.rss.Stop()
	c.Load[1] = measure.LoadAverage()
	c.CPU = map[string]float64{}
	for name, v := range m.b.sampleCPU() {
		if d := v - m.cpu[name]; d >= 0 {
			c.CPU[name] = d
		} else {
			c.CPU[name] = v // restarted meanwhile
		}
	}
	c.Requests, c.RequestErr = m.b.auditCounts(m.offset)
	if m.prof != nil {
		measure.StopProfilers(m.prof...)
		heap := m.b.heapProfile(c.Name)
		var paths []string
		for _, p := range m.prof {
			paths = append(paths, p.Merge())
		}
		c.Profile = strings.Join(paths, ", ") + "; heap " + heap
	}
	return c
}

// sampleCPU returns the CPU seconds each process has used so far.
func (b *bench) sampleCPU() map[string]float64 {
	out := map[string]float64{}
	for _, p := range b.env.Processes() {
		if s, err := measure.ProcessCPU(p.PID); err == nil {
			out[p.Name] += s
		}
	}
	if pid := b.controllerPID(); pid != 0 {
		if s, err := measure.ProcessCPU(pid); err == nil {
			out["controller"] = s
		}
	}
	if s, err := measure.SelfCPU(); err == nil {
		out["bench"] = s
	}
	return out
}

// printCosts prints where each phase's time went: CPU seconds per process and the
// controller's requests per tenant by verb and resource.
func printCosts(costs []phaseCost, tenants int) {
	if len(costs) == 0 {
		return
	}
	fmt.Printf("\nCPU seconds by process (wall includes the 3 s settle of the tenant phases; load average at start → end; %d cores) and the controller's peak resident memory\n", runtime.NumCPU())
	fmt.Printf("%-14s %8s %11s", "phase", "wall", "load")
	for _, p := range cpuProcesses {
		fmt.Printf(" %*s", max(len(p), 6), p)
	}
	fmt.Printf(" %8s %12s\n", "total", "ctrl RSS MiB")
	for _, c := range costs {
		fmt.Printf("%-14s %8s %5.1f→%-5.1f", c.Name, c.Wall.Round(100*time.Millisecond), c.Load[0], c.Load[1])
		sum := 0.0
		for _, p := range cpuProcesses {
			fmt.Printf(" %*.1f", max(len(p), 6), c.CPU[p])
			sum += c.CPU[p]
		}
		fmt.Printf(" %8.1f %12.1f\n", sum, c.PeakRSS/(1<<20))
	}
	for _, c := range costs {
		if c.RequestErr != nil {
			fmt.Printf("requests of the controller, %s: %v\n", c.Name, c.RequestErr)
			continue
		}
		if total(c.Requests) == 0 {
			continue
		}
		fmt.Printf("\ncontroller requests per tenant, %s (audit log; %.0f in all; controller CPU %.1f ms per tenant)\n",
			c.Name, total(c.Requests), 1000*c.CPU["controller"]/float64(tenants))
		keys := make([]string, 0, len(c.Requests))
		for k := range c.Requests {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return c.Requests[keys[i]] > c.Requests[keys[j]] || (c.Requests[keys[i]] == c.Requests[keys[j]] && keys[i] < keys[j])
		})
		for _, k := range keys {
			fmt.Printf("  %-45s %8.3f\n", k, c.Requests[k]/float64(tenants))
		}
		if c.Profile != "" {
			fmt.Printf("  CPU profiles of the controller and the API server: %s\n", c.Profile)
		}
	}
}
