package examples

import (
	"strings"
	"testing"
)

func TestDocuments(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []string // first line of each document
	}{
		"single":            {in: "apiVersion: v1\nkind: A\n", want: []string{"apiVersion: v1"}},
		"separated":         {in: "kind: A\n---\nkind: B\n", want: []string{"kind: A", "kind: B"}},
		"empty documents":   {in: "---\n\n---\nkind: A\n---\n", want: []string{"kind: A"}},
		"missing separator": {in: "apiVersion: v1\nkind: A\napiVersion: v1\nkind: B\n", want: []string{"apiVersion: v1", "apiVersion: v1"}},
		"nested apiVersion": {in: "apiVersion: v1\nspec:\n  apiVersion: x\n", want: []string{"apiVersion: v1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			docs := Documents([]byte(tc.in))
			if len(docs) != len(tc.want) {
				t.Fatalf("got %d documents %q, want %d", len(docs), docs, len(tc.want))
			}
			for i, doc := range docs {
				if first := strings.SplitN(string(doc), "\n", 2)[0]; first != tc.want[i] {
					t.Errorf("document %d starts with %q, want %q", i, first, tc.want[i])
				}
			}
		})
	}
}

func TestEveryFolderIsEmbedded(t *testing.T) {
	folders := map[string]bool{}
	for _, f := range Files() {
		folders[strings.SplitN(f, "/", 2)[0]] = true
	}
	for _, want := range []string{"bindings", "domains", "multitenant", "reference", "services-only", "version-monitoring"} {
		if !folders[want] {
			t.Errorf("folder %s is not embedded", want)
		}
	}
	if _, err := Read("bindings/expected-vcap-services.json"); err != nil {
		t.Errorf("expected VCAP fixture missing: %v", err)
	}
}
