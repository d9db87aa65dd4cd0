package capapplication

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/rollout"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	smelisters "github.com/capstan-io/capstan/pkg/client/listers/sme.sap.com/v1alpha1"
)

// Condition reasons of a rollout.
const (
	ReasonRolloutInvalid = "RolloutStrategyInvalid"
	ReasonRolloutHalted  = "RolloutHalted"
)

// rolloutTenants moves tenants to the latest version under the application's rollout strategy
// (internal/rollout plans it from the tenants in the cache): it retries the failed tenants a
// retry asks for, moves the planned tenants and completes the outcome with the rollout status,
// its events and AllTenantsReady.
func (ctl *Controller) rolloutTenants(ctx context.Context, ca *v1alpha1.CAPApplication, latest *v1alpha1.CAPApplicationVersion, o outcome) (outcome, error) {
	action := ca.Annotations[v1alpha1.AnnotationRolloutAction]
	o.consumeRolloutAction = action != ""
	tenants, err := ctl.appTenants(ca)
	if err != nil {
		return o, err
	}
	p, err := rollout.Compute(rollout.Input{
		Strategy: ca.Spec.RolloutStrategy, Target: latest, Tenants: tenants, Moved: ctl.moved.unseen(ca.Namespace, tenants),
		Previous: ca.Status.Rollout, Action: action, Now: ctl.c.Clock.Now(),
	})
	if err != nil {
		o.state = v1alpha1.CAPApplicationStateError
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, false, ReasonRolloutInvalid, err.Error()))
		return o, nil
	}
	errs := []error{ctl.requestRetries(ctx, p.Retry)}
	moved := append(append([]*v1alpha1.CAPTenant{}, p.Upgrade...), p.Provision...)
	ctl.moved.add(moved, latest.Spec.Version)
	errs = append(errs, ctl.setTenantVersions(ctx, moved, latest.Spec.Version))
	o.rollout, o.rolloutEvents, o.requeueAfter = &p.Status, p.Events, p.RequeueAfter
	switch {
	case p.Status.Phase == v1alpha1.RolloutPhaseHalted:
		o.state = v1alpha1.CAPApplicationStateError
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, false, ReasonRolloutHalted, p.Status.Message))
	case p.Status.Phase != v1alpha1.RolloutPhaseCompleted || len(p.Provision) > 0:
		o.state = v1alpha1.CAPApplicationStateProcessing
		msg := fmt.Sprintf("rolling out version %s: %s, phase %s", latest.Spec.Version, p.Status.Summary, p.Status.Phase)
		o.conditions = append(o.conditions, cond(v1alpha1.ConditionTypeAllTenantsReady, false, ReasonTenantUpgrade, msg))
	default:
		o.conditions = append(o.conditions, allTenantsReady(tenants, latest))
	}
	return o, utilerrors.NewAggregate(errs)
}

// allTenantsReady is the AllTenantsReady condition of an application with no tenant moving.
func allTenantsReady(tenants []*v1alpha1.CAPTenant, latest *v1alpha1.CAPApplicationVersion) metav1.Condition {
	notReady := 0
	for _, t := range tenants {
		if !tenantReady(t, latest) {
			notReady++
		}
	}
	if notReady > 0 {
		return cond(v1alpha1.ConditionTypeAllTenantsReady, false, ReasonNotAllTenantsReady, fmt.Sprintf("%d tenants are not Ready on their target version", notReady))
	}
	return cond(v1alpha1.ConditionTypeAllTenantsReady, true, ReasonAllTenantsReady, "all tenants are Ready")
}

