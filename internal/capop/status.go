package capop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// AppStatus is one application's rollout progress as `status` reports it.
type AppStatus struct {
	Namespace string                  `json:"namespace"`
	Name      string                  `json:"name"`
	State     string                  `json:"state"`
	Versions  []string                `json:"versions"`
	Rollout   *v1alpha1.RolloutStatus `json:"rollout,omitempty"`
	Failing   []FailingTenant         `json:"failingTenants,omitempty"`
}

// FailingTenant is a tenant whose last operation failed, with the step and Job that failed.
type FailingTenant struct {
	Name      string `json:"name"`
	TenantID  string `json:"tenantId"`
	State     string `json:"state"`
	Version   string `json:"version"`
	Operation string `json:"operation,omitempty"`
	Step      string `json:"step,omitempty"`
	Job       string `json:"job,omitempty"`
	Message   string `json:"message,omitempty"`
}

// Status reports the applications (one when app is set) with their versions, rollout progress
// and failing tenants.
func (c *Client) Status(ctx context.Context, app string) error {
	cas, err := c.SME.SmeV1alpha1().CAPApplications(c.namespace()).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var out []AppStatus
	for i := range cas.Items {
		ca := &cas.Items[i]
		if app != "" && ca.Name != app {
			continue
		}
		s, err := c.appStatus(ctx, ca)
		if err != nil {
			return err
		}
		out = append(out, s)
	}
	if app != "" && len(out) == 0 {
		return fmt.Errorf("CAPApplication %s not found in namespace %s", app, c.Namespace)
	}
	if c.Output == "json" {
		return c.printJSON(out)
	}
	c.printApps(out)
	for _, s := range out {
		if app != "" || len(s.Failing) > 0 {
			c.printAppDetail(s, app != "")
		}
	}
	return nil
}

// appStatus collects one application's versions and failing tenants.
func (c *Client) appStatus(ctx context.Context, ca *v1alpha1.CAPApplication) (AppStatus, error) {
	s := AppStatus{Namespace: ca.Namespace, Name: ca.Name, State: string(ca.Status.State), Rollout: ca.Status.Rollout, Versions: []string{}}
	cavs, err := c.SME.SmeV1alpha1().CAPApplicationVersions(ca.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for _, cav := range cavs.Items {
		if cav.Spec.CAPApplicationInstance == ca.Name {
			s.Versions = append(s.Versions, fmt.Sprintf("%s(%s)", cav.Spec.Version, orDash(string(cav.Status.State))))
		}
	}
	slices.Sort(s.Versions)
	tenants, err := c.appTenants(ctx, ca.Namespace, ca.Name)
	if err != nil {
		return s, err
	}
	for _, t := range tenants {
		if t.Status.State != v1alpha1.CAPTenantStateUpgradeError && t.Status.State != v1alpha1.CAPTenantStateProvisioningError {
			continue
		}
		f, err := c.failing(ctx, t)
		if err != nil {
			return s, err
		}
		s.Failing = append(s.Failing, f)
	}
	return s, nil
}

// failing describes a failed tenant from its last operation.
func (c *Client) failing(ctx context.Context, t *v1alpha1.CAPTenant) (FailingTenant, error) {
	f := FailingTenant{Name: t.Name, TenantID: t.Spec.TenantId, State: string(t.Status.State), Version: t.Spec.Version}
	for _, cd := range t.Status.Conditions {
		if cd.Type == v1alpha1.ConditionTypeReady {
			f.Message = cd.Message
		}
	}
	op, err := c.lastOperation(ctx, t)
	if err != nil || op == nil {
		return f, err
	}
	f.Operation = string(op.Spec.Operation)
	if cs := op.Status.CurrentStep; cs != nil && *cs >= 1 && int(*cs) <= len(op.Spec.Steps) {
		f.Step = op.Spec.Steps[*cs-1].Name
	}
	if op.Status.ActiveJob != nil {
		f.Job = *op.Status.ActiveJob
	}
	return f, nil
}

// lastOperation returns the tenant's newest CAPTenantOperation, or nil.
func (c *Client) lastOperation(ctx context.Context, t *v1alpha1.CAPTenant) (*v1alpha1.CAPTenantOperation, error) {
	sel := v1alpha1.LabelOwnerIdentifierHash + "=" + identity.OwnerHash(t.Namespace, t.Name)
	ops, err := c.SME.SmeV1alpha1().CAPTenantOperations(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	var last *v1alpha1.CAPTenantOperation
	for i := range ops.Items {
		op := &ops.Items[i]
		if last == nil || last.CreationTimestamp.Before(&op.CreationTimestamp) ||
			(last.CreationTimestamp.Equal(&op.CreationTimestamp) && last.Name < op.Name) {
			last = op
		}
	}
	return last, nil
}

// printApps prints the applications table.
func (c *Client) printApps(apps []AppStatus) {
	w := c.table()
	fmt.Fprintln(w, "NAMESPACE\tNAME\tSTATE\tTARGET\tROLLOUT\tWAVE\tPROGRESS\tVERSIONS")
	for _, s := range apps {
		target, phase, wave, progress := "-", "-", "-", "-"
		if r := s.Rollout; r != nil {
			target, phase, wave, progress = r.TargetVersion, string(r.Phase), orDash(r.CurrentWave), orDash(r.Summary)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, orDash(s.State), target, phase, wave, progress, orDash(strings.Join(s.Versions, ",")))
	}
	w.Flush()
}

// printAppDetail prints an application's waves (when detailed) and failing tenants.
func (c *Client) printAppDetail(s AppStatus, detailed bool) {
	fmt.Fprintf(c.Out, "\n%s/%s\n", s.Namespace, s.Name)
	if r := s.Rollout; r != nil && detailed {
		if r.Message != "" {
			fmt.Fprintf(c.Out, "  %s: %s\n", r.Phase, r.Message)
		}
		w := c.table()
		fmt.Fprintln(w, "  WAVE\tPENDING\tRUNNING\tSUCCEEDED\tFAILED\tSTARTED\tCOMPLETED")
		for _, wv := range r.Waves {
			fmt.Fprintf(w, "  %s\t%d\t%d\t%d\t%d\t%s\t%s\n", wv.Name, wv.Pending, wv.Running, wv.Succeeded, wv.Failed, stamp(wv.StartTime), stamp(wv.CompletionTime))
		}
		w.Flush()
	}
	if len(s.Failing) == 0 {
		return
	}
	fmt.Fprintln(c.Out, "  Failing tenants:")
	w := c.table()
	fmt.Fprintln(w, "  TENANT\tTENANT-ID\tSTATE\tVERSION\tOPERATION\tSTEP\tJOB")
	for _, f := range s.Failing {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.TenantID, f.State, orDash(f.Version), orDash(f.Operation), orDash(f.Step), orDash(f.Job))
	}
	w.Flush()
}

// stamp formats an optional time.
func stamp(t *metav1.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// orDash returns s, or "-" for an empty s.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
