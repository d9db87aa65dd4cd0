//go:build linux

package proc

import "syscall"

// sysProcAttr puts a child in its own process group (so StopAll can kill it
// with everything it spawned, and a terminal's Ctrl-C reaches only the test
// binary, which then stops the environment) and asks the kernel to SIGKILL
// it when the test binary dies, so a killed `go test` leaves no strays.
//
// Pdeathsig fires when the OS thread that started the child exits. The Go
// runtime only ends threads of goroutines that exit while locked with
// runtime.LockOSThread, so do not call Start from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