// requestRetries annotates failed tenants so that the tenant controller retries their
// operation now.
func (ctl *Controller) requestRetries(ctx context.Context, tenants []*v1alpha1.CAPTenant) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"true"}}}`, v1alpha1.AnnotationRetryOperation)
	var errs []error
	for _, t := range tenants {
		_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPTenants(t.Namespace).Patch(ctx, t.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: controller.FieldManager})
		if err != nil {
			errs = append(errs, fmt.Errorf("asking tenant %s to retry: %w", t.Name, err))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// finishRollout, once the status is written, records the events of a changed rollout status,
// removes the consumed rollout-action annotation and requeues for a health gate.
func (ctl *Controller) finishRollout(ctx context.Context, ca *v1alpha1.CAPApplication, o outcome) error {
	if o.rollout != nil && !apiequality.Semantic.DeepEqual(o.rollout, ca.Status.Rollout) {
		for _, e := range o.rolloutEvents {
			typ := corev1.EventTypeNormal
			if e.Warning {
				typ = corev1.EventTypeWarning
			}
			ctl.c.Recorder.Eventf(ca, nil, typ, e.Reason, "Rollout", "%s", e.Message)
		}
	}
	if o.consumeRolloutAction {
		if err := ctl.consumeRolloutAction(ctx, ca); err != nil {
			return err
		}
	}
	if o.requeueAfter > 0 {
		return controller.RequeueAfter(o.requeueAfter, "rollout health gate")
	}
	return nil
}

// consumeRolloutAction removes the rollout-action annotation acted on.
func (ctl *Controller) consumeRolloutAction(ctx context.Context, ca *v1alpha1.CAPApplication) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}}}`, v1alpha1.AnnotationRolloutAction)
	_, err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplications(ca.Namespace).Patch(ctx, ca.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: controller.FieldManager})
	if err != nil {
		return fmt.Errorf("consuming the %s annotation: %w", v1alpha1.AnnotationRolloutAction, err)
	}
	return nil
}

// rolloutCollector exports the rollout progress recorded in the applications' status.
type rolloutCollector struct {
	cas     smelisters.CAPApplicationLister
	tenants *prometheus.Desc
	phase   *prometheus.Desc
}

// rolloutPhases are the phases cap_op_rollout_phase reports, one series each.
var rolloutPhases = []v1alpha1.RolloutPhase{
	v1alpha1.RolloutPhaseProgressing, v1alpha1.RolloutPhasePaused, v1alpha1.RolloutPhaseWaitingForResume,
	v1alpha1.RolloutPhaseHealthGate, v1alpha1.RolloutPhaseHalted, v1alpha1.RolloutPhaseAborted, v1alpha1.RolloutPhaseCompleted,
}

// registerRolloutCollector registers the rollout metrics in the controller's registry.
func registerRolloutCollector(m *controller.Metrics, cas smelisters.CAPApplicationLister) error {
	if m == nil {
		return nil
	}
	c := &rolloutCollector{
		cas: cas,
		tenants: prometheus.NewDesc("cap_op_rollout_tenants", "Tenants of an application's current rollout by wave and state.",
			[]string{"namespace", "application", "version", "wave", "state"}, nil),
		phase: prometheus.NewDesc("cap_op_rollout_phase", "Phase of an application's current rollout (1 for the current phase).",
			[]string{"namespace", "application", "version", "phase"}, nil),
	}
	err := m.Registry.Register(c)
	if _, ok := err.(prometheus.AlreadyRegisteredError); ok {
		return nil
	}
	return err
}

// Describe implements prometheus.Collector.
func (c *rolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tenants
	ch <- c.phase
}

// Collect implements prometheus.Collector from the informer cache.
func (c *rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	cas, err := c.cas.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ca := range cas {
		r := ca.Status.Rollout
		if r == nil {
			continue
		}
		for _, w := range r.Waves {
			for state, n := range map[rollout.State]int32{rollout.StatePending: w.Pending, rollout.StateRunning: w.Running, rollout.StateSucceeded: w.Succeeded, rollout.StateFailed: w.Failed} {
				ch <- prometheus.MustNewConstMetric(c.tenants, prometheus.GaugeValue, float64(n), ca.Namespace, ca.Name, r.TargetVersion, w.Name, string(state))
			}
		}
		for _, ph := range rolloutPhases {
			v := 0.0
			if ph == r.Phase {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.phase, prometheus.GaugeValue, v, ca.Namespace, ca.Name, r.TargetVersion, string(ph))
		}
	}
}
