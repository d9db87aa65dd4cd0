package domainreadiness

import (
	"fmt"
	"strconv"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

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
			detail := reasonSuffix(cond.Reason, cond.Message)
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
