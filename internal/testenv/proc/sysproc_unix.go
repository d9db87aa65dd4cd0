//go:build unix && !linux

package proc

import "syscall"

// sysProcAttr puts a child in its own process group so StopAll can kill it with
// everything it spawned. This platform has no Pdeathsig: children of a test
// binary killed with SIGKILL survive it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
