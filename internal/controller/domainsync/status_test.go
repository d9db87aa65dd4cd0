package domainsync

import (
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainreadiness"
	"github.com/capstan-io/capstan/internal/controller/domainrender"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// TestComputeStatus checks the pure status computation.
func TestComputeStatus(t *testing.T) {
	readyCond := metav1.Condition{Type: v1alpha1.ConditionTypeReady, Status: metav1.ConditionTrue, Reason: ReasonReady,
		Message: messageReady, ObservedGeneration: 1}
	tests := map[string]struct {
		// current state
		current v1alpha1.DomainStatus
		obs     observed
		out     outcome
		// expectations
		wantState                      v1alpha1.DomainState
		wantReady                      metav1.ConditionStatus
		wantReason                     string
		wantTarget, wantGateway, wantD string
	}{
		"first sync becomes ready": {
			obs: observed{dnsTarget: "lb", gatewayName: "gw-1", observedDomain: "a.com"}, out: readyOutcome(),
			wantState: v1alpha1.DomainStateReady, wantReady: metav1.ConditionTrue, wantReason: ReasonReady,
			wantTarget: "lb", wantGateway: "gw-1", wantD: "a.com",
		},
		"an early error keeps what was observed before": {
			current: v1alpha1.DomainStatus{DNSTarget: "lb", GatewayName: "gw-1", ObservedDomain: "a.com"},
			obs:     observed{observedDomain: "b.com"}, out: errorOutcome(ReasonDuplicateDomainHost, "dup"),
			wantState: v1alpha1.DomainStateError, wantReady: metav1.ConditionFalse, wantReason: ReasonDuplicateDomainHost,
			wantTarget: "lb", wantGateway: "gw-1", wantD: "b.com",
		},
		"waiting for the certificate": {
			out: processingOutcome(ReasonCertificateNotReady, "Certificate x is not ready"), wantState: v1alpha1.DomainStateProcessing,
			wantReady: metav1.ConditionFalse, wantReason: ReasonCertificateNotReady,
		},
		"blocked deletion keeps Ready": {
			current: v1alpha1.DomainStatus{GenericStatus: v1alpha1.GenericStatus{Conditions: []metav1.Condition{readyCond}}},
			out:     outcome{state: v1alpha1.DomainStateDeleting, keepReady: true}, wantState: v1alpha1.DomainStateDeleting,
			wantReady: metav1.ConditionTrue, wantReason: ReasonReady,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.current.DeepCopy()
			st := computeStatus(&tc.current, 2, tc.obs, tc.out)
			if st.State != tc.wantState || st.ObservedGeneration != 2 {
				t.Errorf("state %q generation %d, want %q 2", st.State, st.ObservedGeneration, tc.wantState)
			}
			c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeReady)
			if c == nil || c.Status != tc.wantReady || c.Reason != tc.wantReason || c.ObservedGeneration != 2 {
				t.Errorf("Ready condition %+v, want %s/%s at generation 2", c, tc.wantReady, tc.wantReason)
			}
			if st.DNSTarget != tc.wantTarget || st.GatewayName != tc.wantGateway || st.ObservedDomain != tc.wantD {
				t.Errorf("observed %q %q %q, want %q %q %q", st.DNSTarget, st.GatewayName, st.ObservedDomain, tc.wantTarget, tc.wantGateway, tc.wantD)
			}
			if len(before.Conditions) != len(tc.current.Conditions) {
				t.Errorf("the current status was modified")
			}
		})
	}
}

// TestJudge checks the error taxonomy: spec errors are absorbed, waits requeue, transient
// errors are returned.
func TestJudge(t *testing.T) {
	transient := errors.New("connection refused")
	tests := map[string]struct {
		err         error
		wantState   v1alpha1.DomainState
		wantReason  string
		wantRequeue time.Duration
		wantErr     bool
	}{
		"success":   {wantState: v1alpha1.DomainStateReady, wantReason: ReasonReady},
		"transient": {err: transient, wantState: v1alpha1.DomainStateError, wantReason: ReasonProcessingError, wantErr: true},
		"a bad template is absorbed": {err: &syncError{reason: ReasonInvalidDNSTemplate, permanent: true, err: transient},
			wantState: v1alpha1.DomainStateError, wantReason: ReasonInvalidDNSTemplate},
		"a duplicate rechecks later": {err: &syncError{reason: ReasonDuplicateDomainHost, requeueAfter: duplicateRecheck, err: transient},
			wantState: v1alpha1.DomainStateError, wantReason: ReasonDuplicateDomainHost, wantRequeue: duplicateRecheck},
		"waiting is processing": {err: firstNotReady(domainreadiness.State{NotReady: "cert"}),
			wantState: v1alpha1.DomainStateProcessing, wantReason: ReasonCertificateNotReady, wantRequeue: readinessRecheck},
		"a failed child is retried": {err: firstNotReady(domainreadiness.State{NotReady: "dns"}, domainreadiness.State{Err: transient}),
			wantState: v1alpha1.DomainStateError, wantReason: ReasonProcessingError, wantErr: true},
		"missing ingress is retried": {err: &syncError{reason: ReasonMissingIngressGatewayInfo, err: transient},
			wantState: v1alpha1.DomainStateError, wantReason: ReasonMissingIngressGatewayInfo, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := judge(testDomain(), tc.err)
			if out.state != tc.wantState || out.reason != tc.wantReason {
				t.Errorf("outcome %s/%s, want %s/%s", out.state, out.reason, tc.wantState, tc.wantReason)
			}
			after, requeue := controller.IsRequeue(err)
			switch {
			case tc.wantRequeue > 0:
				if !requeue || after != tc.wantRequeue {
					t.Errorf("want requeue after %s, got %v", tc.wantRequeue, err)
				}
			case tc.wantErr:
				if err == nil || requeue {
					t.Errorf("want an error for backoff, got %v", err)
				}
			case err != nil:
				t.Errorf("want nil, got %v", err)
			}
		})
	}
}

// testDomain returns a Domain seen as the reconciler sees it.
func testDomain() *domainrender.Object {
	return domainrender.FromDomain(&v1alpha1.Domain{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cap-app-01", Name: "cap-app-01-primary", UID: "uid-domain", Generation: 2},
		Spec: v1alpha1.DomainSpec{
			Domain:          "my.cluster.shoot.url.k8s.example.com",
			IngressSelector: map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"},
		},
	})
}
