package controller

import (
	"context"
	"fmt"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cminformers "github.com/cert-manager/cert-manager/pkg/client/informers/externalversions"
	gardenercertinformers "github.com/gardener/cert-management/pkg/client/cert/informers/externalversions"
	gardenerdnsinformers "github.com/gardener/external-dns-management/pkg/client/dns/informers/externalversions"
	monitoringinformers "github.com/prometheus-operator/prometheus-operator/pkg/client/informers/externalversions"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/capstan-io/capstan/internal/kube"
	smev1alpha1 "github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smeinformers "github.com/capstan-io/capstan/pkg/client/informers/externalversions"
)

// ownedSelector restricts informers of built-in and third-party kinds to objects the operator
// labelled as its own.
var ownedSelector = func(o *metav1.ListOptions) { o.LabelSelector = smev1alpha1.LabelOwnerIdentifierHash }

// NewContext creates the clients, discovers the optional APIs and creates (but does not
// start) the informer factories and the event broadcaster. Call Start once every controller
// has asked its factories for the informers it needs.
func NewContext(cfg *rest.Config, opts Options, metrics *Metrics) (*Context, events.EventBroadcaster, error) {
	clients, err := kube.NewClients(cfg, "cap-operator")
	if err != nil {
		return nil, nil, err
	}
	apis, err := DiscoverAPIs(clients.Discovery)
	if err != nil {
		return nil, nil, err
	}
	c := &Context{
		Clients:         clients,
		SMEInformers:    smeinformers.NewSharedInformerFactoryWithOptions(clients.SME, 0, smeinformers.WithTransform(StripManagedFields)),
		OwnedInformers:  informers.NewSharedInformerFactoryWithOptions(clients.Kube, 0, informers.WithTweakListOptions(ownedSelector), informers.WithTransform(stripOwnedObject)),
		SecretInformers: metadatainformer.NewSharedInformerFactoryWithOptions(clients.Metadata, 0, metadatainformer.WithTransform(StripManagedFields)),
		IstioInformers:  istioinformers.NewSharedInformerFactoryWithOptions(clients.Istio, 0, istioinformers.WithTweakListOptions(ownedSelector), istioinformers.WithTransform(StripManagedFields)),
		APIs:            apis,
		Clock:           clock.RealClock{},
		Options:         opts,
		Metrics:         metrics,
	}
	if apis.CertManagerCertificates {
		c.CertManagerInformers = cminformers.NewSharedInformerFactoryWithOptions(clients.CertManager, 0, cminformers.WithTweakListOptions(ownedSelector), cminformers.WithTransform(stripCertManagerObject))
	}
	if apis.GardenerCertificates {
		c.GardenerCertInformers = gardenercertinformers.NewSharedInformerFactoryWithOptions(clients.GardenerCert, 0, gardenercertinformers.WithTweakListOptions(ownedSelector), gardenercertinformers.WithTransform(StripManagedFields))
	}
	if apis.GardenerDNS {
		c.GardenerDNSInformers = gardenerdnsinformers.NewSharedInformerFactoryWithOptions(clients.GardenerDNS, 0, gardenerdnsinformers.WithTweakListOptions(ownedSelector), gardenerdnsinformers.WithTransform(StripManagedFields))
	}
	if apis.ServiceMonitors {
		c.MonitoringInformers = monitoringinformers.NewSharedInformerFactoryWithOptions(clients.Monitoring, 0, monitoringinformers.WithTweakListOptions(ownedSelector), monitoringinformers.WithTransform(StripManagedFields))
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: clients.Kube.EventsV1()})
	c.Recorder = broadcaster.NewRecorder(Scheme(), EventReportingController)
	return c, broadcaster, nil
}

