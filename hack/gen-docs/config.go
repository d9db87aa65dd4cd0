package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// renderConfiguration returns the configuration reference: every binary's flags (from its
// --help output), every environment variable the operator reads or the chart sets, and every
// chart value.
func renderConfiguration(root string) (string, error) {
	bins, err := binaries(root)
	if err != nil {
		return "", err
	}
	helps := map[string]string{}
	for _, bin := range bins {
		if helps[bin], err = helpText(root, bin); err != nil {
			return "", err
		}
	}
	env, err := collectEnv(root, helps)
	if err != nil {
		return "", err
	}
	values, err := renderValues(root)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(generatedHeader("hack/gen-docs from the binaries' --help, their environment reads, chart/values.yaml and chart/values.schema.json"))
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("Capstan is configured by command-line flags, environment variables and, when installed with\n")
	b.WriteString("the Helm chart, chart values (which set the flags and variables). A variable named in a flag's\n")
	b.WriteString("help text sets that flag's default; an explicit flag wins.\n\n")
	b.WriteString("- [Flags](#flags)\n- [Environment variables](#environment-variables)\n- [Chart values](#chart-values)\n\n")
	b.WriteString("## Flags\n\n")
	for _, bin := range bins {
		fmt.Fprintf(&b, "### %s\n\n`cmd/%s`; %s. The output of `%s --help`:\n\n```text\n%s\n```\n\n",
			bin, bin, shippedAs(bin), bin, strings.TrimRight(helps[bin], "\n"))
	}
	b.WriteString("## Environment variables\n\n")
	b.WriteString("| variable | read by | meaning |\n|---|---|---|\n")
	for _, e := range env {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.name, strings.Join(e.readers, ", "), tableCell(e.doc))
	}
	b.WriteString("\n## Chart values\n\n")
	b.WriteString("Keys of `chart/values.yaml`, checked by `chart/values.schema.json` (unknown keys are rejected).\n")
	b.WriteString("The description is the key's comment in values.yaml, else the schema's description.\n\n")
	b.WriteString(values)
	return b.String(), nil
}

// binaries returns the names of the folders under cmd/ that hold a main package.
func binaries(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "cmd", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		out = append(out, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no binaries under %s/cmd", root)
	}
	return out, nil
}

// shippedAs says where a binary is shipped: kubectl plugins are built by the user and put on
// the PATH, the others are in the container image.
func shippedAs(bin string) string {
	if strings.HasPrefix(bin, "kubectl-") {
		return "a kubectl plugin (`kubectl " + strings.TrimPrefix(bin, "kubectl-") + "`), not in the image: build it and put it on the PATH"
	}
	return "in the image `/app/" + imageName(bin) + "`"
}

// imageName returns the binary's path name in the container image.
func imageName(bin string) string {
	if bin == "web-hooks" {
		return "webhook"
	}
	return bin
}

// helpText builds the binary and returns its --help output, run with an empty environment so
// that the defaults shown are the built-in ones.
func helpText(root, bin string) (string, error) {
	dir, err := os.MkdirTemp("", "gen-docs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	exe := filepath.Join(dir, bin)
	build := exec.Command("go", "build", "-o", exe, "./cmd/"+bin)
	build.Dir = root
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building cmd/%s: %w", bin, err)
	}
	cmd := exec.Command(exe, "--help")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	out, _ := cmd.CombinedOutput() // --help exits 0 or 2 depending on the flag library
	text := strings.ReplaceAll(string(out), exe, bin)
	if !strings.Contains(text, "-") || strings.Contains(text, "panic:") {
		return "", fmt.Errorf("%s --help printed no usage:\n%s", bin, text)
	}
	return text, nil
}
