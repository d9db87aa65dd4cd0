package capop

import (
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantFilter selects the tenants `tenants` lists; empty fields select all.
type TenantFilter struct {
	// App is the application name.
	App string
	// State is the tenant's status.state (case-insensitive).
	State string
	// Version is the tenant's spec.version.
	Version string
}

// TenantRow is one tenant as `tenants` reports it.
type TenantRow struct {
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Application string `json:"application"`
	TenantID    string `json:"tenantId"`
	SubDomain   string `json:"subDomain"`
	State       string `json:"state"`
	Version     string `json:"version"`
	Current     string `json:"currentVersionInstance"`
}

// Tenants lists the tenants matching the filter.
func (c *Client) Tenants(ctx context.Context, f TenantFilter) error {
	tenants, err := c.appTenants(ctx, c.namespace(), f.App)
	if err != nil {
		return err
	}
	rows := []TenantRow{}
	for _, t := range tenants {
		if f.State != "" && !strings.EqualFold(string(t.Status.State), f.State) {
			continue
		}
		if f.Version != "" && t.Spec.Version != f.Version {
			continue
		}
		rows = append(rows, TenantRow{Namespace: t.Namespace, Name: t.Name, Application: t.Spec.CAPApplicationInstance, TenantID: t.Spec.TenantId,
			SubDomain: t.Spec.SubDomain, State: string(t.Status.State), Version: t.Spec.Version, Current: t.Status.CurrentCAPApplicationVersionInstance})
	}
	if c.Output == "json" {
		return c.printJSON(rows)
	}
	w := c.table()
	fmt.Fprintln(w, "NAMESPACE\tNAME\tAPPLICATION\tTENANT-ID\tSTATE\tVERSION\tCURRENT")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Namespace, r.Name, r.Application, r.TenantID, orDash(r.State), orDash(r.Version), orDash(r.Current))
	}
	return w.Flush()
}

// Logs writes the logs of the newest pod of the Job of a tenant's last operation (its failed
// or running step), every container in turn.
func (c *Client) Logs(ctx context.Context, tenant string) error {
	t, err := c.SME.SmeV1alpha1().CAPTenants(c.Namespace).Get(ctx, tenant, metav1.GetOptions{})
	if err != nil {
		return err
	}
	op, err := c.lastOperation(ctx, t)
	if err != nil {
		return err
	}
	if op == nil || op.Status.ActiveJob == nil {
		return fmt.Errorf("tenant %s/%s has no operation with a Job", c.Namespace, tenant)
	}
	job := *op.Status.ActiveJob
	pods, err := c.Core.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
	if err != nil {
		return err
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; pod == nil || pod.CreationTimestamp.Before(&p.CreationTimestamp) {
			pod = p
		}
	}
	if pod == nil {
		return fmt.Errorf("no pod of Job %s/%s (operation %s) found; it may have been cleaned up", c.Namespace, job, op.Name)
	}
	fmt.Fprintf(c.Out, "# operation %s, Job %s, pod %s\n", op.Name, job, pod.Name)
	for _, ctr := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		fmt.Fprintf(c.Out, "# container %s\n", ctr.Name)
		stream, err := c.Core.CoreV1().Pods(c.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: ctr.Name}).Stream(ctx)
		if err != nil {
			return fmt.Errorf("logs of %s/%s: %w", pod.Name, ctr.Name, err)
		}
		_, err = io.Copy(c.Out, stream)
		stream.Close()
		if err != nil {
			return err
		}
		fmt.Fprintln(c.Out)
	}
	return nil
}
