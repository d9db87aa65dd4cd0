package manifests

import (
	"path/filepath"
	"testing"
)

// TestReadCRDsMultiDocument checks empty and non-CRD documents are skipped.
func TestReadCRDsMultiDocument(t *testing.T) {
	// testdata/widgets.yaml holds an empty document, a non-CRD object and a CRD.
	crds, err := ReadCRDs(filepath.Join("testdata", "widgets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(crds) != 1 || crds[0].Name != "widgets.test.capstan.io" {
		t.Fatalf("got %d CRDs (%v), want widgets.test.capstan.io", len(crds), crds)
	}
}
