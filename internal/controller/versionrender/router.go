package versionrender

import (
	"encoding/json"
	"fmt"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Destination is one entry of the Router's `destinations` variable. Unknown fields of user
// entries are kept as they are.
type Destination map[string]any

// RouterDestinations merges the user's `destinations` value of the Router with one
// Destination per workload port that names a router Destination. A user entry of the same
// name only gets its url replaced; the remaining user entries follow the generated ones.
func RouterDestinations(in Input, router *v1alpha1.WorkloadDetails) (string, error) {
	var user []Destination
	for _, e := range router.DeploymentDefinition.Env {
		if e.Name == workload.EnvDestinations && e.Value != "" {
			if err := json.Unmarshal([]byte(e.Value), &user); err != nil {
				return "", fmt.Errorf("env %s of workload %s is not a JSON list of destinations: %w", workload.EnvDestinations, router.Name, err)
			}
		}
	}
	used := make([]bool, len(user))
	var out []Destination
	for i := range in.CAV.Spec.Workloads {
		w := &in.CAV.Spec.Workloads[i]
		if w.DeploymentDefinition == nil {
			continue
		}
		for _, p := range servicePorts(w.DeploymentDefinition) {
			if p.RouterDestinationName == "" {
				continue
			}
			url := fmt.Sprintf("http://%s:%d", workload.ServiceName(in.CAV.Name, w.Name), p.Port)
			out = append(out, mergeDestination(user, used, p.RouterDestinationName, url))
		}
	}
	for i, d := range user {
		if !used[i] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return "", nil
	}
	data, err := json.Marshal(out)
	return string(data), err
}

// mergeDestination returns the user's Destination of that name with the url replaced, or a
// new Destination that forwards the auth token.
func mergeDestination(user []Destination, used []bool, name, url string) Destination {
	for i, d := range user {
		if d["name"] == name {
			used[i] = true
			d["url"] = url
			return d
		}
	}
	return Destination{"name": name, "url": url, "forwardAuthToken": true}
}
