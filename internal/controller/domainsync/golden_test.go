package domainsync

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// update rewrites the golden files: go test ./internal/controller/domainsync -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares obj, as YAML, with testdata/<test name>.yaml, the file named after
// the test case.
func checkGolden(t *testing.T, obj any) {
	t.Helper()
	got, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	path := filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", string(filepath.Separator))+".yaml")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the built object (run with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
