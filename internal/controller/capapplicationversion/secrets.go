package capapplicationversion

import (
	"context"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// createdSecrets remembers VCAP_SERVICES Secrets created but maybe not yet in the informer
// cache, by secret-owner-hash, so that a quick second sync does not create a duplicate.
type createdSecrets struct{ m sync.Map }

// ensureVCAPSecret returns the name of the VCAP_SERVICES Secret of one workload object
// (prefix is the Deployment or Job name), creating it from the binding Secrets when there is
// none. An existing Secret is reused: credential changes are rolled out separately.
func (ctl *Controller) ensureVCAPSecret(ctx context.Context, in input, prefix string, consumed []string) (string, error) {
	hash := identity.SHA1(in.cav.Namespace, in.cav.Name, prefix)
	if name := ctl.existingVCAPSecret(in.cav.Namespace, hash); name != "" {
		ctl.created.m.Delete(hash)
		return name, nil
	}
	if name, ok := ctl.created.m.Load(hash); ok {
		return name.(string), nil
	}
	read := func(name string) (map[string][]byte, error) {
		s, err := ctl.c.Clients.Kube.CoreV1().Secrets(in.cav.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	vcap, undeclared, err := workload.VCAPServices(in.ca.Spec.BTP.Services, consumed, read)
	if err != nil {
		return "", err
	}
	if len(undeclared) > 0 {
		ctl.c.Recorder.Eventf(in.cav, nil, corev1.EventTypeWarning, "UndeclaredServices", "ReconcileWorkloads",
			"%s consumes services its CAPApplication does not declare, their credentials are not injected: %v", prefix, undeclared)
	}
	secret := newVCAPSecret(in, prefix, hash, vcap)
	created, err := ctl.c.Clients.Kube.CoreV1().Secrets(in.cav.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return "", err
	}
	ctl.created.m.Store(hash, created.Name)
	return created.Name, nil
}

// existingVCAPSecret returns the newest cached Secret with the given secret-owner-hash.
func (ctl *Controller) existingVCAPSecret(namespace, hash string) string {
	objs, err := ctl.secrets.ByNamespace(namespace).List(labels.SelectorFromSet(labels.Set{v1alpha1.LabelSecretOwnerHash: hash}))
	if err != nil || len(objs) == 0 {
		return ""
	}
	metas := make([]metav1.Object, 0, len(objs))
	for _, o := range objs {
		if m, ok := controller.MetaOf(o); ok && m.GetDeletionTimestamp() == nil {
			metas = append(metas, m)
		}
	}
	if len(metas) == 0 {
		return ""
	}
	sort.Slice(metas, func(i, j int) bool {
		ti, tj := metas[i].GetCreationTimestamp(), metas[j].GetCreationTimestamp()
		return tj.Before(&ti)
	})
	return metas[0].GetName()
}

// newVCAPSecret builds a VCAP_SERVICES Secret owned by the version.
func newVCAPSecret(in input, prefix, hash, vcap string) *corev1.Secret {
	labels := in.ownerLabels()
	labels[v1alpha1.LabelSecretOwnerHash] = hash
	meta := in.objectMeta("", labels, nil)
	meta.GenerateName = prefix + "-"
	return &corev1.Secret{
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{workload.EnvVCAPServices: vcap},
	}
}
