package capop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Client runs the plugin's commands.
type Client struct {
	// SME is the generated clientset of the operator's kinds.
	SME versioned.Interface
	// Core is the Kubernetes clientset (pods and their logs).
	Core kubernetes.Interface
	// Namespace is the namespace to work in.
	Namespace string
	// AllNamespaces lists across all namespaces (status and tenants).
	AllNamespaces bool
	// Output is "" for tables or "json".
	Output string
	// Out receives the output.
	Out io.Writer
}

// namespace is the namespace to list in: "" for all namespaces.
func (c *Client) namespace() string {
	if c.AllNamespaces {
		return metav1.NamespaceAll
	}
	return c.Namespace
}

// table returns a tab writer for aligned columns.
func (c *Client) table() *tabwriter.Writer {
	return tabwriter.NewWriter(c.Out, 0, 4, 2, ' ', 0)
}

// printJSON prints v as indented JSON.
func (c *Client) printJSON(v any) error {
	enc := json.NewEncoder(c.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// appTenants returns the tenants of an application, sorted by name.
func (c *Client) appTenants(ctx context.Context, namespace, app string) ([]*v1alpha1.CAPTenant, error) {
	list, err := c.SME.SmeV1alpha1().CAPTenants(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*v1alpha1.CAPTenant
	for i := range list.Items {
		if app == "" || list.Items[i].Spec.CAPApplicationInstance == app {
			out = append(out, &list.Items[i])
		}
	}
	slices.SortFunc(out, func(a, b *v1alpha1.CAPTenant) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

// SetPaused pauses or resumes an application's rollout through spec.rolloutStrategy.paused;
// resuming also releases a hold after a wave with pauseAfter.
func (c *Client) SetPaused(ctx context.Context, app string, paused bool) error {
	ca, err := c.SME.SmeV1alpha1().CAPApplications(c.Namespace).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if ca.Spec.RolloutStrategy == nil {
		return fmt.Errorf("CAPApplication %s/%s has no spec.rolloutStrategy: every tenant is moved at once and there is nothing to pause", c.Namespace, app)
	}
	patch := map[string]any{"spec": map[string]any{"rolloutStrategy": map[string]any{"paused": paused}}}
	if !paused {
		patch["metadata"] = map[string]any{"annotations": map[string]any{v1alpha1.AnnotationRolloutAction: v1alpha1.RolloutActionResume}}
	}
	if err := c.patch(ctx, app, patch); err != nil {
		return err
	}
	verb := "paused"
	if !paused {
		verb = "resumed"
	}
	fmt.Fprintf(c.Out, "capapplication %s/%s %s\n", c.Namespace, app, verb)
	return nil
}

// Act asks the controller for a rollout action (retry or abort) through the rollout-action
// annotation.
func (c *Client) Act(ctx context.Context, app, action string) error {
	patch := map[string]any{"metadata": map[string]any{"annotations": map[string]any{v1alpha1.AnnotationRolloutAction: action}}}
	if err := c.patch(ctx, app, patch); err != nil {
		return err
	}
	fmt.Fprintf(c.Out, "capapplication %s/%s: %s requested\n", c.Namespace, app, action)
	return nil
}

// patch applies a JSON merge patch to an application.
func (c *Client) patch(ctx context.Context, app string, patch map[string]any) error {
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = c.SME.SmeV1alpha1().CAPApplications(c.Namespace).Patch(ctx, app, types.MergePatchType, data, metav1.PatchOptions{FieldManager: "kubectl-capop"})
	return err
}
