package main

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestEnvReadsFollowHelpers checks that direct reads and reads through a helper that passes
// its parameter to os.Getenv are found, and attributed to the binary or package.
func TestEnvReadsFollowHelpers(t *testing.T) {
	files, err := parseOperatorSources(filepath.Join("testdata", "src"), "cmd", "internal")
	if err != nil {
		t.Fatal(err)
	}
	got := envReads(files)
	want := map[string][]string{
		"DIRECT_READ": {"`internal/sample` (every binary using it)"},
		"HELPER_READ": {"`internal/sample` (every binary using it)"},
		"TOOL_READ":   {"tool"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("envReads:\n got %v\nwant %v", got, want)
	}
}

// TestHelmDocComment checks how a values.yaml key's description is taken from its comments.
func TestHelmDocComment(t *testing.T) {
	for _, tc := range []struct{ head, want string }{
		{"", ""},
		{"# plain comment", ""},
		{"# -- One line.", "One line."},
		{"# -- First line\n# continues.", "First line continues."},
		{"# Section title\n\n# -- The key.", "The key."},
	} {
		if got := helmDocComment(tc.head); got != tc.want {
			t.Errorf("helmDocComment(%q) = %q, want %q", tc.head, got, tc.want)
		}
	}
}

// TestCleanDoc checks that markers are dropped and paragraphs kept.
func TestCleanDoc(t *testing.T) {
	in := "Field is a field.\n+optional\n+kubebuilder:default=x\n\nSecond paragraph\ncontinues.\n"
	want := "Field is a field.\n\nSecond paragraph continues."
	if got := cleanDoc(in); got != want {
		t.Errorf("cleanDoc = %q, want %q", got, want)
	}
}
