// Package examples embeds the published CAP Operator manifests of this folder so that tests in
// every tier can load them by path, for example "multitenant/cav-v1.yaml".
package examples

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

//go:embed */*.yaml */*.json
var files embed.FS

// Files returns the paths of all embedded manifests, sorted.
func Files() []string {
	var out []string
	_ = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// Read returns the raw content of one embedded file.
func Read(path string) ([]byte, error) {
	return files.ReadFile(path)
}

// MustRead is Read for tests and fixtures that cannot go on without the file.
func MustRead(path string) []byte {
	data, err := Read(path)
	if err != nil {
		panic(fmt.Sprintf("examples: %v", err))
	}
	return data
}

var (
	separator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	// topLevelAPIVersion finds a document that starts without a "---" separator: some
	// published files concatenate two objects, which would otherwise merge into one map with
	// duplicate keys.
	topLevelAPIVersion = regexp.MustCompile(`(?m)^apiVersion:`)
)

// Documents splits a manifest into its YAML documents. Besides "---" separators it also
// splits where a second top-level apiVersion key starts, the mistake of
// domains/clusterdomain-subdomain.yaml.
func Documents(data []byte) [][]byte {
	var docs [][]byte
	for _, part := range separator.Split(string(data), -1) {
		idx := topLevelAPIVersion.FindAllStringIndex(part, -1)
		starts := []int{0}
		for _, loc := range idx {
			if loc[0] > 0 {
				starts = append(starts, loc[0])
			}
		}
		for i, start := range starts {
			end := len(part)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			doc := bytes.TrimSpace([]byte(part[start:end]))
			if len(doc) > 0 {
				docs = append(docs, append(doc, '\n'))
			}
		}
	}
	return docs
}
