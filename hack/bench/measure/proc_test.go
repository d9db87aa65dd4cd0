package measure

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

func TestProcessCPU(t *testing.T) {
	s, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s < 0 {
		t.Errorf("CPU seconds %v", s)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

// TestProcessRSS compares the resident memory read from /proc/<pid>/statm with the VmRSS
// line of /proc/<pid>/status, which the kernel computes from the same counters.
func TestProcessRSS(t *testing.T) {
	rss, err := ProcessRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var kib float64
	for line := range strings.Lines(string(status)) {
		if _, err := fmt.Sscanf(line, "VmRSS: %f kB", &kib); err == nil {
			break
		}
	}
	if kib == 0 || math.Abs(rss-kib*1024) > 4<<20 {
		t.Errorf("ProcessRSS %v bytes, /proc/self/status VmRSS %v kB", rss, kib)
	}
	if _, err := ProcessRSS(-1); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
