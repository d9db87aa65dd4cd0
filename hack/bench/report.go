package main

import (
	"fmt"
	"net/http"
	"time"
)

// report collects the measurements.
type report struct {
	Tenants  int
	BareJobs time.Duration
	// BareJobsTwoSteps is the baseline of an upgrade: two Jobs per tenant, one after the other.
	BareJobsTwoSteps time.Duration
	Subscribe        time.Duration
	// Writes are the controller's API writes per tenant by verb, per phase.
	Writes              map[string]map[string]float64
	IdleWrites          float64
	IdleMeasured        bool
	Upgrade             time.Duration
	Unsubscribe         time.Duration
	MemoryBytes         float64
	MemoryBeforeSecrets float64
	UnrelatedSecrets    int
	// Server is the result of the subscription server phase (-server-requests).
	Server *serverResult
	// Costs are the CPU seconds and API requests of each phase.
	Costs []phaseCost
}

// print writes the report as a small table.
func (r *report) print() {
	fmt.Println()
	if r.Server != nil {
		r.Server.print()
		printCosts(r.Costs, max(r.Server.Codes[http.StatusAccepted], 1)) // per tenant created
		return
	}
	fmt.Printf("tenants                         %d\n", r.Tenants)
	fmt.Printf("bare Jobs complete (baseline)   %s; two per tenant, one after the other: %s\n", orSkipped(r.BareJobs), orSkipped(r.BareJobsTwoSteps))
	if r.Subscribe > 0 {
		fmt.Printf("subscribe (all Ready)           %s (%s)\n", r.Subscribe.Round(100*time.Millisecond), ratio(r.Subscribe, r.BareJobs, "the baseline"))
	}
	for _, phase := range []string{"subscribe", "upgrade", "unsubscribe"} {
		if w, ok := r.Writes[phase]; ok {
			fmt.Printf("writes per tenant, %-12s %.1f %v\n", phase, total(w), w)
		}
	}
	if r.IdleMeasured {
		fmt.Printf("controller writes while idle    %.0f\n", r.IdleWrites)
	}
	if r.Upgrade > 0 {
		fmt.Printf("upgrade (all Ready on v2)       %s (%s)\n", r.Upgrade.Round(100*time.Millisecond), ratio(r.Upgrade, r.BareJobsTwoSteps, "the two-step baseline"))
	}
	if r.Unsubscribe > 0 {
		fmt.Printf("unsubscribe (all gone)          %s (%s)\n", r.Unsubscribe.Round(100*time.Millisecond), ratio(r.Unsubscribe, r.BareJobs, "the baseline"))
	}
	if r.UnrelatedSecrets > 0 {
		fmt.Printf("controller memory (RSS)         %.1f MiB after the tenant phases, %.1f MiB when restarted with %d unrelated Secrets\n",
			r.MemoryBeforeSecrets/(1<<20), r.MemoryBytes/(1<<20), r.UnrelatedSecrets)
	}
	printCosts(r.Costs, r.Tenants)
}

// ratio gives a phase's time in multiples of its baseline, e.g. "2.1x the baseline", or
// says that the baseline was not run.
func ratio(d, baseline time.Duration, name string) string {
	if baseline <= 0 {
		return name + " not run"
	}
	return fmt.Sprintf("%.1fx %s", d.Seconds()/baseline.Seconds(), name)
}

// orSkipped formats a baseline's time, or says that it was not run.
func orSkipped(d time.Duration) string {
	if d <= 0 {
		return "not run"
	}
	return d.Round(100 * time.Millisecond).String()
}
