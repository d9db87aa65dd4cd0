// Command gen-docs generates the reference pages under docs/reference from the code: the API
// reference from the Go types in pkg/apis and the configuration reference from the binaries'
// flags, the environment variables they read and the Helm chart's values.
//
//	go run ./hack/gen-docs [-root .] [-out docs/reference]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("root", ".", "repository root")
	out := flag.String("out", "", "output folder (default: <root>/docs/reference)")
	flag.Parse()
	if *out == "" {
		*out = filepath.Join(*root, "docs", "reference")
	}
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen-docs:", err)
		os.Exit(1)
	}
}

// run writes every generated page into out.
func run(root, out string) error {
	pages := []struct {
		name   string
		render func(string) (string, error)
	}{
		{"api.md", renderAPI},
		{"configuration.md", renderConfiguration},
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, p := range pages {
		text, err := p.render(root)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := os.WriteFile(filepath.Join(out, p.name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
