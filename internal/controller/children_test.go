package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// deploymentChild describes Deployments for EnsureChild over a fake API whose lister (the
// cache) only shows the objects in cached, as an informer filtered by label would.
func deploymentChild(client *fake.Clientset, cached map[string]*appsv1.Deployment) Child[*appsv1.Deployment] {
	return Child[*appsv1.Deployment]{
		Kind: "Deployment",
		Get: func(_, name string) (*appsv1.Deployment, error) {
			if d, ok := cached[name]; ok {
				return d, nil
			}
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, name)
		},
		Live: func(ctx context.Context, ns, name string) (metav1.Object, error) {
			return client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		},
		Client:   func(ns string) Writer[*appsv1.Deployment] { return client.AppsV1().Deployments(ns) },
		Spec:     func(o *appsv1.Deployment) any { return o.Spec },
		SetSpec:  func(desired, actual *appsv1.Deployment) { actual.Spec = desired.Spec },
		DeepCopy: (*appsv1.Deployment).DeepCopy,
	}
}

// TestEnsureChildNameTaken covers a child name another object holds: an unlabelled object
// the cache cannot see (the create fails with AlreadyExists), a visible object controlled by
// someone else, and the harmless case of a cache that is behind.
func TestEnsureChildNameTaken(t *testing.T) {
	owner := metav1.OwnerReference{APIVersion: "sme.sap.com/v1alpha1", Kind: "CAPApplicationVersion", Name: "cav", UID: "uid-cav", Controller: new(true)}
	desired := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cav-app",
		Labels: map[string]string{"sme.sap.com/owner-identifier-hash": "h"}, OwnerReferences: []metav1.OwnerReference{owner}}}
	foreign := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cav-app", UID: types.UID("uid-foreign")}}
	otherOwner := foreign.DeepCopy()
	otherOwner.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "uid-rs", Controller: new(true)}}
	ours := desired.DeepCopy()
	tests := map[string]struct {
		// setup
		inAPI  *appsv1.Deployment // the stored object
		cached bool               // whether the cache shows it
		// expectations
		hidden   bool     // a ChildConflictError for an object the cache cannot see
		conflict []string // substrings of a ChildConflictError; nil means none
		requeue  bool     // a quiet requeue
	}{
		"an unlabelled object hidden from the cache": {inAPI: foreign, hidden: true,
			conflict: []string{"Deployment ns/cav-app already exists and is not controlled by CAPApplicationVersion cav",
				"lacks the label sme.sap.com/owner-identifier-hash", "delete or rename it"}},
		"a visible object of another controller": {inAPI: otherOwner, cached: true,
			conflict: []string{"Deployment ns/cav-app already exists and is not controlled by CAPApplicationVersion cav", "controlled by ReplicaSet rs"}},
		"our own object the cache does not show yet": {inAPI: ours, requeue: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(tc.inAPI)
			cached := map[string]*appsv1.Deployment{}
			if tc.cached {
				cached[tc.inAPI.Name] = tc.inAPI
			}
			_, _, err := EnsureChild(context.Background(), deploymentChild(client, cached), desired.DeepCopy())
			var conflict *ChildConflictError
			if tc.conflict == nil {
				if _, ok := IsRequeue(err); ok != tc.requeue || errors.As(err, &conflict) {
					t.Fatalf("got %v, want a quiet requeue", err)
				}
				return
			}
			if !errors.As(err, &conflict) {
				t.Fatalf("got %v, want a ChildConflictError", err)
			}
			if conflict.Hidden != tc.hidden {
				t.Errorf("hidden = %v, want %v", conflict.Hidden, tc.hidden)
			}
			for _, want := range tc.conflict {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestEnsureChildRules covers the one drift rule and adoption rule on a stored child: what
// counts as drift (and costs a write), and what an update keeps of the stored object.
func TestEnsureChildRules(t *testing.T) {
	owner := metav1.OwnerReference{APIVersion: "sme.sap.com/v1alpha1", Kind: "Domain", Name: "d", UID: "uid-d", Controller: new(true)}
	desired := func() *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "child", Finalizers: []string{"sme.sap.com/ours"},
				Labels:          map[string]string{"sme.sap.com/owner-identifier-hash": "h", "sme.sap.com/owner-generation": "2"},
				Annotations:     map[string]string{"sme.sap.com/resource-hash": "hash-2"},
				OwnerReferences: []metav1.OwnerReference{owner}},
			Spec: appsv1.DeploymentSpec{Replicas: new(int32(2))},
		}
	}
	stored := func(mutate func(*appsv1.Deployment)) *appsv1.Deployment {
		d := desired()
		d.UID, d.ResourceVersion = "uid-child", "7"
		d.Labels["sme.sap.com/owner-generation"] = "1"
		d.Labels["team"] = "theirs"
		d.Annotations["note"] = "theirs"
		d.Finalizers = append(d.Finalizers, "example.com/theirs")
		d.Spec.RevisionHistoryLimit = new(int32(10)) // a server default
		mutate(d)
		return d
	}
	tests := map[string]struct {
		stored    *appsv1.Deployment
		wantWrite bool
	}{
		"in shape (an older owner generation alone is no drift)": {stored: stored(func(*appsv1.Deployment) {})},
		"spec edited by hand, hash annotation untouched": {stored: stored(func(d *appsv1.Deployment) { d.Spec.Replicas = new(int32(5)) }),
			wantWrite: true},
		"desired content changed (hash differs)": {stored: stored(func(d *appsv1.Deployment) { d.Annotations["sme.sap.com/resource-hash"] = "hash-1" }),
			wantWrite: true},
		"our label removed": {stored: stored(func(d *appsv1.Deployment) { delete(d.Labels, "sme.sap.com/owner-identifier-hash") }),
			wantWrite: true},
		"our finalizer removed": {stored: stored(func(d *appsv1.Deployment) { d.Finalizers = d.Finalizers[1:] }),
			wantWrite: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(tc.stored)
			got, op, err := EnsureChild(context.Background(), deploymentChild(client, map[string]*appsv1.Deployment{"child": tc.stored}), desired())
			if err != nil {
				t.Fatal(err)
			}
			writes := 0
			for _, a := range client.Actions() {
				if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
					writes++
				}
			}
			if (op == OpUpdated) != tc.wantWrite || writes != map[bool]int{false: 0, true: 1}[tc.wantWrite] {
				t.Fatalf("op %v with %d writes, want a write: %v", op, writes, tc.wantWrite)
			}
			if !tc.wantWrite {
				return
			}
			// The adoption rule: identity, foreign labels, annotations and finalizers kept;
			// ours set; the owned part from desired.
			if got.UID != "uid-child" || got.Labels["team"] != "theirs" || got.Annotations["note"] != "theirs" ||
				got.Labels["sme.sap.com/owner-generation"] != "2" || got.Annotations["sme.sap.com/resource-hash"] != "hash-2" ||
				!slices.Contains(got.Finalizers, "example.com/theirs") || !slices.Contains(got.Finalizers, "sme.sap.com/ours") ||
				*got.Spec.Replicas != 2 || len(got.OwnerReferences) != 1 || got.OwnerReferences[0].UID != "uid-d" {
				t.Errorf("updated object: %+v", got)
			}
		})
	}
}
