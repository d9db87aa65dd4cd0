package capapplication

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Migration events and reasons.
const (
	ReasonDomainsMigrated        = "DomainsMigrated"
	ReasonDomainsMigrationFailed = "DomainsMigrationFailed"
)

// secondaryNamePrefix starts the names of the ClusterDomains created for secondary domains,
// as the previous implementation's generated names did.
const secondaryNamePrefix = "cap-operator-domains-"

// defaultIngressSelector selects the Istio ingress gateway when the legacy domains give no
// istioIngressGatewayLabels: the Domain CRD requires a selector, and these are the labels of
// the standard Istio ingress gateway (the chart's default too).
var defaultIngressSelector = map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}

// migrationError is a host the controller cannot create an object for (the API server or
// the webhook refused it); a retry can succeed only once the spec or the conflicting domain
// changes, and each of those queues the application.
type migrationError struct {
	err error
}

func (e *migrationError) Error() string { return e.err.Error() }
func (e *migrationError) Unwrap() error { return e.err }

// migrateDomains replaces the deprecated spec.domains with domainRefs (spec 4.3): each host
// is served by an existing Domain of the namespace or ClusterDomain, or by a new one, a Domain
// `<ca>-primary` (Wildcard DNS) for the primary and a ClusterDomain (Subdomain DNS) for each
// secondary. The mutating webhook used to create these objects; it has no side effects now,
// so that a forged admission review creates nothing. A refused host leaves the application
// in Error with the reason; its update, or the change or deletion of any Domain or
// ClusterDomain, queues it again.
func (ctl *Controller) migrateDomains(ctx context.Context, ca *v1alpha1.CAPApplication) error {
	var refs []v1alpha1.DomainRef
	for _, h := range domainref.LegacyDomains(ca) {
		ref, err := ctl.legacyDomainRef(ctx, ca, h)
		var merr *migrationError
		if errors.As(err, &merr) {
			msg := fmt.Sprintf("cannot migrate %s %q to a Domain or ClusterDomain: %v", h.Path, h.Host, err)
			ctl.eventOnChange(ca, corev1.EventTypeWarning, ReasonDomainsMigrationFailed, ReasonDomainsMigrationFailed, msg)
			return ctl.writeStatus(ctx, ca, notReady(v1alpha1.CAPApplicationStateError, ReasonDomainsMigrationFailed, msg), nil)
		}
		if err != nil {
			return err
		}
		if !slices.Contains(refs, *ref) {
			refs = append(refs, *ref)
		}
	}
	want := ca.DeepCopy()
	want.Spec.DomainRefs, want.Spec.Domains = refs, nil
	if _, err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplications(ca.Namespace).Update(ctx, want, metav1.UpdateOptions{FieldManager: controller.FieldManager}); err != nil {
		return fmt.Errorf("replacing spec.domains with domainRefs: %w", err)
	}
	ctl.c.Recorder.Eventf(ca, nil, corev1.EventTypeNormal, ReasonDomainsMigrated, "MigrateDomains", "replaced spec.domains with domainRefs %v", refs)
	return nil
}

// legacyDomainRef returns a reference to the object serving one legacy host, creating it
// when no Domain of the namespace or ClusterDomain serves the host. Names are deterministic,
// so a creation the cache does not show yet is found again instead of duplicated.
func (ctl *Controller) legacyDomainRef(ctx context.Context, ca *v1alpha1.CAPApplication, h domainref.LegacyDomain) (*v1alpha1.DomainRef, error) {
	domains, err := ctl.domains.Domains(ca.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	clusterDomains, err := ctl.clusterDoms.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	if ref := domainref.MatchLegacy(h.Host, domains, clusterDomains); ref != nil {
		return ref, nil
	}
	meta, spec := migratedObject(ca, h)
	client := ctl.c.Clients.SME.SmeV1alpha1()
	opts := metav1.CreateOptions{FieldManager: controller.FieldManager}
	var host string
	if h.Primary {
		ref := &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindDomain, Name: meta.Name}
		_, err = client.Domains(ca.Namespace).Create(ctx, &v1alpha1.Domain{ObjectMeta: meta, Spec: spec}, opts)
		if apierrors.IsAlreadyExists(err) {
			var existing *v1alpha1.Domain
			if existing, err = client.Domains(ca.Namespace).Get(ctx, meta.Name, metav1.GetOptions{}); err == nil {
				host = existing.Spec.Domain
			}
		} else if err == nil {
			host = h.Host
		}
		return checkCreated(ref, h.Host, host, err)
	}
	ref := &v1alpha1.DomainRef{Kind: v1alpha1.DomainRefKindClusterDomain, Name: meta.Name}
	_, err = client.ClusterDomains().Create(ctx, &v1alpha1.ClusterDomain{ObjectMeta: meta, Spec: spec}, opts)
	if apierrors.IsAlreadyExists(err) {
		var existing *v1alpha1.ClusterDomain
		if existing, err = client.ClusterDomains().Get(ctx, meta.Name, metav1.GetOptions{}); err == nil {
			host = existing.Spec.Domain
		}
	} else if err == nil {
		host = h.Host
	}
	return checkCreated(ref, h.Host, host, err)
}

// checkCreated classifies the outcome of creating (or finding by name) the object for a
// legacy host: a refusal or an object of that name serving another host is a migrationError,
// other failures are transient.
func checkCreated(ref *v1alpha1.DomainRef, want, got string, err error) (*v1alpha1.DomainRef, error) {
	switch {
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err):
		return nil, &migrationError{err: fmt.Errorf("creating %s %s: %w", ref.Kind, ref.Name, err)}
	case err != nil:
		return nil, fmt.Errorf("creating %s %s: %w", ref.Kind, ref.Name, err)
	case got != want:
		return nil, &migrationError{err: fmt.Errorf("%s %s exists and serves %q", ref.Kind, ref.Name, got)}
	}
	return ref, nil
}

// migratedObject returns the metadata and spec of the Domain or ClusterDomain created for a
// legacy host. The legacy dnsTarget is dropped (spec 4.3): the controller finds the target
// from the ingress gateway's load balancer.
func migratedObject(ca *v1alpha1.CAPApplication, h domainref.LegacyDomain) (metav1.ObjectMeta, v1alpha1.DomainSpec) {
	selector := map[string]string{}
	for _, l := range ca.Spec.Domains.IstioIngressGatewayLabels {
		selector[l.Name] = l.Value
	}
	if len(selector) == 0 {
		selector = defaultIngressSelector
	}
	meta := metav1.ObjectMeta{Annotations: map[string]string{
		v1alpha1.AnnotationMigratedToDomainRefs: ca.Namespace + "/" + ca.Name,
	}}
	mode := v1alpha1.DNSModeSubdomain
	if h.Primary {
		mode = v1alpha1.DNSModeWildcard
		meta.Name, meta.Namespace = ca.Name+"-primary", ca.Namespace
	} else {
		sum := sha1.Sum([]byte(h.Host))
		meta.Name = secondaryNamePrefix + hex.EncodeToString(sum[:])[:10]
	}
	return meta, v1alpha1.DomainSpec{Domain: h.Host, IngressSelector: selector, TLSMode: v1alpha1.TLSModeSimple, DNSMode: mode}
}
