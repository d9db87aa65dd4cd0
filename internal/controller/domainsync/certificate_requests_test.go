package domainsync

import (
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmlisters "github.com/cert-manager/cert-manager/pkg/client/listers/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// TestCertificateRequestsOfACertificate checks that only the requests a Certificate controls
// count: not those of another Certificate (also one of the same name that was deleted and
// created again) nor a request without owner.
func TestCertificateRequestsOfACertificate(t *testing.T) {
	cert := &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "cert", UID: "cert-uid"}}
	owned := func(name string, uid types.UID) *cmv1.CertificateRequest {
		req := &cmv1.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name}}
		if uid != "" {
			req.OwnerReferences = []metav1.OwnerReference{{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: "cert", UID: uid, Controller: ptr.To(true)}}
		}
		return req
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, req := range []*cmv1.CertificateRequest{owned("mine", "cert-uid"), owned("earlier-cert", "old-uid"), owned("orphan", "")} {
		if err := indexer.Add(req); err != nil {
			t.Fatal(err)
		}
	}
	r := &Reconciler{cmRequests: cmlisters.NewCertificateRequestLister(indexer)}
	got, err := r.certificateRequests(cert)
	if err != nil || len(got) != 1 || got[0].Name != "mine" {
		t.Errorf("certificateRequests = %v, %v; want only mine", got, err)
	}
	if got, err := (&Reconciler{}).certificateRequests(cert); got != nil || err != nil {
		t.Errorf("without the CertificateRequest API: %v, %v; want nothing", got, err)
	}
}
