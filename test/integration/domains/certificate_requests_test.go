package domains

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/domainsync"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestMissingIssuerReachesTheDomain plays cert-manager for a domain whose ClusterIssuer does
// not exist: the Certificate says only that it is issuing, the CertificateRequest (created
// as cert-manager creates it: the Certificate's labels and annotations, its revision and a
// controller reference) says the issuer is missing, and the Domain's Ready condition passes
// that on. Once the Certificate is Ready, the domain is Ready.
func TestMissingIssuerReachesTheDomain(t *testing.T) {
	env := testenv.Current()
	ensureIngressGateway(t)
	ns, opNs := env.NewNamespace(t), env.NewNamespace(t)
	cctx := startControllers(t, controllertest.DefaultOptions(opNs))
	cleanupDomains(t, cctx, ns)
	ctx := context.Background()
	d := newDomain(ns, "unissued", "unissued.example.com")
	_, err := cctx.Clients.SME.SmeV1alpha1().Domains(ns).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)

	certs := cctx.Clients.CertManager.CertmanagerV1().Certificates(ingressNamespace)
	var cert *cmv1.Certificate
	testenv.Eventually(t, waitTimeout, func() (bool, error) {
		cert, err = certs.Get(ctx, ns+"--unissued", metav1.GetOptions{})
		return err == nil, err
	})
	annotations := map[string]string{cmv1.CertificateNameKey: cert.Name, cmv1.CertificateRequestRevisionAnnotationKey: "1"}
	for k, v := range cert.Annotations {
		annotations[k] = v
	}
	requests := cctx.Clients.CertManager.CertmanagerV1().CertificateRequests(ingressNamespace)
	req := &cmv1.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: cert.Name + "-", Labels: cert.Labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cert, cmv1.SchemeGroupVersion.WithKind(cmv1.CertificateKind))}},
		Spec: cmv1.CertificateRequestSpec{Request: []byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"),
			IssuerRef: cert.Spec.IssuerRef},
	}
	req, err = requests.Create(ctx, req, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { _ = requests.Delete(context.Background(), req.Name, metav1.DeleteOptions{}) })
	missing := fmt.Sprintf("Referenced %q not found: clusterissuer.cert-manager.io %q not found", cert.Spec.IssuerRef.Kind, cert.Spec.IssuerRef.Name)
	now := metav1.NewTime(time.Now())
	req.Status.Conditions = []cmv1.CertificateRequestCondition{{Type: cmv1.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse,
		Reason: cmv1.CertificateRequestReasonPending, Message: missing, LastTransitionTime: &now}}
	_, err = requests.UpdateStatus(ctx, req, metav1.UpdateOptions{})
	must(t, err)
	cert.Status.Conditions = []cmv1.CertificateCondition{
		{Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionFalse, Reason: "DoesNotExist",
			Message: "Issuing certificate as Secret does not exist", ObservedGeneration: cert.Generation, LastTransitionTime: &now},
		{Type: cmv1.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "DoesNotExist",
			Message: "Issuing certificate as Secret does not exist", ObservedGeneration: cert.Generation, LastTransitionTime: &now},
	}
	_, err = certs.UpdateStatus(ctx, cert, metav1.UpdateOptions{})
	must(t, err)

	waitForState(t, cctx, ns, d.Name, v1alpha1.DomainStateProcessing, domainsync.ReasonCertificateNotReady, false,
		"Certificate "+ingressNamespace+"/"+cert.Name+" is not ready (DoesNotExist: Issuing certificate as Secret does not exist)",
		"; CertificateRequest "+ingressNamespace+"/"+req.Name+" is not ready (Pending: "+missing+")")
	waitReady(t, cctx, ns, d.Name)
}
