package measure

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const userHZ = 100

// ProcessCPU reads the user and system CPU seconds of a process (all its threads).
func ProcessCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after it start at state (3).
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad CPU times", pid)
	}
	return (utime + stime) / userHZ, nil
}

// SelfCPU returns the CPU seconds the calling process has used.
func SelfCPU() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
}

// ProcessRSS reads the resident memory of a process in bytes (what its
// process_resident_memory_bytes metric reports), from /proc without asking the process.
func ProcessRSS(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0, fmt.Errorf("/proc/%d/statm: too few fields", pid)
	}
	pages, err := strconv.ParseFloat(fields[1], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/statm: %w", pid, err)
	}
	return pages * float64(os.Getpagesize()), nil
}

// RSSSampler samples a process's resident memory until stopped.
type RSSSampler struct {
	done     chan struct{}
	peak     chan float64
	stopOnce sync.Once
	result   float64
}

// SampleRSS samples the resident memory of the process pid returns every 250 ms (asked each
// time, so a process restarted meanwhile is followed). It reads /proc rather than the
// process's metrics: a scrape of the controller's metrics computes its fleet metrics over
// every tenant, which at four scrapes a second would be a load of its own.
func SampleRSS(pid func() int) *RSSSampler {
	r := &RSSSampler{done: make(chan struct{}), peak: make(chan float64, 1)}
	go func() {
		peak := 0.0
		for {
			if rss, err := ProcessRSS(pid()); err == nil && rss > peak {
				peak = rss
			}
			select {
			case <-r.done:
				r.peak <- peak
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return r
}

// Stop ends the sampling and returns the peak in bytes; stopping again returns it again.
func (r *RSSSampler) Stop() float64 {
	r.stopOnce.Do(func() {
		close(r.done)
		r.result = <-r.peak
	})
	return r.result
}

// LoadAverage returns the one-minute load average, 0 when unknown.
func LoadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(fields[0], 64)
	return v
}
