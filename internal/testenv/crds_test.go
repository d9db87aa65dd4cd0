package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// widgetsCRD is a multi-document manifest: an empty document, a non-CRD
// object and a CRD.
const widgetsCRD = `
---
# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ignored
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.capstan.io
spec:
  group: test.capstan.io
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// TestReadCRDsMultiDocument checks empty and non-CRD documents are skipped.
func TestReadCRDsMultiDocument(t *testing.T) {
	path := filepath.Join(t.TempDir(), "widgets.yaml")
	if err := os.WriteFile(path, []byte(widgetsCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	crds, err := readCRDs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "widgets.test.capstan.io" {
		t.Fatalf("got %d CRDs (%v), want widgets.test.capstan.io", len(crds), crds)
	}
}

// TestInstallCRDs installs a CRD into the running environment and uses it.
func TestInstallCRDs(t *testing.T) {
	env := Current()
	path := filepath.Join(t.TempDir(), "widgets.yaml")
	if err := os.WriteFile(path, []byte(widgetsCRD), 0o644); err != nil {
		t.Fatal(err)
	}
	crds, err := readCRDs(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.InstallCRDs(context.Background(), crds); err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "test.capstan.io", Version: "v1", Resource: "widgets"}
	if _, err := env.Dynamic().Resource(gvr).Namespace("default").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
}
