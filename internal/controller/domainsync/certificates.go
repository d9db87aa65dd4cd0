package domainsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
)

// conflictRecheck is how often a domain whose child name is held by an object it does not
// own looks again: the removal of that object announces nothing.
const conflictRecheck = 30 * time.Second

// ensureCertificate creates or updates the domain's Certificate with the configured
// certificate manager, deletes stale ones, and reports the Certificate's readiness.
func (r *Reconciler) ensureCertificate(ctx context.Context, l layout) (readiness, error) {
	if l.certManager == CertManagerGardener {
		if r.gardenerCerts == nil {
			return readiness{}, fmt.Errorf("CERT_MANAGER is %q but cert.gardener.cloud/v1alpha1 Certificates are not served", l.certManager)
		}
		// Certificates of the other manager are left over from a changed setting.
		if err := r.deleteCertManagerCertificates(ctx, l.obj.OwnerHash()); err != nil {
			return readiness{}, err
		}
		return r.ensureGardenerCertificate(ctx, l)
	}
	if r.cmCerts == nil {
		return readiness{}, fmt.Errorf("CERT_MANAGER is %q but cert-manager.io/v1 Certificates are not served", l.certManager)
	}
	if err := r.deleteGardenerCertificates(ctx, l.obj.OwnerHash()); err != nil {
		return readiness{}, err
	}
	return r.ensureCertManagerCertificate(ctx, l)
}

// ensureCertManagerCertificate handles the cert-manager Certificate, which has a fixed name
// in the ingress namespace; one anywhere else is stale (the ingress gateway moved).
func (r *Reconciler) ensureCertManagerCertificate(ctx context.Context, l layout) (readiness, error) {
	want := newCertManagerCertificate(l)
	existing, err := r.cmCerts.List(ownerSelector(l.obj.OwnerHash()))
	if err != nil {
		return readiness{}, err
	}
	var current *cmv1.Certificate
	for _, c := range existing {
		if c.Namespace == want.Namespace && c.Name == want.Name {
			current = c
			continue
		}
		if err := r.deleteCertManagerCertificate(ctx, c); err != nil {
			return readiness{}, err
		}
	}
	client := r.clients.CertManager.CertmanagerV1().Certificates(want.Namespace)
	notReady := readiness{notReady: fmt.Sprintf("Certificate %s/%s is not ready", want.Namespace, want.Name)}
	switch {
	case current == nil:
		_, err := client.Create(ctx, want, createOpts)
		if apierrors.IsAlreadyExists(err) {
			// The cache is behind, or an unlabelled Certificate it cannot see holds the name.
			err = controller.CreateConflict(ctx, "Certificate", want, controller.LiveMetadata(r.clients.Metadata, cmv1.SchemeGroupVersion.WithResource("certificates")))
			var conflict *controller.ChildConflictError
			if errors.As(err, &conflict) {
				return readiness{}, &syncError{reason: controller.ReasonChildConflict, err: conflict, requeueAfter: conflictRecheck}
			}
			if _, behind := controller.IsRequeue(err); behind {
				return notReady, nil
			}
		}
		if err != nil {
			return readiness{}, fmt.Errorf("creating certificate %s/%s: %w", want.Namespace, want.Name, err)
		}
		return notReady, nil
	case hashDiffers(want, current):
		adopt(want, current)
		if _, err := client.Update(ctx, want, updateOpts); err != nil {
			return readiness{}, fmt.Errorf("updating certificate %s/%s: %w", want.Namespace, want.Name, err)
		}
		return notReady, nil
	}
	requests, err := r.certificateRequests(current)
	if err != nil {
		return readiness{}, err
	}
	return certManagerReadiness(current, requests), nil
}

// certManagerReadiness reads a cert-manager Certificate's conditions. A Ready condition of
// an older generation does not count. Only a failed issuance is an error: Ready is False
// while cert-manager issues, which is a normal wait, not a failure. Either way the
// Certificate's own reason and message are passed on, followed by those of its newest
// CertificateRequest that is not Ready (where cert-manager reports, for example, an issuer
// that does not exist), so the owner's status says what to fix.
func certManagerReadiness(c *cmv1.Certificate, requests []*cmv1.CertificateRequest) readiness {
	var detail string
	for _, cond := range c.Status.Conditions {
		current := cond.ObservedGeneration == 0 || cond.ObservedGeneration >= c.Generation
		switch {
		case cond.Type == cmv1.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue && current:
			return readiness{}
		case cond.Type == cmv1.CertificateConditionIssuing && cond.Status == cmmeta.ConditionFalse && cond.Reason == "Failed":
			return readiness{err: fmt.Errorf("certificate %s/%s failed: %s%s", c.Namespace, c.Name, cond.Message, requestDetail(requests))}
		case cond.Type == cmv1.CertificateConditionReady && cond.Status == cmmeta.ConditionFalse:
			detail = conditionDetail(cond.Reason, cond.Message)
		}
	}
	return readiness{notReady: fmt.Sprintf("Certificate %s/%s is not ready%s%s", c.Namespace, c.Name, detail, requestDetail(requests))}
}

// conditionDetail formats a child's reason and message for the owner's condition message:
// " (Reason: message)", or "" when the child says nothing.
func conditionDetail(reason, message string) string {
	switch {
	case reason == "" && message == "":
		return ""
	case reason == "":
		return " (" + message + ")"
	case message == "":
		return " (" + reason + ")"
	}
	return " (" + reason + ": " + message + ")"
}

