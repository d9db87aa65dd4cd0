package controllertest

import (
	"context"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
)

// MarkDomainChildrenReady plays cert-manager and the Gardener certificate and DNS
// controllers for integration tests, which cannot run them: it marks the Certificates (of
// either manager) and DNSEntries that owner selects Ready for their current generation,
// through the status subresource. Children already Ready are not written.
func MarkDomainChildrenReady(ctx context.Context, cctx *controller.Context, owner metav1.ListOptions) error {
	certs, err := cctx.Clients.CertManager.CertmanagerV1().Certificates("").List(ctx, owner)
	if err != nil {
		return err
	}
	for i := range certs.Items {
		c := &certs.Items[i]
		if len(c.Status.Conditions) == 1 && c.Status.Conditions[0].ObservedGeneration == c.Generation {
			continue
		}
		c.Status.Conditions = []cmv1.CertificateCondition{{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue,
			Reason: "Ready", Message: "issued by the test", ObservedGeneration: c.Generation, LastTransitionTime: &metav1.Time{Time: time.Now()}}}
		if _, err := cctx.Clients.CertManager.CertmanagerV1().Certificates(c.Namespace).UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	gardenerCerts, err := cctx.Clients.GardenerCert.CertV1alpha1().Certificates("").List(ctx, owner)
	if err != nil {
		return err
	}
	for i := range gardenerCerts.Items {
		c := &gardenerCerts.Items[i]
		if c.Status.State == gardenercertv1alpha1.StateReady && c.Status.ObservedGeneration == c.Generation {
			continue
		}
		c.Status.State, c.Status.ObservedGeneration = gardenercertv1alpha1.StateReady, c.Generation
		if _, err := cctx.Clients.GardenerCert.CertV1alpha1().Certificates(c.Namespace).UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	entries, err := cctx.Clients.GardenerDNS.DnsV1alpha1().DNSEntries("").List(ctx, owner)
	if err != nil {
		return err
	}
	for i := range entries.Items {
		e := &entries.Items[i]
		if e.Status.State == dnsv1alpha1.STATE_READY && e.Status.ObservedGeneration == e.Generation {
			continue
		}
		e.Status.State, e.Status.ObservedGeneration = dnsv1alpha1.STATE_READY, e.Generation
		if _, err := cctx.Clients.GardenerDNS.DnsV1alpha1().DNSEntries(e.Namespace).UpdateStatus(ctx, e, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return nil
}
