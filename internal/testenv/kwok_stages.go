package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

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

// failStage moves running pods labelled FailPodLabel=true to phase Failed,
// every container terminated with exit code 1. Its positive weight makes
// kwok always pick it over pod-complete (weight 0), which matches the same
// pods when they belong to a Job.
var failStage = `apiVersion: kwok.x-k8s.io/v1alpha1
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
      ` + FailPodLabel + `: "true"
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

// writeKwokStages concatenates kwok's stages and failStage into one
// multi-document file in the environment directory and returns its path.
func (e *Env) writeKwokStages(ctx context.Context) (string, error) {
	dir, err := moduleDir(ctx, e.Dir, "sigs.k8s.io/kwok", KwokVersion)
	if err != nil {
		return "", err
	}
	docs := make([]string, 0, len(kwokStageFiles)+1)
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return "", fmt.Errorf("kwok stages: %w", err)
		}
		docs = append(docs, strings.TrimSpace(string(data)))
	}
	docs = append(docs, strings.TrimSpace(failStage))
	path := filepath.Join(e.Dir, "kwok-stages.yaml")
	err = os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
	return path, err
}
