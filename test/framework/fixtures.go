package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/testenv"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Example decodes the last object of a published manifest into out (a typed object) and
// places it in namespace ns (cluster-scoped objects ignore ns).
func Example(t testing.TB, path, ns string, out runtime.Object) {
	t.Helper()
	if err := DecodeExample(path, ns, out); err != nil {
		t.Fatal(err)
	}
}

// DecodeExample is Example for programs: it returns an error instead of failing a test.
// Numeric env values are turned into strings, as the mutating webhook does.
func DecodeExample(path, ns string, out runtime.Object) error {
	docs := examples.Documents(examples.MustRead(path))
	if len(docs) == 0 {
		return fmt.Errorf("%s holds no object", path)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(docs[len(docs)-1], &u.Object); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	numericEnvToString(u.Object)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if m, ok := out.(metav1.Object); ok && ns != "" {
		m.SetNamespace(ns)
	}
	return nil
}

// numericEnvToString turns numeric env values into strings, as the mutating webhook does for
// the published manifests that write `value: 4000`.
func numericEnvToString(obj any) {
	switch v := obj.(type) {
	case map[string]any:
		if env, ok := v["env"].([]any); ok {
			for _, e := range env {
				if m, ok := e.(map[string]any); ok {
					switch n := m["value"].(type) {
					case int64, float64:
						m["value"] = fmt.Sprintf("%v", n)
					}
				}
			}
		}
		for _, child := range v {
			numericEnvToString(child)
		}
	case []any:
		for _, child := range v {
			numericEnvToString(child)
		}
	}
}

// BindingSecrets creates a binding Secret for every service of an application: the xsuaa
// service in the per-property form with `.metadata` (from examples/bindings), every other
// service in the single `credentials` key form.
func BindingSecrets(t testing.TB, env *testenv.Env, ca *v1alpha1.CAPApplication) {
	t.Helper()
	for _, svc := range ca.Spec.BTP.Services {
		var secret corev1.Secret
		if svc.Class == "xsuaa" {
			if err := yaml.Unmarshal(examples.MustRead("bindings/xsuaa-with-metadata.yaml"), &secret); err != nil {
				t.Fatal(err)
			}
			secret.ObjectMeta = metav1.ObjectMeta{}
		} else {
			creds, _ := json.Marshal(map[string]any{"url": "https://" + svc.Name + ".example.com", "xsappname": svc.Name + "!b1", "clientid": "sb-" + svc.Name})
			secret.StringData = map[string]string{"credentials": string(creds)}
		}
		secret.Name, secret.Namespace = svc.Secret, ca.Namespace
		if _, err := env.Clientset().CoreV1().Secrets(ca.Namespace).Create(context.Background(), &secret, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating binding secret %s: %v", svc.Secret, err)
		}
	}
}

// Resource maps an sme.sap.com kind to its resource.
func Resource(kind string) schema.GroupVersionResource {
	return v1alpha1.SchemeGroupVersion.WithResource(strings.ToLower(kind) + "s")
}
