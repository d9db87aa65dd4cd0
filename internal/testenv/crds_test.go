package testenv

import (
	"context"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capstan-io/capstan/internal/testenv/manifests"
)

// TestInstallCRDs installs a CRD into the running environment and uses it.
func TestInstallCRDs(t *testing.T) {
	env := Current()
	crds, err := manifests.ReadCRDs(filepath.Join("manifests", "testdata", "widgets.yaml"))
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
