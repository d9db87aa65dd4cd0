package captenantoperation

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// vcapCache keeps the VCAP_SERVICES content built for each (version, workload), keyed by the
// resourceVersions of the binding Secrets it was built from. A thousand tenants subscribing
// at once then read the binding Secrets once, not a thousand times; a changed binding Secret
// (new resourceVersion in the metadata cache) makes the next Job read them again.
type vcapCache struct {
	mu      sync.Mutex
	entries map[string]*vcapEntry
}

// vcapEntry is the cached content of one (version, workload). Its own lock makes concurrent
// workers wait for the one building it instead of all reading the Secrets.
type vcapEntry struct {
	mu       sync.Mutex
	versions string
	vcap     string
}

// entry returns the cache entry of a key, creating it.
func (c *vcapCache) entry(key string) *vcapEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		e = &vcapEntry{}
		c.entries[key] = e
	}
	return e
}

// vcapContent returns the VCAP_SERVICES JSON of a workload of a version.
func (ctl *Controller) vcapContent(ctx context.Context, ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion, w *v1alpha1.WorkloadDetails) (string, error) {
	versions := ctl.bindingVersions(ca, w.ConsumedBTPServices)
	e := ctl.vcap.entry(cav.Namespace + "/" + cav.Name + "/" + w.Name)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.vcap != "" && e.versions == versions {
		return e.vcap, nil
	}
	read := func(name string) (map[string][]byte, error) {
		s, err := ctl.c.Clients.Kube.CoreV1().Secrets(cav.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	vcap, _, err := workload.VCAPServices(ca.Spec.BTP.Services, w.ConsumedBTPServices, read)
	if err != nil {
		return "", err
	}
	e.versions, e.vcap = versions, vcap
	return vcap, nil
}

// bindingVersions returns "name=resourceVersion" of the consumed binding Secrets, from the
// metadata cache; a missing Secret contributes an empty version.
func (ctl *Controller) bindingVersions(ca *v1alpha1.CAPApplication, consumed []string) string {
	var parts []string
	for _, svc := range ca.Spec.BTP.Services {
		if !slices.Contains(consumed, svc.Name) {
			continue
		}
		rv := ""
		if obj, err := ctl.secrets.ByNamespace(ca.Namespace).Get(svc.Secret); err == nil {
			if m, ok := controller.MetaOf(obj); ok {
				rv = m.GetResourceVersion()
			}
		}
		parts = append(parts, svc.Secret+"="+rv)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ensureVCAPSecret creates the VCAP_SERVICES Secret of a step's Job, named like the Job, and
// returns its name; "" when the workload consumes no services. The name is deterministic, so
// an existing Secret (cached, or created by a run before a restart) is reused.
func (ctl *Controller) ensureVCAPSecret(ctx context.Context, in jobInput) (string, error) {
	if len(in.step.Workload.ConsumedBTPServices) == 0 {
		return "", nil
	}
	if _, err := ctl.secrets.ByNamespace(in.op.Namespace).Get(in.name); err == nil {
		return in.name, nil
	}
	vcap, err := ctl.vcapContent(ctx, in.ca, in.cav, in.step.Workload)
	if err != nil {
		return "", fmt.Errorf("building VCAP_SERVICES of %s: %w", in.name, err)
	}
	_, err = ctl.c.Clients.Kube.CoreV1().Secrets(in.op.Namespace).Create(ctx, newVCAPSecret(in, vcap), metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating VCAP_SERVICES secret %s: %w", in.name, err)
	}
	return in.name, nil
}

// newVCAPSecret builds the VCAP_SERVICES Secret of a step's Job, owned by the operation.
func newVCAPSecret(in jobInput, vcap string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: in.name, Namespace: in.op.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(in.op.Namespace, in.op.Name),
				v1alpha1.LabelSecretOwnerHash:     identity.SHA1(in.op.Namespace, in.op.Name, in.name),
			},
			Annotations:     map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(in.op.Namespace, in.op.Name)},
			OwnerReferences: ownerRef(in.op),
		},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{workload.EnvVCAPServices: vcap},
	}
}
