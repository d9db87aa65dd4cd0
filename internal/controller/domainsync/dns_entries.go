package domainsync

import (
	"context"
	"errors"
	"fmt"

	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/capstan-io/capstan/internal/dnstemplate"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ensureDNSEntries keeps one Gardener DNSEntry per rendered record and deletes the others.
// With a DNS manager other than Gardener, DNS is external-dns's business and always ready.
func (r *Reconciler) ensureDNSEntries(ctx context.Context, l layout, apps []*v1alpha1.CAPApplication, dnsTarget string) (readiness, error) {
	if r.opts.DNSManager != DNSManagerGardener {
		return readiness{}, nil
	}
	if r.dnsEntries == nil {
		return readiness{}, fmt.Errorf("DNS_MANAGER is %q but dns.gardener.cloud/v1alpha1 DNSEntries are not served", r.opts.DNSManager)
	}
	subdomains, conflicts := dnstemplate.ClaimSubdomains(apps)
	for _, c := range conflicts {
		r.recorder.Eventf(c.Later, nil, "Warning", ReasonSubdomainAlreadyInUse, EventAction,
			"subdomain %q on %s is already used by CAPApplication %s/%s", c.Subdomain, l.obj.Describe(), c.First.Namespace, c.First.Name)
	}
	records, err := dnstemplate.ExpandDNSTemplates(l.obj.Spec, dnsTarget, subdomains)
	if err != nil {
		return readiness{}, &syncError{reason: ReasonInvalidDNSTemplate, permanent: true, err: err}
	}
	existing, err := r.dnsEntries.DNSEntries(l.subNamespace).List(ownerSelector(l.obj.OwnerHash()))
	if err != nil {
		return readiness{}, err
	}
	byNameHash := map[string]*dnsv1alpha1.DNSEntry{}
	for _, e := range existing {
		byNameHash[e.Labels[v1alpha1.LabelDNSNameHash]] = e
	}
	kept := sets.New[string]()
	var result readiness
	for _, rec := range records {
		nameHash := identity.SHA1(rec.Name)
		kept.Insert(nameHash)
		rd, err := r.ensureDNSEntry(ctx, l, rec, byNameHash[nameHash])
		if err != nil {
			return readiness{}, err
		}
		result = merge(result, rd)
	}
	if err := r.deleteStaleDNSEntries(ctx, l, existing, kept); err != nil {
		return readiness{}, err
	}
	return result, nil
}

// merge keeps the first failure, else the first wait.
func merge(a, b readiness) readiness {
	if a.err != nil || (a.notReady != "" && b.err == nil) {
		return a
	}
	return b
}

// ensureDNSEntry creates or updates the DNSEntry of one record and reports its readiness.
func (r *Reconciler) ensureDNSEntry(ctx context.Context, l layout, rec dnstemplate.DNSRecord, current *dnsv1alpha1.DNSEntry) (readiness, error) {
	want := newDNSEntry(l, rec)
	client := r.clients.GardenerDNS.DnsV1alpha1().DNSEntries(l.subNamespace)
	notReady := readiness{notReady: fmt.Sprintf("DNSEntry for %s is not ready", rec.Name)}
	if current == nil {
		// The cache may lag behind an entry created by the previous sync.
		selector := labels.SelectorFromSet(labels.Set{
			v1alpha1.LabelOwnerIdentifierHash: l.obj.OwnerHash(),
			v1alpha1.LabelDNSNameHash:         want.Labels[v1alpha1.LabelDNSNameHash],
		})
		live, err := client.List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return readiness{}, fmt.Errorf("listing DNS entries: %w", err)
		}
		if len(live.Items) == 0 {
			if _, err := client.Create(ctx, want, createOpts); err != nil {
				return readiness{}, fmt.Errorf("creating DNS entry for %s: %w", rec.Name, err)
			}
			return notReady, nil
		}
		current = &live.Items[0]
	}
	if hashDiffers(want, current) {
		adopt(want, current)
		if _, err := client.Update(ctx, want, updateOpts); err != nil {
			return readiness{}, fmt.Errorf("updating DNS entry %s/%s: %w", want.Namespace, want.Name, err)
		}
		return notReady, nil
	}
	return dnsEntryReadiness(current), nil
}

// dnsEntryReadiness reads a DNSEntry's state; a state of an older generation does not count.
func dnsEntryReadiness(e *dnsv1alpha1.DNSEntry) readiness {
	current := e.Status.ObservedGeneration == 0 || e.Status.ObservedGeneration >= e.Generation
	switch e.Status.State {
	case dnsv1alpha1.STATE_READY:
		if current {
			return readiness{}
		}
	case dnsv1alpha1.STATE_ERROR, dnsv1alpha1.STATE_INVALID:
		msg := ""
		if e.Status.Message != nil {
			msg = *e.Status.Message
		}
		return readiness{err: errors.New("DNS entry " + e.Namespace + "/" + e.Name + " for " + e.Spec.DNSName + " is " + e.Status.State + ": " + msg)}
	}
	detail := ""
	if e.Status.Message != nil {
		detail = conditionDetail(e.Status.State, *e.Status.Message)
	}
	return readiness{notReady: fmt.Sprintf("DNSEntry %s/%s for %s is not ready%s", e.Namespace, e.Name, e.Spec.DNSName, detail)}
}

// deleteStaleDNSEntries removes, with one DeleteCollection, the owner's entries whose name
// is no longer rendered. It skips the call when the cache shows nothing stale.
func (r *Reconciler) deleteStaleDNSEntries(ctx context.Context, l layout, existing []*dnsv1alpha1.DNSEntry, kept sets.Set[string]) error {
	stale := false
	for _, e := range existing {
		stale = stale || !kept.Has(e.Labels[v1alpha1.LabelDNSNameHash])
	}
	if !stale {
		return nil
	}
	selector := ownerSelector(l.obj.OwnerHash())
	if kept.Len() > 0 {
		req, err := labels.NewRequirement(v1alpha1.LabelDNSNameHash, selection.NotIn, sets.List(kept))
		if err != nil {
			return err
		}
		selector = selector.Add(*req)
	}
	err := r.clients.GardenerDNS.DnsV1alpha1().DNSEntries(l.subNamespace).DeleteCollection(ctx, deleteOpts,
		metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return fmt.Errorf("deleting stale DNS entries in %s: %w", l.subNamespace, err)
	}
	return nil
}
