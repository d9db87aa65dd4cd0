package domainsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	cmlisters "github.com/cert-manager/cert-manager/pkg/client/listers/certmanager/v1"
	gardenercertlisters "github.com/gardener/cert-management/pkg/client/cert/listers/cert/v1alpha1"
	dnslisters "github.com/gardener/external-dns-management/pkg/client/dns/listers/dns/v1alpha1"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1"
	corev1 "k8s.io/api/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainingress"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/kube"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Requeue delays the specification fixes.
const (
	// duplicateRecheck is how often a domain with a duplicate host checks again; the other
	// domain may be of the other kind, whose changes this controller does not see.
	duplicateRecheck = 30 * time.Second
	// deletionBlockedRecheck is how often a blocked deletion checks again, besides the
	// application events that enqueue it.
	deletionBlockedRecheck = 30 * time.Second
	// readinessRecheck is how often a domain waiting for its certificate or DNS checks again.
	readinessRecheck = 3 * time.Second
)

// Reconciler syncs Domains and ClusterDomains. Both kind controllers build one from the
// same controller context; the informers behind it are shared.
type Reconciler struct {
	clients  *kube.Clients
	opts     controller.Options
	recorder events.EventRecorder

	domains        smelisters.DomainLister
	clusterDomains smelisters.ClusterDomainLister
	// apps is the CAPApplication indexer with controller.IndexByDomainRef.
	apps          cache.Indexer
	gateways      istiolisters.GatewayLister
	networkPols   networkinglisters.NetworkPolicyLister
	secrets       cache.GenericLister
	cmCerts       cmlisters.CertificateLister           // nil when cert-manager.io is not served
	cmRequests    cmlisters.CertificateRequestLister    // nil when CertificateRequests are not served
	gardenerCerts gardenercertlisters.CertificateLister // nil when cert.gardener.cloud is not served
	dnsEntries    dnslisters.DNSEntryLister             // nil when dns.gardener.cloud is not served

	// informers are the ones whose events the kind controllers route to their queues.
	appInformer        cache.SharedIndexInformer
	domainInformers    []cache.SharedIndexInformer
	dependentInformers []cache.SharedIndexInformer
	// Synced are the informers that must have synced before the first sync.
	Synced []cache.InformerSynced
}

// New requests the informers a domain sync reads from the context's factories (so they are
// started with them) and returns a Reconciler reading through their listers.
func New(c *controller.Context) (*Reconciler, error) {
	sme := c.SMEInformers.Sme().V1alpha1()
	r := &Reconciler{clients: c.Clients, opts: c.Options, recorder: c.Recorder}
	domains, clusterDomains, apps := sme.Domains(), sme.ClusterDomains(), sme.CAPApplications()
	if err := controller.EnsureIndex(apps.Informer(), controller.IndexByDomainRef); err != nil {
		return nil, err
	}
	r.domains, r.clusterDomains = domains.Lister(), clusterDomains.Lister()
	r.apps, r.appInformer = apps.Informer().GetIndexer(), apps.Informer()
	r.domainInformers = []cache.SharedIndexInformer{domains.Informer(), clusterDomains.Informer()}
	gateways := c.IstioInformers.Networking().V1().Gateways()
	netpols := c.OwnedInformers.Networking().V1().NetworkPolicies()
	secrets := c.SecretInformers.ForResource(corev1.SchemeGroupVersion.WithResource("secrets"))
	r.gateways, r.networkPols, r.secrets = gateways.Lister(), netpols.Lister(), secrets.Lister()
	// Secrets are watched for the additional-CA Secret, so deleting it queues its domain.
	r.dependentInformers = []cache.SharedIndexInformer{gateways.Informer(), netpols.Informer(), secrets.Informer()}
	r.Synced = []cache.InformerSynced{domains.Informer().HasSynced, clusterDomains.Informer().HasSynced,
		apps.Informer().HasSynced, gateways.Informer().HasSynced, netpols.Informer().HasSynced, secrets.Informer().HasSynced}
	if c.CertManagerInformers != nil {
		certs := c.CertManagerInformers.Certmanager().V1().Certificates()
		r.cmCerts = certs.Lister()
		r.addDependent(certs.Informer())
		if c.APIs.CertManagerCertificateRequests {
			requests := c.CertManagerInformers.Certmanager().V1().CertificateRequests()
			r.cmRequests = requests.Lister()
			r.addDependent(requests.Informer())
		}
	}
	if c.GardenerCertInformers != nil {
		certs := c.GardenerCertInformers.Cert().V1alpha1().Certificates()
		r.gardenerCerts = certs.Lister()
		r.addDependent(certs.Informer())
	}
	if c.GardenerDNSInformers != nil {
		entries := c.GardenerDNSInformers.Dns().V1alpha1().DNSEntries()
		r.dnsEntries = entries.Lister()
		r.addDependent(entries.Informer())
	}
	return r, nil
}

