package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// ModuleFiles names files inside a Go module version.
type ModuleFiles struct {
	// Module is the module path.
	Module string
	// Version is the module version.
	Version string
	// Files are slash-separated paths inside the module.
	Files []string
}

// ThirdPartyCRDModules lists the third-party CRDs installed unless
// Options.SkipThirdPartyCRDs is set. They are read from the Go module cache
// (downloaded with `go mod download` if needed).
var ThirdPartyCRDModules = []ModuleFiles{
	{Module: "istio.io/api", Version: "v1.30.3", Files: []string{
		"kubernetes/customresourcedefinitions.gen.yaml",
	}},
	{Module: "github.com/cert-manager/cert-manager", Version: "v1.21.2", Files: []string{
		"deploy/crds/cert-manager.io_certificates.yaml",
		"deploy/crds/cert-manager.io_certificaterequests.yaml",
		"deploy/crds/cert-manager.io_issuers.yaml",
		"deploy/crds/cert-manager.io_clusterissuers.yaml",
	}},
	{Module: "github.com/gardener/external-dns-management", Version: "v0.49.0", Files: []string{
		"pkg/dnsman2/apis/dns/crd-dns.gardener.cloud_dnsentries.yaml",
	}},
	{Module: "github.com/gardener/cert-management", Version: "v0.27.0", Files: []string{
		"pkg/certman2/apis/cert/crd-cert.gardener.cloud_certificates.yaml",
	}},
	{Module: "github.com/prometheus-operator/prometheus-operator", Version: "v0.93.1", Files: []string{
		"example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
		"example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
	}},
}

// thirdPartyCRDFiles returns the paths of the third-party CRD files,
// downloading the modules in parallel. workDir must not be inside a module.
func thirdPartyCRDFiles(ctx context.Context, workDir string) ([]string, error) {
	dirs := make([]string, len(ThirdPartyCRDModules))
	errs := make([]error, len(ThirdPartyCRDModules))
	var wg sync.WaitGroup
	for i, m := range ThirdPartyCRDModules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = moduleDir(ctx, workDir, m.Module, m.Version)
		}()
	}
	wg.Wait()
	var files []string
	for i, m := range ThirdPartyCRDModules {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, f := range m.Files {
			files = append(files, filepath.Join(dirs[i], filepath.FromSlash(f)))
		}
	}
	return files, nil
}

// moduleDir returns the module cache directory of module@version, running
// `go mod download -json` in workDir (outside any module).
func moduleDir(ctx context.Context, workDir, module, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = workDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GO111MODULE=on")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &info); jsonErr != nil && err == nil {
		err = jsonErr
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no module directory reported", module, version)
	}
	return info.Dir, nil
}
