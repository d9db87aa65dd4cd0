package credentialrollout

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Event reasons of the credential rollout.
const (
	// ReasonCredentialsRolledOut: a Deployment was pointed at a new VCAP_SERVICES Secret.
	ReasonCredentialsRolledOut = "CredentialsRolledOut"
	// ReasonCredentialRolloutFailed: the VCAP_SERVICES of a workload could not be built from
	// its binding Secrets (a missing or malformed Secret); the workload keeps its credentials.
	ReasonCredentialRolloutFailed = "CredentialRolloutFailed"
)

// sync runs one batch for a namespace: every flagged application's Deployments whose
// consumed credentials changed get a new VCAP_SERVICES Secret.
func (ctl *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	cas, err := ctl.cas.CAPApplications(key.Namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	read := bindingReader(ctx, ctl.c.Clients.Kube, key.Namespace)
	var errs []error
	for _, ca := range cas {
		if rolls(ca) {
			errs = append(errs, ctl.rollApplication(ctx, ca, read))
		}
	}
	return errors.Join(errs...)
}

// rollApplication handles the Deployments of one application. A workload whose credentials
// cannot be built is reported and skipped; API errors are returned for a retry.
func (ctl *Controller) rollApplication(ctx context.Context, ca *v1alpha1.CAPApplication, read workload.BindingReader) error {
	cavs, err := controller.ByIndex[*v1alpha1.CAPApplicationVersion](ctl.cavIndexer, controller.IndexByApplication, controller.ApplicationKey(ca.Namespace, ca.Name))
	if err != nil {
		return err
	}
	get := func(ns, name string) (*appsv1.Deployment, error) { return ctl.deployments.Deployments(ns).Get(name) }
	var errs []error
	for _, c := range candidates(cavs, get) {
		vcap, _, err := workload.VCAPServices(ca.Spec.BTP.Services, c.workload.ConsumedBTPServices, read)
		if err != nil {
			if transientError(err) {
				errs = append(errs, err)
				continue
			}
			ctl.c.Recorder.Eventf(ca, nil, corev1.EventTypeWarning, ReasonCredentialRolloutFailed, "RolloutCredentials",
				"deployment %s keeps its credentials: %v", c.deployment.Name, err)
			continue
		}
		act, want := decide(c.injected, c.deployment.Name, vcap)
		if act == compare {
			if act, err = ctl.compareInjected(ctx, c, vcap); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if act == roll {
			errs = append(errs, ctl.roll(ctx, c, vcap, want))
		}
	}
	return errors.Join(errs...)
}

// compareInjected reads a Secret that is not named after its content and decides whether
// the Deployment must roll: only when the content differs (or the Secret is gone).
func (ctl *Controller) compareInjected(ctx context.Context, c candidate, vcap string) (action, error) {
	s, err := ctl.c.Clients.Kube.CoreV1().Secrets(c.deployment.Namespace).Get(ctx, c.injected, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return roll, nil
	}
	if err != nil {
		return keep, err
	}
	if workload.SameVCAPServices(string(s.Data[workload.EnvVCAPServices]), vcap) {
		return keep, nil
	}
	return roll, nil
}

// roll creates the Secret of the new content and points the Deployment at it: two writes per
// rolled Deployment, none for the others. The superseded Secret is deleted by the
// CAPApplicationVersion controller once the Deployment has rolled out.
func (ctl *Controller) roll(ctx context.Context, c candidate, vcap, want string) error {
	secret := workload.VCAPSecret(c.cav, c.deployment.Name, vcap)
	_, err := ctl.c.Clients.Kube.CoreV1().Secrets(c.cav.Namespace).Create(ctx, secret, metav1.CreateOptions{FieldManager: controller.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating VCAP_SERVICES secret %s: %w", want, err)
	}
	d := c.deployment.DeepCopy()
	workload.ReplaceVCAPSecret(&d.Spec.Template.Spec, c.injected, want)
	if _, err := ctl.c.Clients.Kube.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
		return fmt.Errorf("pointing deployment %s at VCAP_SERVICES secret %s: %w", d.Name, want, err)
	}
	klog.FromContext(ctx).Info("Rolled out new credentials", "deployment", klog.KObj(d), "from", c.injected, "to", want)
	ctl.c.Recorder.Eventf(c.cav, d, corev1.EventTypeNormal, ReasonCredentialsRolledOut, "RolloutCredentials",
		"deployment %s: VCAP_SERVICES secret %s replaces %s", d.Name, want, c.injected)
	return nil
}

// bindingReader returns a reader of the namespace's binding Secrets that reads each Secret
// at most once per batch, however many workloads consume it.
func bindingReader(ctx context.Context, kube kubernetes.Interface, namespace string) workload.BindingReader {
	type result struct {
		data map[string][]byte
		err  error
	}
	seen := map[string]result{}
	return func(name string) (map[string][]byte, error) {
		if r, ok := seen[name]; ok {
			return r.data, r.err
		}
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		r := result{err: err}
		if err == nil {
			r.data = s.Data
		}
		seen[name] = r
		return r.data, r.err
	}
}

// transientError reports whether building credentials failed for a reason worth retrying:
// an API error other than a missing Secret.
func transientError(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status) && !apierrors.IsNotFound(err)
}