// StripManagedFields drops the managedFields of objects before they enter an informer cache:
// the operator never reads them, and they are often as large as the rest of the object.
func StripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// stripOwnedObject drops the managedFields of the built-in objects the operator creates, the
// spec of their pods and the spec of tenant operations' Jobs. The operator reads only a pod's
// metadata and status (the failing pod's reason of a version's Deployment) and only the
// metadata and status of a tenant Job, which it never updates; with one Job per tenant
// operation step in this cache, their specs (the pod template with the step's environment,
// command and volumes, the selector) would grow the controller's memory with the number of
// tenants. The content Jobs of a version keep their spec: their metadata is kept in shape by
// an update of the cached object.
func stripOwnedObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Spec = corev1.PodSpec{}
	case *batchv1.Job:
		if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == "CAPTenantOperation" && ref.APIVersion == smev1alpha1.SchemeGroupVersion.String() {
			o.Spec = batchv1.JobSpec{}
		}
	}
	return StripManagedFields(obj)
}

// stripCertManagerObject drops the managedFields of cert-manager objects and the PEM data of
// CertificateRequests (the request, the signed certificate and the CA): the operator reads
// only their conditions.
func stripCertManagerObject(obj any) (any, error) {
	if req, ok := obj.(*cmv1.CertificateRequest); ok {
		req.Spec.Request, req.Status.Certificate, req.Status.CA = nil, nil, nil
	}
	return StripManagedFields(obj)
}

// Scheme returns a scheme with the built-in kinds and the sme.sap.com kinds, used to
// reference objects in events.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = smev1alpha1.AddToScheme(s)
	return s
}

// Start starts every informer factory; informers requested afterwards are not started.
func (c *Context) Start(ctx context.Context) {
	c.SMEInformers.Start(ctx.Done())
	c.OwnedInformers.Start(ctx.Done())
	c.SecretInformers.Start(ctx.Done())
	c.IstioInformers.Start(ctx.Done())
	if c.CertManagerInformers != nil {
		c.CertManagerInformers.Start(ctx.Done())
	}
	if c.GardenerCertInformers != nil {
		c.GardenerCertInformers.Start(ctx.Done())
	}
	if c.GardenerDNSInformers != nil {
		c.GardenerDNSInformers.Start(ctx.Done())
	}
	if c.MonitoringInformers != nil {
		c.MonitoringInformers.Start(ctx.Done())
	}
}

// Shutdown waits for the informer goroutines to end after the context passed to Start is
// cancelled.
func (c *Context) Shutdown() {
	c.SMEInformers.Shutdown()
	c.OwnedInformers.Shutdown()
	c.SecretInformers.Shutdown()
	c.IstioInformers.Shutdown()
	if c.CertManagerInformers != nil {
		c.CertManagerInformers.Shutdown()
	}
	if c.GardenerCertInformers != nil {
		c.GardenerCertInformers.Shutdown()
	}
	if c.GardenerDNSInformers != nil {
		c.GardenerDNSInformers.Shutdown()
	}
	if c.MonitoringInformers != nil {
		c.MonitoringInformers.Shutdown()
	}
}

// DiscoverAPIs asks the API server which optional APIs it serves.
func DiscoverAPIs(d discovery.DiscoveryInterface) (APIs, error) {
	served := func(groupVersion, kind string) (bool, error) {
		list, err := d.ServerResourcesForGroupVersion(groupVersion)
		if err != nil {
			if isNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("discovering %s: %w", groupVersion, err)
		}
		for _, r := range list.APIResources {
			if r.Kind == kind {
				return true, nil
			}
		}
		return false, nil
	}
	var apis APIs
	var err error
	if apis.ServiceMonitors, err = served("monitoring.coreos.com/v1", "ServiceMonitor"); err != nil {
		return apis, err
	}
	if apis.GardenerCertificates, err = served("cert.gardener.cloud/v1alpha1", "Certificate"); err != nil {
		return apis, err
	}
	if apis.CertManagerCertificates, err = served("cert-manager.io/v1", "Certificate"); err != nil {
		return apis, err
	}
	if apis.CertManagerCertificateRequests, err = served("cert-manager.io/v1", "CertificateRequest"); err != nil {
		return apis, err
	}
	apis.GardenerDNS, err = served("dns.gardener.cloud/v1alpha1", "DNSEntry")
	return apis, err
}
