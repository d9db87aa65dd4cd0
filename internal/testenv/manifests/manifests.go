// Package manifests reads the manifests the test environments install: the project's CRDs
// (every *.yaml, *.yml and *.json file below a directory), the third-party CRDs and kwok's
// stages, both taken from the Go module cache at pinned versions.
package manifests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Files lists the *.yaml, *.yml and *.json files below dir, sorted.
func Files(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// ReadCRDs parses every CustomResourceDefinition in a (multi-document)
// YAML or JSON file. Empty documents and other kinds are skipped.
func ReadCRDs(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var crds []*apiextensionsv1.CustomResourceDefinition
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if err == io.EOF {
			return crds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if meta.Kind != "CustomResourceDefinition" {
			continue
		}
		if meta.APIVersion != apiextensionsv1.SchemeGroupVersion.String() {
			return nil, fmt.Errorf("%s: document %d: unsupported CRD apiVersion %q", path, i, meta.APIVersion)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, crd); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		crds = append(crds, crd)
	}
}

// ModuleFiles names files inside a Go module version.
type ModuleFiles struct {
	// Module is the module path.
	Module string
	// Version is the module version.
	Version string
	// Files are slash-separated paths inside the module.
	Files []string
}

// ThirdPartyCRDModules lists the third-party CRDs the test environments install unless
// told to skip them. They are read from the Go module cache
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

// ThirdPartyCRDFiles returns the paths of the third-party CRD files,
// downloading the modules in parallel. workDir must not be inside a module.
func ThirdPartyCRDFiles(ctx context.Context, workDir string) ([]string, error) {
	dirs := make([]string, len(ThirdPartyCRDModules))
	errs := make([]error, len(ThirdPartyCRDModules))
	var wg sync.WaitGroup
	for i, m := range ThirdPartyCRDModules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = ModuleDir(ctx, workDir, m.Module, m.Version)
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

// ModuleDir returns the module cache directory of module@version, running
// `go mod download -json` in workDir (outside any module).
func ModuleDir(ctx context.Context, workDir, module, version string) (string, error) {
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

// KwokVersion is the kwok release whose binary and stages the E2E
// environment uses; it must match hack/install-tools.sh.
const KwokVersion = "v0.8.0"

// kwokStageFiles are kwok's own stage definitions, relative to its module.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat/node-heartbeat.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// failStage moves running pods labelled failPodLabel=true to phase Failed,
// every container terminated with exit code 1. Its positive weight makes
// kwok always pick it over pod-complete (weight 0), which matches the same
// pods when they belong to a Job.
func failStage(failPodLabel string) string {
	return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: capstan-pod-fail
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  weight: 100
  selector:
    matchLabels:
      ` + failPodLabel + `: "true"
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: PodFailed
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: PodFailed
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            finishedAt: {{ $now | Quote }}
            reason: Error
            message: failed by the capstan testenv kwok stage
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
`
}

// WriteKwokStages concatenates kwok's stages and a stage failing the pods labelled
// failPodLabel=true into one multi-document file in dir and returns its path.
func WriteKwokStages(ctx context.Context, dir, failPodLabel string) (string, error) {
	moduleDir, err := ModuleDir(ctx, dir, "sigs.k8s.io/kwok", KwokVersion)
	if err != nil {
		return "", err
	}
	docs := make([]string, 0, len(kwokStageFiles)+1)
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(moduleDir, filepath.FromSlash(f)))
		if err != nil {
			return "", fmt.Errorf("kwok stages: %w", err)
		}
		docs = append(docs, strings.TrimSpace(string(data)))
	}
	docs = append(docs, strings.TrimSpace(failStage(failPodLabel)))
	path := filepath.Join(dir, "kwok-stages.yaml")
	err = os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
	return path, err
}
