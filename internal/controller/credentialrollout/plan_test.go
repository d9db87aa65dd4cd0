package credentialrollout

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestDecide(t *testing.T) {
	const prefix = "app-v1-router"
	current := `{"xsuaa":[{"credentials":{"clientsecret":"new"}}]}`
	tests := map[string]struct {
		injected string
		want     action
	}{
		"injects the Secret of the current content":            {injected: workload.VCAPSecretName(prefix, current), want: keep},
		"injects the Secret of other content":                  {injected: workload.VCAPSecretName(prefix, `{"xsuaa":[]}`), want: roll},
		"injects a generateName Secret: compare the content":   {injected: prefix + "-x7k2p", want: compare},
		"injects another workload's content-hash Secret":       {injected: workload.VCAPSecretName("app-v1-backend", current), want: compare},
		"injects nothing: the version controller repairs that": {injected: "", want: keep},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, to := decide(tc.injected, prefix, current)
			if got != tc.want {
				t.Errorf("action %d, want %d", got, tc.want)
			}
			if to != workload.VCAPSecretName(prefix, current) {
				t.Errorf("target %s is not the Secret of the current content", to)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	v1, v2 := version("app-v1"), version("app-v2")
	deletingV := version("app-v0")
	deletingV.DeletionTimestamp = &metav1.Time{Time: t0}
	deployments := map[string]*appsv1.Deployment{}
	for _, cav := range []*v1alpha1.CAPApplicationVersion{v1, v2, deletingV} {
		for i := range cav.Spec.Workloads[:2] {
			d := deploymentOf(cav, &cav.Spec.Workloads[i], "s")
			deployments[d.Name] = d
		}
	}
	// v2's router is controlled by another object of the same name; its backend is missing.
	deployments["app-v2-router"].OwnerReferences[0].UID = "other"
	delete(deployments, "app-v2-backend")
	get := func(_, name string) (*appsv1.Deployment, error) {
		if d, ok := deployments[name]; ok {
			return d, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "deployments"}, name)
	}
	var got []string
	for _, c := range candidates([]*v1alpha1.CAPApplicationVersion{v1, v2, deletingV}, get) {
		if c.injected != "s" || c.deployment.Name != workload.Name(c.cav.Name, c.workload.Name) {
			t.Errorf("candidate %+v does not match its deployment", c)
		}
		got = append(got, c.deployment.Name)
	}
	// Content jobs, missing and foreign Deployments and versions being deleted are left out.
	if want := []string{"app-v1-backend", "app-v1-router"}; !slices.Equal(got, want) {
		t.Errorf("candidates %v, want %v", got, want)
	}
}

func TestEffectiveDelay(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{DefaultDelay, DefaultDelay},
		{delay, delay},
		{MinDelay, MinDelay},
		{MinDelay - 1, MinDelay},
		{0, MinDelay},
		{-time.Hour, MinDelay},
	}
	for _, tc := range tests {
		if got := EffectiveDelay(tc.in); got != tc.want {
			t.Errorf("EffectiveDelay(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
