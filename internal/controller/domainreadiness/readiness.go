// Package domainreadiness reads from their status whether the children of a Domain or
// ClusterDomain that other controllers act on are ready: the cert-manager and Gardener
// Certificates and the Gardener DNSEntries. A child that is not ready passes its own reason
// and message on, so the domain's status says what to fix.
package domainreadiness

import (
	"errors"
	"fmt"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	gardenercertv1alpha1 "github.com/gardener/cert-management/pkg/apis/cert/v1alpha1"
	dnsv1alpha1 "github.com/gardener/external-dns-management/pkg/apis/dns/v1alpha1"
)

// State is what a child's status says: ready (the zero State), still waiting (NotReady says
// for what), or failed (Err).
type State struct {
	// NotReady describes what is awaited; empty when ready or failed.
	NotReady string
	// Err is the child's failure.
	Err error
}

// CertManager reads a cert-manager Certificate's conditions. A Ready condition of an older
// generation does not count. Only a failed issuance is an error: Ready is False while
// cert-manager issues, which is a normal wait, not a failure. Either way the Certificate's
// own reason and message are passed on, followed by those of its newest CertificateRequest
// that is not Ready (where cert-manager reports, for example, an issuer that does not
// exist), so the owner's status says what to fix. requests are the CertificateRequests the
// Certificate controls.
func CertManager(c *cmv1.Certificate, requests []*cmv1.CertificateRequest) State {
	var detail string
	for _, cond := range c.Status.Conditions {
		current := cond.ObservedGeneration == 0 || cond.ObservedGeneration >= c.Generation
		switch {
		case cond.Type == cmv1.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue && current:
			return State{}
		case cond.Type == cmv1.CertificateConditionIssuing && cond.Status == cmmeta.ConditionFalse && cond.Reason == "Failed":
			return State{Err: fmt.Errorf("certificate %s/%s failed: %s%s", c.Namespace, c.Name, cond.Message, requestDetail(requests))}
		case cond.Type == cmv1.CertificateConditionReady && cond.Status == cmmeta.ConditionFalse:
			detail = reasonSuffix(cond.Reason, cond.Message)
		}
	}
	return State{NotReady: fmt.Sprintf("Certificate %s/%s is not ready%s%s", c.Namespace, c.Name, detail, requestDetail(requests))}
}

// reasonSuffix formats a child's reason and message for the owner's condition message:
// " (Reason: message)", or "" when the child says nothing.
func reasonSuffix(reason, message string) string {
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

// Gardener reads a Gardener Certificate's state.
func Gardener(c *gardenercertv1alpha1.Certificate) State {
	current := c.Status.ObservedGeneration == 0 || c.Status.ObservedGeneration >= c.Generation
	switch {
	case c.Status.State == gardenercertv1alpha1.StateReady && current:
		return State{}
	case c.Status.State == gardenercertv1alpha1.StateError:
		msg := ""
		if c.Status.Message != nil {
			msg = *c.Status.Message
		}
		return State{Err: fmt.Errorf("certificate %s/%s failed: %s", c.Namespace, c.Name, msg)}
	}
	detail := ""
	if c.Status.Message != nil {
		detail = reasonSuffix(c.Status.State, *c.Status.Message)
	}
	return State{NotReady: fmt.Sprintf("Certificate %s/%s is not ready%s", c.Namespace, c.Name, detail)}
}

// DNSEntry reads a DNSEntry's state; a state of an older generation does not count.
func DNSEntry(e *dnsv1alpha1.DNSEntry) State {
	current := e.Status.ObservedGeneration == 0 || e.Status.ObservedGeneration >= e.Generation
	switch e.Status.State {
	case dnsv1alpha1.STATE_READY:
		if current {
			return State{}
		}
	case dnsv1alpha1.STATE_ERROR, dnsv1alpha1.STATE_INVALID:
		msg := ""
		if e.Status.Message != nil {
			msg = *e.Status.Message
		}
		return State{Err: errors.New("DNS entry " + e.Namespace + "/" + e.Name + " for " + e.Spec.DNSName + " is " + e.Status.State + ": " + msg)}
	}
	detail := ""
	if e.Status.Message != nil {
		detail = reasonSuffix(e.Status.State, *e.Status.Message)
	}
	return State{NotReady: fmt.Sprintf("DNSEntry %s/%s for %s is not ready%s", e.Namespace, e.Name, e.Spec.DNSName, detail)}
}

// Merge keeps the first failure, else the first wait.
func Merge(a, b State) State {
	if a.Err != nil || (a.NotReady != "" && b.Err == nil) {
		return a
	}
	return b
}
