package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ctrl "github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
	"github.com/capstan-io/capstan/test/framework"
)

// TestChildNameHeldByHiddenObject puts an unlabelled Service where a version's Service
// belongs. The controller's cache only shows objects with the owner label, so it cannot see
// the Service and its create fails with AlreadyExists. The version must say so in its
// status and an event (which object, what to do) rather than retry silently, and recover
// once the Service is gone.
func TestChildNameHeldByHiddenObject(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	client := sme(env).SmeV1alpha1()
	startController(t, env, ns)

	framework.ServicesOnlyApp(t, env, ns)
	cav := &v1alpha1.CAPApplicationVersion{}
	framework.Example(t, "services-only/cav.yaml", ns, cav)
	name := workload.ServiceName(cav.Name, "api")
	squatter := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if _, err := env.Clientset().CoreV1().Services(ns).Create(ctx, squatter, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	created, err := client.CAPApplicationVersions(ns).Create(ctx, cav, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	wants := []string{"Service " + ns + "/" + name + " already exists and is not controlled by CAPApplicationVersion " + cav.Name,
		"lacks the label sme.sap.com/owner-identifier-hash", "delete or rename it"}
	testenv.Eventually(t, timeout, func() (bool, error) {
		got, err := client.CAPApplicationVersions(ns).Get(ctx, cav.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionTypeReady)
		if got.Status.State != v1alpha1.CAPApplicationVersionStateError || c == nil || c.Reason != ctrl.ReasonChildConflict {
			return false, fmt.Errorf("state %q, Ready %+v", got.Status.State, c)
		}
		for _, w := range wants {
			if !strings.Contains(c.Message, w) {
				return false, fmt.Errorf("message %q lacks %q", c.Message, w)
			}
		}
		return true, nil
	})
	testenv.Eventually(t, timeout, func() (bool, error) {
		events, err := env.Clientset().EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range events.Items {
			if e.Regarding.UID == created.UID && e.Reason == ctrl.ReasonChildConflict && strings.Contains(e.Note, wants[0]) {
				return true, nil
			}
		}
		return false, fmt.Errorf("no %s event on the version among %d events", ctrl.ReasonChildConflict, len(events.Items))
	})

	if err := env.Clientset().CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCAV(t, env, ns, cav.Name, v1alpha1.CAPApplicationVersionStateReady)
}
