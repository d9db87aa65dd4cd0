// Package tools finds the repository root and the binaries hack/install-tools.sh builds
// (etcd, kube-apiserver, kwok, Prometheus, promtool), building those that are missing or out
// of date.
package tools

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// ModulePath is the module path that identifies the repository root.
const ModulePath = "github.com/capstan-io/capstan"

// RepoRoot returns the repository root: the nearest directory, walking up
// from the working directory (and, failing that, from this source file),
// whose go.mod declares module ModulePath.
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, start := range starts {
		if root, ok := findModuleRoot(start); ok {
			return root, nil
		}
	}
	return "", fmt.Errorf("no go.mod declaring module %s found above %v", ModulePath, starts)
}

// findModuleRoot walks up from dir to the go.mod declaring ModulePath.
func findModuleRoot(dir string) (string, bool) {
	for {
		if modulePathOf(filepath.Join(dir, "go.mod")) == ModulePath {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// modulePathOf returns the module path declared in the go.mod file at path,
// or "" if it cannot be read.
func modulePathOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}

// BinDir returns the directory hack/install-tools.sh installs into.
func BinDir(root string) string {
	if dir := os.Getenv("CAPSTAN_TOOLS"); dir != "" {
		return filepath.Join(dir, "bin")
	}
	return filepath.Join(root, ".cache", "bin")
}

// Ensure runs hack/install-tools.sh for the named tools, which builds
// those that are missing or were built from other versions (it does nothing
// in a fraction of a second when all are up to date), and checks the result.
func Ensure(root, binDir string, names []string) error {
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "hack", "install-tools.sh")}, names...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CAPSTAN_INSTALL_QUIET=1")
	// Building takes minutes: stream the script's progress messages.
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/install-tools.sh %s: %w", strings.Join(names, " "), err)
	}
	for _, name := range names {
		if !Executable(filepath.Join(binDir, name)) {
			return fmt.Errorf("hack/install-tools.sh did not produce %s", filepath.Join(binDir, name))
		}
	}
	return nil
}

// Executable reports whether path is a regular file with an execute bit.
func Executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Path returns the path of a tool hack/install-tools.sh provides (for example "promtool"),
// building it first when it is missing or out of date. Tests that only need the binary use
// it without starting an environment.
func Path(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	binDir := BinDir(root)
	if err := Ensure(root, binDir, []string{name}); err != nil {
		return "", err
	}
	return filepath.Join(binDir, name), nil
}