// addDependent records an optional dependent informer.
func (r *Reconciler) addDependent(i cache.SharedIndexInformer) {
	r.dependentInformers = append(r.dependentInformers, i)
	r.Synced = append(r.Synced, i.HasSynced)
}

// syncError is a failed step with the Ready reason it reports.
type syncError struct {
	reason string
	err    error
	// permanent marks a spec error: retrying cannot help until the spec changes, which
	// enqueues the object anyway.
	permanent bool
	// requeueAfter schedules a recheck instead of a backoff retry.
	requeueAfter time.Duration
	// waiting marks a normal wait (Processing), not a failure (Error).
	waiting bool
}

// Error implements error.
func (e *syncError) Error() string { return e.err.Error() }

// Unwrap returns the cause.
func (e *syncError) Unwrap() error { return e.err }

// Sync reconciles one Domain or ClusterDomain; obj must be a copy the caller owns. It
// follows the controller error taxonomy: spec errors are reported and absorbed, transient
// errors are returned for a rate-limited retry, and waits return controller.RequeueAfter.
func (r *Reconciler) Sync(ctx context.Context, obj *domainrender.Object) error {
	if obj.Meta.DeletionTimestamp != nil {
		return r.finalize(ctx, obj)
	}
	if prepare(obj) {
		// The update event of the new finalizer or label enqueues the object again.
		return r.update(ctx, obj)
	}
	var obs observed
	err := r.reconcile(ctx, obj, &obs)
	out, result := judge(obj, err)
	r.recordTransition(obj, out)
	if werr := r.writeStatus(ctx, obj, obs, out); werr != nil {
		return errors.Join(werr, ignoreNonFailures(result))
	}
	return result
}

// ignoreNonFailures drops requeue requests from an error that is joined with a real one.
func ignoreNonFailures(err error) error {
	if _, ok := controller.IsRequeue(err); ok {
		return nil
	}
	return err
}

// judge turns the result of the steps into the object's outcome and the error the worker
// gets.
func judge(obj *domainrender.Object, err error) (outcome, error) {
	if err == nil {
		return readyOutcome(), nil
	}
	var se *syncError
	if !errors.As(err, &se) {
		return errorOutcome(ReasonProcessingError, err.Error()), err
	}
	out := errorOutcome(se.reason, se.Error())
	if se.waiting {
		out = processingOutcome(se.reason, se.Error())
	}
	switch {
	case se.requeueAfter > 0:
		return out, controller.RequeueAfter(se.requeueAfter, se.Error())
	case se.permanent:
		return out, nil
	default:
		return out, fmt.Errorf("%s: %w", obj.Describe(), err)
	}
}

// reconcile runs the steps of a sync in the order of the specification, recording what it
// learns in obs.
func (r *Reconciler) reconcile(ctx context.Context, obj *domainrender.Object, obs *observed) error {
	obs.observedDomain = obj.Spec.Domain
	if err := r.checkDuplicates(obj); err != nil {
		return err
	}
	gw, err := domainingress.Discover(ctx, r.clients.Kube, obj.Spec, r.opts.DNSTarget, r.opts.DNSManager)
	var missing *domainingress.Error
	if errors.As(err, &missing) {
		return &syncError{reason: ReasonMissingIngressGatewayInfo, permanent: missing.Permanent, err: err}
	}
	if err != nil {
		return err
	}
	obs.dnsTarget = gw.DNSTarget
	l := domainrender.NewLayout(obj, r.opts.OperatorNamespace, gw.Namespace, r.opts.CertManager)
	certReady, err := r.ensureCertificate(ctx, l)
	if err != nil {
		return err
	}
	if err := r.ensureCACertSecret(ctx, l); err != nil {
		return err
	}
	if obs.gatewayName, err = r.ensureGateway(ctx, l); err != nil {
		return err
	}
	apps, err := ReferencingApps(r.apps, obj.Kind, obj.Meta.Namespace, obj.Meta.Name)
	if err != nil {
		return err
	}
	if err := r.ensureNetworkPolicies(ctx, l, apps); err != nil {
		return err
	}
	dnsReady, err := r.ensureDNSEntries(ctx, l, apps, gw.DNSTarget)
	if err != nil {
		return err
	}
	return firstNotReady(certReady, dnsReady)
}
