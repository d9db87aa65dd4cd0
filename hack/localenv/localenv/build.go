package localenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// commands are the operator's binaries, built from ./cmd/<name>.
var commands = []string{"controller", "server", "web-hooks"}

// buildBinaries builds the operator's commands into binDir with one `go build` (sharing
// the build cache with the rest of the repository) and returns their paths by name.
func buildBinaries(repoRoot, binDir string, logf func(string, ...any)) (map[string]string, error) {
	began := time.Now()
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, c := range commands {
		args = append(args, "./cmd/"+c)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	paths := map[string]string{}
	for _, c := range commands {
		paths[c] = filepath.Join(binDir, c)
	}
	logf("built %v into %s in %s", commands, binDir, time.Since(began).Round(time.Millisecond))
	return paths, nil
}
