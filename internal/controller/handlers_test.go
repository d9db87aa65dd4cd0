package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDependentHandlerIf(t *testing.T) {
	var notified []string
	h := DependentHandlerIf(func(oldObj, newObj any) bool {
		return oldObj.(*corev1.ConfigMap).Data["k"] != newObj.(*corev1.ConfigMap).Data["k"]
	}, func(m metav1.Object) { notified = append(notified, m.GetResourceVersion()) })
	cm := func(rv, v string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", ResourceVersion: rv}, Data: map[string]string{"k": v}}
	}
	h.OnAdd(cm("1", "a"), false)
	h.OnUpdate(cm("1", "a"), cm("2", "a")) // changed reports false
	h.OnUpdate(cm("2", "a"), cm("3", "b"))
	h.OnUpdate(cm("3", "b"), cm("3", "c")) // resync: same resourceVersion
	h.OnDelete(cm("4", "b"))
	if want := []string{"3", "4"}; len(notified) != 2 || notified[0] != want[0] || notified[1] != want[1] {
		t.Errorf("notified for resourceVersions %v, want %v", notified, want)
	}
}
