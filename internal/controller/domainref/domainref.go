// Package domainref resolves the domainRefs of a CAPApplication to the Ready Domains and
// ClusterDomains they name, giving the hosts and Istio gateways that tenant and
// service-exposure VirtualServices use (specification sections 2.6 and 2.7).
package domainref

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// DomainInfo is what an application's VirtualServices need of one referenced domain.
type DomainInfo struct {
	// Kind is Domain or ClusterDomain.
	Kind v1alpha1.DomainRefKind
	// Namespace of a Domain; empty for a ClusterDomain.
	Namespace string
	// Name of the Domain or ClusterDomain.
	Name string
	// Domain is spec.domain; hosts are "<subDomain>.<Domain>".
	Domain string
	// Gateway is the Istio Gateway as a VirtualService references it: "<namespace>/<name>",
	// the namespace being the Domain's or, for a ClusterDomain, the operator's.
	Gateway string
	// OwnerID is the owner identifier of the domain's children ("Domain.<ns>.<name>" or
	// "ClusterDomain.<name>"), the key of CAPApplication status.domainSpecHash.
	OwnerID string
}

// Problem classifies why a reference cannot be used yet.
type Problem string

// Problems of a reference, from the most to the least severe.
const (
	// ProblemNotFound: the referenced object does not exist.
	ProblemNotFound Problem = "NotFound"
	// ProblemFailed: the referenced object is in state Error.
	ProblemFailed Problem = "Failed"
	// ProblemNotReady: the referenced object is still being processed.
	ProblemNotReady Problem = "NotReady"
)

// RefError reports a reference that is missing, failed or not ready.
type RefError struct {
	// Problem classifies the error.
	Problem Problem
	// Ref is the offending reference.
	Ref v1alpha1.DomainRef
	// Message adds detail, such as the domain's own status message.
	Message string
}

// Error implements error.
func (e *RefError) Error() string {
	switch e.Problem {
	case ProblemNotFound:
		return fmt.Sprintf("%s %s not found", e.Ref.Kind, e.Ref.Name)
	case ProblemFailed:
		return fmt.Sprintf("%s %s is in state Error: %s", e.Ref.Kind, e.Ref.Name, e.Message)
	default:
		return fmt.Sprintf("%s %s is not ready: %s", e.Ref.Kind, e.Ref.Name, e.Message)
	}
}

// severity orders problems, lowest first.
var severity = map[Problem]int{ProblemNotFound: 0, ProblemFailed: 1, ProblemNotReady: 2}

// Resolve returns the domains a CAPApplication references, Domain references first and then
// ClusterDomain references, each group in spec order (the host order of section 2.6). When a
// reference cannot be used it returns a *RefError for the most severe problem (NotFound,
// then Failed, then NotReady); other errors come from the listers.
func Resolve(ca *v1alpha1.CAPApplication, domains smelisters.DomainLister, clusterDomains smelisters.ClusterDomainLister,
	operatorNamespace string) ([]DomainInfo, error) {
	var out []DomainInfo
	var worst *RefError
	for _, kind := range []v1alpha1.DomainRefKind{v1alpha1.DomainRefKindDomain, v1alpha1.DomainRefKindClusterDomain} {
		for _, ref := range ca.Spec.DomainRefs {
			if ref.Kind != kind {
				continue
			}
			info, err := resolveOne(ca.Namespace, ref, domains, clusterDomains, operatorNamespace)
			if refErr, ok := err.(*RefError); ok {
				if worst == nil || severity[refErr.Problem] < severity[worst.Problem] {
					worst = refErr
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, info)
		}
	}
	if worst != nil {
		return nil, worst
	}
	return out, nil
}

// resolveOne looks one reference up and checks that it can serve traffic.
func resolveOne(namespace string, ref v1alpha1.DomainRef, domains smelisters.DomainLister,
	clusterDomains smelisters.ClusterDomainLister, operatorNamespace string) (DomainInfo, error) {
	var spec *v1alpha1.DomainSpec
	var status *v1alpha1.DomainStatus
	info := DomainInfo{Kind: ref.Kind, Name: ref.Name}
	switch ref.Kind {
	case v1alpha1.DomainRefKindDomain:
		d, err := domains.Domains(namespace).Get(ref.Name)
		if err != nil {
			return info, lookupError(ref, err)
		}
		spec, status = &d.Spec, &d.Status
		info.Namespace = namespace
		info.OwnerID = identity.DomainOwnerID(namespace, ref.Name)
		info.Gateway = namespace + "/" + status.GatewayName
	case v1alpha1.DomainRefKindClusterDomain:
		d, err := clusterDomains.Get(ref.Name)
		if err != nil {
			return info, lookupError(ref, err)
		}
		spec, status = &d.Spec, &d.Status
		info.OwnerID = identity.DomainOwnerID("", ref.Name)
		info.Gateway = operatorNamespace + "/" + status.GatewayName
	default:
		return info, &RefError{Problem: ProblemNotFound, Ref: ref, Message: "unknown kind"}
	}
	info.Domain = spec.Domain
	if err := usable(ref, status); err != nil {
		return info, err
	}
	return info, nil
}

// lookupError maps a lister error to a RefError when the object is missing.
func lookupError(ref v1alpha1.DomainRef, err error) error {
	if apierrors.IsNotFound(err) {
		return &RefError{Problem: ProblemNotFound, Ref: ref}
	}
	return err
}

// usable reports whether a domain can serve traffic: Ready with a Gateway, or being deleted
// while still Ready (its deletion is blocked by the very applications that reference it).
func usable(ref v1alpha1.DomainRef, st *v1alpha1.DomainStatus) error {
	ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady)
	message := ""
	if ready != nil {
		message = ready.Message
	}
	switch {
	case st.State == v1alpha1.DomainStateError:
		return &RefError{Problem: ProblemFailed, Ref: ref, Message: message}
	case st.GatewayName == "":
		return &RefError{Problem: ProblemNotReady, Ref: ref, Message: "no gateway yet"}
	case st.State == v1alpha1.DomainStateReady,
		st.State == v1alpha1.DomainStateDeleting && ready != nil && ready.Status == "True":
		return nil
	}
	return &RefError{Problem: ProblemNotReady, Ref: ref, Message: message}
}

// Hosts returns "<subDomain>.<domain>" for every domain, in order.
func Hosts(subDomain string, domains []DomainInfo) []string {
	hosts := make([]string, 0, len(domains))
	for _, d := range domains {
		hosts = append(hosts, subDomain+"."+d.Domain)
	}
	return hosts
}

// Gateways returns the gateways of the domains, in order and without repetitions.
func Gateways(domains []DomainInfo) []string {
	seen := map[string]bool{}
	gateways := make([]string, 0, len(domains))
	for _, d := range domains {
		if !seen[d.Gateway] {
			seen[d.Gateway] = true
			gateways = append(gateways, d.Gateway)
		}
	}
	return gateways
}

// SpecMap returns {ownerId: domain} of the domains, the value a CAPApplication keeps in
// status.domainSpecHash to notice domain changes.
func SpecMap(domains []DomainInfo) map[string]string {
	m := make(map[string]string, len(domains))
	for _, d := range domains {
		m[d.OwnerID] = d.Domain
	}
	return m
}
