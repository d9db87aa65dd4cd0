package domainsync

import (
	"fmt"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
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
