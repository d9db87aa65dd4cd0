package v1alpha1

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
)

// exampleQuirks lists the published manifests that do not decode strictly into the API types,
// with the reason the examples README gives. Every other example must decode without an
// unknown or mistyped field.
var exampleQuirks = map[string]string{
	// Numeric env values; the mutating webhook turns them into strings.
	"multitenant/cav-v1.yaml":         "cannot unmarshal number",
	"multitenant/cav-v2-upgrade.yaml": "cannot unmarshal number",
	// consumedServices instead of consumedBTPServices.
	"reference/cav-full.yaml": `unknown field "consumedServices"`,
}

// newObjectForKind returns an empty object of the named kind of this API group.
func newObjectForKind(t *testing.T, kind string) runtime.Object {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	obj, err := scheme.New(SchemeGroupVersion.WithKind(kind))
	if err != nil {
		t.Fatalf("kind %q is not part of %s: %v", kind, SchemeGroupVersion, err)
	}
	return obj
}

func TestExamplesDecodeStrictly(t *testing.T) {
	seen := 0
	for _, path := range examples.Files() {
		if strings.HasPrefix(path, "bindings/") {
			continue // binding Secrets, not objects of this API
		}
		for i, doc := range examples.Documents(examples.MustRead(path)) {
			seen++
			t.Run(fmt.Sprintf("%s#%d", path, i), func(t *testing.T) {
				decodeExample(t, path, doc)
			})
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d example objects; is the examples folder complete?", seen)
	}
}

// decodeExample decodes one document strictly into the type of its kind and checks the
// outcome against exampleQuirks.
func decodeExample(t *testing.T, path string, doc []byte) {
	t.Helper()
	var meta struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		t.Fatal(err)
	}
	obj := newObjectForKind(t, meta.Kind)
	err := yaml.UnmarshalStrict(doc, obj)
	want, quirk := exampleQuirks[path]
	switch {
	case quirk && err == nil:
		t.Fatalf("expected the documented quirk %q, decoded cleanly", want)
	case quirk && !strings.Contains(err.Error(), want):
		t.Fatalf("expected an error containing %q, got %v", want, err)
	case !quirk && err != nil:
		t.Fatalf("strict decode: %v", err)
	}
}
