package domainsync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// prepare adds the finalizer and the domain-host-hash label (which the duplicate check and
// the webhook select on) and reports whether it changed the object.
func prepare(obj *domainrender.Object) bool {
	changed := false
	if !slices.Contains(obj.Meta.Finalizers, v1alpha1.FinalizerDomain) {
		obj.Meta.Finalizers = append(obj.Meta.Finalizers, v1alpha1.FinalizerDomain)
		changed = true
	}
	hash := identity.SHA1(obj.Spec.Domain)
	if obj.Meta.Labels[v1alpha1.LabelDomainHostHash] != hash {
		if obj.Meta.Labels == nil {
			obj.Meta.Labels = map[string]string{}
		}
		obj.Meta.Labels[v1alpha1.LabelDomainHostHash] = hash
		changed = true
	}
	return changed
}

// update writes the object's metadata and spec.
func (r *Reconciler) update(ctx context.Context, obj *domainrender.Object) error {
	opts := metav1.UpdateOptions{FieldManager: controller.FieldManager}
	var err error
	switch o := obj.API.(type) {
	case *v1alpha1.Domain:
		_, err = r.clients.SME.SmeV1alpha1().Domains(o.Namespace).Update(ctx, o, opts)
	case *v1alpha1.ClusterDomain:
		_, err = r.clients.SME.SmeV1alpha1().ClusterDomains().Update(ctx, o, opts)
	}
	if err != nil {
		return fmt.Errorf("updating %s: %w", obj.Describe(), err)
	}
	return nil
}

// writeStatus computes the status of an outcome and writes it when it differs from the
// stored one. On success obj carries the new resourceVersion, so that a following update
// (the finalizer removal) does not conflict.
func (r *Reconciler) writeStatus(ctx context.Context, obj *domainrender.Object, obs observed, out outcome) error {
	st := computeStatus(obj.Status, obj.Meta.Generation, obs, out)
	if apiequality.Semantic.DeepEqual(obj.Status, st) {
		return nil
	}
	*obj.Status = *st
	opts := metav1.UpdateOptions{FieldManager: controller.FieldManager}
	var err error
	switch o := obj.API.(type) {
	case *v1alpha1.Domain:
		var updated *v1alpha1.Domain
		if updated, err = r.clients.SME.SmeV1alpha1().Domains(o.Namespace).UpdateStatus(ctx, o, opts); err == nil {
			o.ResourceVersion = updated.ResourceVersion
		}
	case *v1alpha1.ClusterDomain:
		var updated *v1alpha1.ClusterDomain
		if updated, err = r.clients.SME.SmeV1alpha1().ClusterDomains().UpdateStatus(ctx, o, opts); err == nil {
			o.ResourceVersion = updated.ResourceVersion
		}
	}
	if err != nil {
		return fmt.Errorf("updating the status of %s: %w", obj.Describe(), err)
	}
	return nil
}

// recordTransition records a Warning event when the object enters a failing or waiting
// state, or the reason for it changes. Retries with the same reason and message record
// nothing, so a domain waiting minutes for its certificate does not flood the event stream.
func (r *Reconciler) recordTransition(obj *domainrender.Object, out outcome) {
	if out.ready || out.keepReady {
		return
	}
	if c := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionTypeReady); c != nil &&
		c.Reason == out.reason && c.Message == out.message {
		return
	}
	r.recorder.Eventf(obj.API, nil, "Warning", out.reason, EventAction, "%s", out.message)
}

// finalize handles a deleted object: while an application references it the deletion is
// blocked; then the children outside the object's reach (Certificates with the domain
// finalizer, CA Secrets in the ingress namespace) are removed and the finalizer dropped. The
// Gateway, DNSEntries and NetworkPolicies follow by garbage collection.
func (r *Reconciler) finalize(ctx context.Context, obj *domainrender.Object) error {
	if !slices.Contains(obj.Meta.Finalizers, v1alpha1.FinalizerDomain) {
		return nil
	}
	apps, err := ReferencingApps(r.apps, obj.Kind, obj.Meta.Namespace, obj.Meta.Name)
	if err != nil {
		return err
	}
	if len(apps) > 0 {
		return r.blockDeletion(ctx, obj, apps)
	}
	out := outcome{state: v1alpha1.DomainStateDeleting, reason: ReasonDeleting, message: messageDeleting}
	if err := r.writeStatus(ctx, obj, observed{}, out); err != nil {
		return err
	}
	if err := r.deleteCertificates(ctx, obj.OwnerHash()); err != nil {
		return err
	}
	if err := r.deleteCACertSecrets(ctx, obj.OwnerHash(), nil); err != nil {
		return err
	}
	obj.Meta.Finalizers = slices.DeleteFunc(obj.Meta.Finalizers, func(f string) bool { return f == v1alpha1.FinalizerDomain })
	return r.update(ctx, obj)
}

// blockDeletion keeps a referenced object, reporting which applications hold it. The
// Ready condition is kept: the domain still serves those applications.
func (r *Reconciler) blockDeletion(ctx context.Context, obj *domainrender.Object, apps []*v1alpha1.CAPApplication) error {
	names := make([]string, len(apps))
	for i, ca := range apps {
		names[i] = ca.Namespace + "/" + ca.Name
	}
	message := fmt.Sprintf("deletion blocked: referenced by CAPApplication %s", strings.Join(names, ", "))
	if obj.Status.State != v1alpha1.DomainStateDeleting {
		r.recorder.Eventf(obj.API, nil, "Warning", ReasonDeletionBlocked, EventAction, "%s", message)
	}
	out := outcome{state: v1alpha1.DomainStateDeleting, keepReady: true}
	if err := r.writeStatus(ctx, obj, observed{}, out); err != nil {
		return err
	}
	return controller.RequeueAfter(deletionBlockedRecheck, message)
}
