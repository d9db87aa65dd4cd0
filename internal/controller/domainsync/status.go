package domainsync

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// EventAction is the action of every Domain and ClusterDomain event.
const EventAction = "ProcessingDomainResources"

// Reasons of the Ready condition and of events.
const (
	// ReasonProcessing: the children are being created or updated.
	ReasonProcessing = "Processing"
	// ReasonReady: the Certificate and DNS entries are ready.
	ReasonReady = "Ready"
	// ReasonProcessingError: a child could not be written or reports an error.
	ReasonProcessingError = "ProcessingError"
	// ReasonDuplicateDomainHost: another Domain or ClusterDomain has the same domain.
	ReasonDuplicateDomainHost = "DuplicateDomainHost"
	// ReasonMissingIngressGatewayInfo: no unique ingress gateway namespace or no DNS target.
	ReasonMissingIngressGatewayInfo = "MissingIngressGatewayInfo"
	// ReasonInvalidDNSTemplate: a DNS template does not parse or renders an invalid name.
	ReasonInvalidDNSTemplate = "InvalidDNSTemplate"
	// ReasonCertificateNotReady: waiting for the Certificate or the DNS entries.
	ReasonCertificateNotReady = "CertificateNotReady"
	// ReasonDeletionBlocked: deletion waits until no application references the domain.
	ReasonDeletionBlocked = "DeletionBlocked"
	// ReasonDeleting: the children are being removed.
	ReasonDeleting = "Deleting"
	// ReasonSubdomainAlreadyInUse: an application claims a subdomain an earlier one holds
	// (recorded on the later application).
	ReasonSubdomainAlreadyInUse = "SubdomainAlreadyInUse"
)

// Messages of the Ready condition in the normal states.
const (
	messageProcessing = "Processing domain resources"
	messageReady      = "Domain resources are ready"
	messageDeleting   = "Deleting domain resources"
)

// observed are the status fields the sync learns on its way; they are recorded even when a
// later step fails.
type observed struct {
	dnsTarget      string
	gatewayName    string
	observedDomain string
}

// outcome is what a sync decided about the object's state.
type outcome struct {
	state v1alpha1.DomainState
	// keepReady leaves the Ready condition as it is (deletion blocked).
	keepReady bool
	// ready, reason and message make the Ready condition.
	ready   bool
	reason  string
	message string
}

// computeStatus returns the status for an outcome without touching current (which may come
// from the informer cache). Observed fields that a sync did not reach keep their values.
func computeStatus(current *v1alpha1.DomainStatus, generation int64, obs observed, o outcome) *v1alpha1.DomainStatus {
	st := current.DeepCopy()
	st.ObservedGeneration = generation
	st.State = o.state
	if obs.dnsTarget != "" {
		st.DNSTarget = obs.dnsTarget
	}
	if obs.gatewayName != "" {
		st.GatewayName = obs.gatewayName
	}
	if obs.observedDomain != "" {
		st.ObservedDomain = obs.observedDomain
	}
	if !o.keepReady {
		status := metav1.ConditionFalse
		if o.ready {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type:               v1alpha1.ConditionTypeReady,
			Status:             status,
			ObservedGeneration: generation,
			Reason:             o.reason,
			Message:            o.message,
		})
	} else if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady); c != nil {
		c.ObservedGeneration = generation
	}
	return st
}

// readyOutcome is the outcome of a sync that found every child ready.
func readyOutcome() outcome {
	return outcome{state: v1alpha1.DomainStateReady, ready: true, reason: ReasonReady, message: messageReady}
}

// processingOutcome is the outcome of a sync still waiting, with the reason it waits for.
func processingOutcome(reason, message string) outcome {
	return outcome{state: v1alpha1.DomainStateProcessing, reason: reason, message: message}
}

// errorOutcome is the outcome of a failed sync.
func errorOutcome(reason, message string) outcome {
	return outcome{state: v1alpha1.DomainStateError, reason: reason, message: message}
}
