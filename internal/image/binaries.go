package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cliPackage is the package whose version and revision variables -ldflags -X sets.
const cliPackage = "github.com/capstan-io/capstan/internal/cli"

// ParsePlatform parses "os/arch[/variant]".
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q is not os/arch[/variant]", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// BuildBinaries cross-compiles the Binaries for the platform into dir: static (CGO_ENABLED=0),
// trimmed paths, stripped, with the version and revision stamped in.
func BuildBinaries(ctx context.Context, repoRoot, dir string, p v1.Platform, version, revision string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ldflags := fmt.Sprintf("-s -w -X %s.version=%s -X %s.revision=%s", cliPackage, version, cliPackage, revision)
	for _, b := range Binaries {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags,
			"-o", filepath.Join(dir, b.Name), b.Package)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOFLAGS=-mod=readonly")
		if p.Variant != "" && p.Architecture == "arm" {
			cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s for %s/%s: %w\n%s", b.Package, p.OS, p.Architecture, err, out)
		}
	}
	return nil
}
