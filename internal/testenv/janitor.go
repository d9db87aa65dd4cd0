package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// dirPattern matches the environment directories in os.TempDir().
const dirPattern = "capstan-testenv-*"

// ownerFile, in an environment directory, holds the pid of the process that
// created it. Stop removes the directory, or only this file with KeepDir.
const ownerFile = "owner.pid"

// writeOwner records the current process as the owner of dir.
func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// sweepStaleDirs removes the environment directories left behind by test
// binaries that died without stopping their environment (a panicking test,
// a timeout, SIGKILL). Their processes were killed by Pdeathsig; only the
// directory remains. Directories whose owner lives, or that have no owner
// file (kept with KeepDir), are left alone.
func sweepStaleDirs(logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPattern))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			logf("removed %s left behind by dead process %d", dir, pid)
		}
	}
}
