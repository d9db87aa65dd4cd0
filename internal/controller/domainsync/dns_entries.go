package domainsync

import (
	"context"
	"fmt"

	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainreadiness"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/internal/dnstemplate"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureDNSEntries keeps one Gardener DNSEntry per rendered record and deletes the others.
// With a DNS manager other than Gardener, DNS is external-dns's business and always ready.
func (r *Reconciler) ensureDNSEntries(ctx context.Context, l domainrender.Layout, apps []*v1alpha1.CAPApplication, dnsTarget string) (domainreadiness.State, error) {
	if r.opts.DNSManager != domainrender.DNSManagerGardener {
		return domainreadiness.State{}, nil
	}
	if r.dnsEntries == nil {
		return domainreadiness.State{}, fmt.Errorf("DNS_MANAGER is %q but dns.gardener.cloud/v1alpha1 DNSEntries are not served", r.opts.DNSManager)
	}
	subdomains, conflicts := dnstemplate.ClaimSubdomains(apps)
	for _, c := range conflicts {
		r.recorder.Eventf(c.Later, nil, "Warning", ReasonSubdomainAlreadyInUse, EventAction,
			"subdomain %q on %s is already used by CAPApplication %s/%s", c.Subdomain, l.Obj.Describe(), c.First.Namespace, c.First.Name)
	}
	records, err := dnstemplate.ExpandDNSTemplates(l.Obj.Spec, dnsTarget, subdomains)
	if err != nil {
		return domainreadiness.State{}, &syncError{reason: ReasonInvalidDNSTemplate, permanent: true, err: err}
	}
	existing, err := r.dnsEntries.DNSEntries(l.SubNamespace).List(ownerSelector(l.Obj.OwnerHash()))
	if err != nil {
		return domainreadiness.State{}, err
	}
	byNameHash := map[string]*dnsv1alpha1.DNSEntry{}
	for _, e := range existing {
		byNameHash[e.Labels[v1alpha1.LabelDNSNameHash]] = e
	}
	kept := sets.New[string]()
	var result domainreadiness.State
	for _, rec := range records {
		nameHash := identity.SHA1(rec.Name)
		kept.Insert(nameHash)
		rd, err := r.ensureDNSEntry(ctx, l, rec, byNameHash[nameHash])
		if err != nil {
			return domainreadiness.State{}, err
		}
		result = domainreadiness.Merge(result, rd)
	}
	if err := r.deleteStaleDNSEntries(ctx, l, existing, kept); err != nil {
		return domainreadiness.State{}, err
	}
	return result, nil
}

// ensureDNSEntry creates or updates the DNSEntry of one record and reports its readiness.
func (r *Reconciler) ensureDNSEntry(ctx context.Context, l domainrender.Layout, rec dnstemplate.DNSRecord, current *dnsv1alpha1.DNSEntry) (domainreadiness.State, error) {
	want := domainrender.NewDNSEntry(l, rec)
	notReady := domainreadiness.State{NotReady: fmt.Sprintf("DNSEntry for %s is not ready", rec.Name)}
	if current == nil {
		// The cache may lag behind an entry created by the previous sync.
		selector := labels.SelectorFromSet(labels.Set{
			v1alpha1.LabelOwnerIdentifierHash: l.Obj.OwnerHash(),
			v1alpha1.LabelDNSNameHash:         want.Labels[v1alpha1.LabelDNSNameHash],
		})
		live, err := r.clients.GardenerDNS.DnsV1alpha1().DNSEntries(l.SubNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return domainreadiness.State{}, fmt.Errorf("listing DNS entries: %w", err)
		}
		if len(live.Items) == 0 {
			if _, _, err := controller.CreateChild(ctx, r.dnsEntryChild(), want); err != nil {
				return domainreadiness.State{}, childError("creating DNS entry for "+rec.Name, err)
			}
			return notReady, nil
		}
		current = &live.Items[0]
	}
	_, op, err := controller.UpdateChild(ctx, r.dnsEntryChild(), want, current)
	if err != nil {
		return domainreadiness.State{}, childError("updating DNS entry "+current.Namespace+"/"+current.Name, err)
	}
	if op != controller.OpNone {
		return notReady, nil
	}
	return domainreadiness.DNSEntry(current), nil
}

// deleteStaleDNSEntries removes, with one DeleteCollection, the owner's entries whose name
// is no longer rendered. It skips the call when the cache shows nothing stale.
func (r *Reconciler) deleteStaleDNSEntries(ctx context.Context, l domainrender.Layout, existing []*dnsv1alpha1.DNSEntry, kept sets.Set[string]) error {
	stale := false
	for _, e := range existing {
		stale = stale || !kept.Has(e.Labels[v1alpha1.LabelDNSNameHash])
	}
	if !stale {
		return nil
	}
	selector := ownerSelector(l.Obj.OwnerHash())
	if kept.Len() > 0 {
		req, err := labels.NewRequirement(v1alpha1.LabelDNSNameHash, selection.NotIn, sets.List(kept))
		if err != nil {
			return err
		}
		selector = selector.Add(*req)
	}
	err := r.clients.GardenerDNS.DnsV1alpha1().DNSEntries(l.SubNamespace).DeleteCollection(ctx, deleteOpts,
		metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return fmt.Errorf("deleting stale DNS entries in %s: %w", l.SubNamespace, err)
	}
	return nil
}
