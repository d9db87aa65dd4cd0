package capapplicationversion

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/versionrender"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// createdTrust is how long a Secret this controller created counts as existing without the
// informer cache showing it: long enough for the watch event to arrive, short enough that a
// Secret deleted by hand meanwhile is noticed.
const createdTrust = 30 * time.Second

// createdSecrets remembers VCAP_SERVICES Secrets created but maybe not yet in the informer
// cache, by "<namespace>/<name>", with their creation time, so that a quick second sync does
// not read the binding Secrets and create again.
type createdSecrets struct{ m sync.Map }

// ensureVCAPSecret returns the name of the VCAP_SERVICES Secret of one workload object
// (prefix is the Deployment or Job name). current is the Secret the existing object already
// injects ("" for a new object): it is kept while it exists and belongs to the object, so
// changed binding Secrets never roll a workload here; that is the credential rollout's job,
// for applications that ask for it. Otherwise the content is built from the binding Secrets
// and stored under its content-hash name, which a concurrent writer computes alike.
func (ctl *Controller) ensureVCAPSecret(ctx context.Context, in versionrender.Input, prefix string, consumed []string, current string) (string, error) {
	ownerHash := workload.VCAPOwnerHash(in.CAV, prefix)
	if current != "" && ctl.vcapSecretExists(in.CAV.Namespace, current, ownerHash) {
		return current, nil
	}
	read := func(name string) (map[string][]byte, error) {
		s, err := ctl.c.Clients.Kube.CoreV1().Secrets(in.CAV.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	vcap, undeclared, err := workload.VCAPServices(in.CA.Spec.BTP.Services, consumed, read)
	if err != nil {
		return "", err
	}
	if len(undeclared) > 0 {
		ctl.c.Recorder.Eventf(in.CAV, nil, corev1.EventTypeWarning, "UndeclaredServices", "ReconcileWorkloads",
			"%s consumes services its CAPApplication does not declare, their credentials are not injected: %v", prefix, undeclared)
	}
	secret := workload.VCAPSecret(in.CAV, prefix, vcap)
	if ctl.vcapSecretExists(in.CAV.Namespace, secret.Name, ownerHash) {
		return secret.Name, nil
	}
	_, err = ctl.c.Clients.Kube.CoreV1().Secrets(in.CAV.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	// AlreadyExists: the same content under the same name, written by the credential rollout
	// or by an earlier sync the cache does not show yet.
	ctl.created.m.Store(in.CAV.Namespace+"/"+secret.Name, ctl.c.Clock.Now())
	return secret.Name, nil
}

// vcapSecretExists reports whether a VCAP_SERVICES Secret of the workload object with the
// given secret-owner-hash exists: in the cache and not being deleted, or created by this
// controller moments ago.
func (ctl *Controller) vcapSecretExists(namespace, name, ownerHash string) bool {
	key := namespace + "/" + name
	if obj, err := ctl.secrets.ByNamespace(namespace).Get(name); err == nil {
		ctl.created.m.Delete(key)
		m, ok := controller.MetaOf(obj)
		return ok && m.GetDeletionTimestamp() == nil && m.GetLabels()[v1alpha1.LabelSecretOwnerHash] == ownerHash
	}
	at, ok := ctl.created.m.Load(key)
	if !ok {
		return false
	}
	if ctl.c.Clock.Since(at.(time.Time)) > createdTrust {
		ctl.created.m.Delete(key)
		return false
	}
	return true
}
