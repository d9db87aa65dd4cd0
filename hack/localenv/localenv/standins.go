package localenv

import (
	"context"
	"fmt"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// certInterval is how often the cert-manager stand-in looks for Certificates.
const certInterval = 500 * time.Millisecond

// startStandIns creates the stand-in Istio ingress gateway and starts the cert-manager
// stand-in, the two pieces of a cluster the domain controllers need and that cannot run here.
func (s *Session) startStandIns(ctx context.Context) error {
	if err := s.createIngressGateway(ctx); err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		s.certManagerStandIn(loopCtx)
	}()
	s.opts.Logf("cert-manager stand-in started: every cert-manager.io Certificate is marked Ready (no certificate is issued)")
	return nil
}

// createIngressGateway creates namespace istio-system with a Pod labelled like Istio's ingress
// gateway (app=istio-ingressgateway, istio=ingressgateway), the labels of the sample
// domains' ingressSelector. It is bound to the fake node, where kwok reports it Running; no
// proxy runs. The domain controllers find the gateway's namespace through it; the DNS
// target comes from the controller's --dns-target.
func (s *Session) createIngressGateway(ctx context.Context) error {
	if err := s.ensureNamespace(ctx, IngressNamespace); err != nil {
		return err
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: IngressPodName, Namespace: IngressNamespace,
			Labels:      map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"},
			Annotations: map[string]string{"capstan.io/localenv": "stand-in for the Istio ingress gateway; no proxy runs"},
		},
		Spec: corev1.PodSpec{
			NodeName:   s.Env.NodeName,
			Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:local-stand-in"}},
		},
	}
	if _, err := s.clients.Kube.CoreV1().Pods(IngressNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the stand-in ingress gateway pod: %w", err)
	}
	s.opts.Logf("stand-in Istio ingress gateway: pod %s/%s on node %s", IngressNamespace, IngressPodName, s.Env.NodeName)
	return nil
}

// certManagerStandIn plays cert-manager until ctx ends: it marks every cert-manager.io
// Certificate Ready for its current generation through the status subresource. It issues
// nothing (no key, no Secret); it only lets Domains and ClusterDomains become Ready.
func (s *Session) certManagerStandIn(ctx context.Context) {
	var lastErr string
	for {
		if err := s.markCertificatesReady(ctx); err != nil && ctx.Err() == nil && err.Error() != lastErr {
			lastErr = err.Error()
			s.opts.Logf("cert-manager stand-in: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(certInterval):
		}
	}
}

// markCertificatesReady sets the Ready condition of every Certificate that lacks one for its
// current generation.
func (s *Session) markCertificatesReady(ctx context.Context) error {
	client := s.clients.CertManager.CertmanagerV1()
	certs, err := client.Certificates(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range certs.Items {
		c := &certs.Items[i]
		if certificateReady(c) {
			continue
		}
		now := metav1.Now()
		c.Status.Conditions = []cmv1.CertificateCondition{{
			Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue, Reason: "Ready",
			Message:            "marked Ready by the local cert-manager stand-in (hack/localenv); nothing was issued",
			ObservedGeneration: c.Generation, LastTransitionTime: &now,
		}}
		if _, err := client.Certificates(c.Namespace).UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("marking Certificate %s/%s Ready: %w", c.Namespace, c.Name, err)
		}
		s.opts.Logf("cert-manager stand-in: marked Certificate %s/%s Ready", c.Namespace, c.Name)
	}
	return nil
}

// certificateReady reports whether a Certificate is Ready for its current generation.
func certificateReady(c *cmv1.Certificate) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == cmv1.CertificateConditionReady {
			return cond.Status == cmmeta.ConditionTrue && cond.ObservedGeneration == c.Generation
		}
	}
	return false
}
