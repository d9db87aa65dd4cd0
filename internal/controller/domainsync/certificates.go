package domainsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainreadiness"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
)

// conflictRecheck is how often a domain whose child name is held by an object it does not
// own looks again: the removal of that object announces nothing.
const conflictRecheck = 30 * time.Second

// ensureCertificate creates or updates the domain's Certificate with the configured
// certificate manager, deletes stale ones, and reports the Certificate's readiness.
func (r *Reconciler) ensureCertificate(ctx context.Context, l domainrender.Layout) (domainreadiness.State, error) {
	if l.CertManager == domainrender.CertManagerGardener {
		if r.gardenerCerts == nil {
			return domainreadiness.State{}, fmt.Errorf("CERT_MANAGER is %q but cert.gardener.cloud/v1alpha1 Certificates are not served", l.CertManager)
		}
		// Certificates of the other manager are left over from a changed setting.
		if err := r.deleteCertManagerCertificates(ctx, l.Obj.OwnerHash()); err != nil {
			return domainreadiness.State{}, err
		}
		return r.ensureGardenerCertificate(ctx, l)
	}
	if r.cmCerts == nil {
		return domainreadiness.State{}, fmt.Errorf("CERT_MANAGER is %q but cert-manager.io/v1 Certificates are not served", l.CertManager)
	}
	if err := r.deleteGardenerCertificates(ctx, l.Obj.OwnerHash()); err != nil {
		return domainreadiness.State{}, err
	}
	return r.ensureCertManagerCertificate(ctx, l)
}

// ensureCertManagerCertificate handles the cert-manager Certificate, which has a fixed name
// in the ingress namespace; one anywhere else is stale (the ingress gateway moved).
func (r *Reconciler) ensureCertManagerCertificate(ctx context.Context, l domainrender.Layout) (domainreadiness.State, error) {
	want := domainrender.NewCertManagerCertificate(l)
	existing, err := r.cmCerts.List(ownerSelector(l.Obj.OwnerHash()))
	if err != nil {
		return domainreadiness.State{}, err
	}
	var current *cmv1.Certificate
	for _, c := range existing {
		// One deleted by hand is let go (its domain finalizer removed) and created again.
		if c.Namespace == want.Namespace && c.Name == want.Name && c.DeletionTimestamp == nil {
			current = c
			continue
		}
		if err := r.deleteCertManagerCertificate(ctx, c); err != nil {
			return domainreadiness.State{}, err
		}
	}
	notReady := domainreadiness.State{NotReady: fmt.Sprintf("Certificate %s/%s is not ready", want.Namespace, want.Name)}
	var op controller.Op
	if current == nil {
		_, op, err = controller.CreateChild(ctx, r.certManagerChild(), want)
	} else {
		_, op, err = controller.UpdateChild(ctx, r.certManagerChild(), want, current)
	}
	if err != nil {
		return domainreadiness.State{}, childError("certificate "+want.Namespace+"/"+want.Name, err)
	}
	if op != controller.OpNone {
		return notReady, nil
	}
	requests, err := r.certificateRequests(current)
	if err != nil {
		return domainreadiness.State{}, err
	}
	return domainreadiness.CertManager(current, requests), nil
}

// ensureGardenerCertificate handles the Gardener Certificate, which has a generated name in
// the sub namespace: the oldest there is kept and the others are deleted.
func (r *Reconciler) ensureGardenerCertificate(ctx context.Context, l domainrender.Layout) (domainreadiness.State, error) {
	want := domainrender.NewGardenerCertificate(l)
	selector := ownerSelector(l.Obj.OwnerHash())
	existing, err := r.gardenerCerts.List(selector)
	if err != nil {
		return domainreadiness.State{}, err
	}
	oldestFirst(existing)
	var current *gardenercertv1alpha1.Certificate
	for _, c := range existing {
		if current == nil && c.Namespace == want.Namespace && c.DeletionTimestamp == nil {
			current = c
			continue
		}
		if err := r.deleteGardenerCertificate(ctx, c); err != nil {
			return domainreadiness.State{}, err
		}
	}
	if current == nil {
		// The cache may not yet hold a Certificate the previous sync created; ask the API
		// server before creating another with a generated name.
		live, err := r.clients.GardenerCert.CertV1alpha1().Certificates(want.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return domainreadiness.State{}, fmt.Errorf("listing certificates: %w", err)
		}
		if len(live.Items) == 0 {
			created, _, err := controller.CreateChild(ctx, r.gardenerCertChild(), want)
			if err != nil {
				return domainreadiness.State{}, childError("creating certificate in "+want.Namespace, err)
			}
			return domainreadiness.State{NotReady: fmt.Sprintf("Certificate %s/%s is not ready", created.Namespace, created.Name)}, nil
		}
		current = &live.Items[0]
	}
	_, op, err := controller.UpdateChild(ctx, r.gardenerCertChild(), want, current)
	if err != nil {
		return domainreadiness.State{}, childError("updating certificate "+current.Namespace+"/"+current.Name, err)
	}
	if op != controller.OpNone {
		return domainreadiness.State{NotReady: fmt.Sprintf("Certificate %s/%s is not ready", current.Namespace, current.Name)}, nil
	}
	return domainreadiness.Gardener(current), nil
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
		if _, err := update(ctx, c, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil && !apierrors.IsNotFound(err) {
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
