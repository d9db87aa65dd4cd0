package domainsync

import (
	"fmt"
	"strconv"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// certificateRequests returns the CertificateRequests in the cache that a cert-manager
// Certificate controls. cert-manager copies the Certificate's labels onto the requests it
// creates, so the cache, restricted to the operator's label, holds them; nil when the
// cluster does not serve CertificateRequests.
func (r *Reconciler) certificateRequests(c *cmv1.Certificate) ([]*cmv1.CertificateRequest, error) {
	if r.cmRequests == nil {
		return nil, nil
	}
	all, err := r.cmRequests.CertificateRequests(c.Namespace).List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing the certificate requests of %s/%s: %w", c.Namespace, c.Name, err)
	}
	var out []*cmv1.CertificateRequest
	for _, req := range all {
		if ref := metav1.GetControllerOfNoCopy(req); ref != nil && ref.Kind == cmv1.CertificateKind && ref.UID == c.UID {
			out = append(out, req)
		}
	}
	return out, nil
}

// requestDetail says why cert-manager has not issued a Certificate yet when the newest of its
// CertificateRequests (highest revision, then newest) is not Ready: cert-manager records some
// causes, such as a missing Issuer or ClusterIssuer, only there. It returns "" when there is
// no such request or it says nothing.
func requestDetail(requests []*cmv1.CertificateRequest) string {
	newest := newestRequest(requests)
	if newest == nil {
		return ""
	}
	for _, cond := range newest.Status.Conditions {
		if cond.Type == cmv1.CertificateRequestConditionReady && cond.Status != cmmeta.ConditionTrue {
			detail := conditionDetail(cond.Reason, cond.Message)
			if detail == "" {
				return ""
			}
			return fmt.Sprintf("; CertificateRequest %s/%s is not ready%s", newest.Namespace, newest.Name, detail)
		}
	}
	return ""
}

// newestRequest returns the request of the highest revision (cert-manager's revision
// annotation), the newest of equal revisions; nil for none.
func newestRequest(requests []*cmv1.CertificateRequest) *cmv1.CertificateRequest {
	var newest *cmv1.CertificateRequest
	newestRev := 0
	for _, req := range requests {
		rev, err := strconv.Atoi(req.Annotations[cmv1.CertificateRequestRevisionAnnotationKey])
		if err != nil {
			rev = 0 // no or a malformed annotation ranks lowest
		}
		if newest == nil || rev > newestRev || rev == newestRev && newest.CreationTimestamp.Before(&req.CreationTimestamp) {
			newest, newestRev = req, rev
		}
	}
	return newest
}