// ensureGardenerCertificate handles the Gardener Certificate, which has a generated name in
// the sub namespace: the oldest there is kept and the others are deleted.
func (r *Reconciler) ensureGardenerCertificate(ctx context.Context, l layout) (readiness, error) {
	want := newGardenerCertificate(l)
	selector := ownerSelector(l.obj.OwnerHash())
	existing, err := r.gardenerCerts.List(selector)
	if err != nil {
		return readiness{}, err
	}
	oldestFirst(existing)
	var current *gardenercertv1alpha1.Certificate
	for _, c := range existing {
		if current == nil && c.Namespace == want.Namespace && c.DeletionTimestamp == nil {
			current = c
			continue
		}
		if err := r.deleteGardenerCertificate(ctx, c); err != nil {
			return readiness{}, err
		}
	}
	client := r.clients.GardenerCert.CertV1alpha1().Certificates(want.Namespace)
	if current == nil {
		// The cache may not yet hold a Certificate the previous sync created; ask the API
		// server before creating another with a generated name.
		live, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return readiness{}, fmt.Errorf("listing certificates: %w", err)
		}
		if len(live.Items) == 0 {
			created, err := client.Create(ctx, want, createOpts)
			if err != nil {
				return readiness{}, fmt.Errorf("creating certificate in %s: %w", want.Namespace, err)
			}
			return readiness{notReady: fmt.Sprintf("Certificate %s/%s is not ready", created.Namespace, created.Name)}, nil
		}
		current = &live.Items[0]
	}
	if hashDiffers(want, current) {
		adopt(want, current)
		if _, err := client.Update(ctx, want, updateOpts); err != nil {
			return readiness{}, fmt.Errorf("updating certificate %s/%s: %w", want.Namespace, want.Name, err)
		}
		return readiness{notReady: fmt.Sprintf("Certificate %s/%s is not ready", want.Namespace, want.Name)}, nil
	}
	return gardenerReadiness(current), nil
}

// gardenerReadiness reads a Gardener Certificate's state.
func gardenerReadiness(c *gardenercertv1alpha1.Certificate) readiness {
	current := c.Status.ObservedGeneration == 0 || c.Status.ObservedGeneration >= c.Generation
	switch {
	case c.Status.State == gardenercertv1alpha1.StateReady && current:
		return readiness{}
	case c.Status.State == gardenercertv1alpha1.StateError:
		msg := ""
		if c.Status.Message != nil {
			msg = *c.Status.Message
		}
		return readiness{err: fmt.Errorf("certificate %s/%s failed: %s", c.Namespace, c.Name, msg)}
	}
	detail := ""
	if c.Status.Message != nil {
		detail = conditionDetail(c.Status.State, *c.Status.Message)
	}
	return readiness{notReady: fmt.Sprintf("Certificate %s/%s is not ready%s", c.Namespace, c.Name, detail)}
}

// deleteCertificates removes every Certificate of an owner, of either manager.
func (r *Reconciler) deleteCertificates(ctx context.Context, ownerHash string) error {
	return errors.Join(r.deleteCertManagerCertificates(ctx, ownerHash), r.deleteGardenerCertificates(ctx, ownerHash))
}

// deleteCertManagerCertificates removes every cert-manager Certificate of an owner.
func (r *Reconciler) deleteCertManagerCertificates(ctx context.Context, ownerHash string) error {
	if r.cmCerts == nil {
		return nil
	}
	certs, err := r.cmCerts.List(ownerSelector(ownerHash))
	if err != nil {
		return err
	}
	for _, c := range certs {
		if err := r.deleteCertManagerCertificate(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// deleteCertManagerCertificate drops the domain finalizer from a Certificate and deletes it.
func (r *Reconciler) deleteCertManagerCertificate(ctx context.Context, c *cmv1.Certificate) error {
	client := r.clients.CertManager.CertmanagerV1().Certificates(c.Namespace)
	return deleteFinalized(ctx, c, (*cmv1.Certificate).DeepCopy, client.Update, client.Delete)
}

// deleteGardenerCertificates removes every Gardener Certificate of an owner.
func (r *Reconciler) deleteGardenerCertificates(ctx context.Context, ownerHash string) error {
	if r.gardenerCerts == nil {
		return nil
	}
	certs, err := r.gardenerCerts.List(ownerSelector(ownerHash))
	if err != nil {
		return err
	}
	for _, c := range certs {
		if err := r.deleteGardenerCertificate(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// deleteGardenerCertificate drops the domain finalizer from a Certificate and deletes it.
func (r *Reconciler) deleteGardenerCertificate(ctx context.Context, c *gardenercertv1alpha1.Certificate) error {
	client := r.clients.GardenerCert.CertV1alpha1().Certificates(c.Namespace)
	return deleteFinalized(ctx, c, (*gardenercertv1alpha1.Certificate).DeepCopy, client.Update, client.Delete)
}

// deleteFinalized drops the domain finalizer from a Certificate of either manager and deletes
// it unless its deletion already started.
func deleteFinalized[T metav1.Object](ctx context.Context, c T, deepCopy func(T) T,
	update func(context.Context, T, metav1.UpdateOptions) (T, error),
	del func(context.Context, string, metav1.DeleteOptions) error) error {
	if kept, had := withoutFinalizer(c.GetFinalizers()); had {
		c = deepCopy(c)
		c.SetFinalizers(kept)
		if _, err := update(ctx, c, updateOpts); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing the finalizer of certificate %s/%s: %w", c.GetNamespace(), c.GetName(), err)
		}
	}
	if c.GetDeletionTimestamp() != nil {
		return nil
	}
	if err := del(ctx, c.GetName(), deleteOpts); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting certificate %s/%s: %w", c.GetNamespace(), c.GetName(), err)
	}
	return nil
}
