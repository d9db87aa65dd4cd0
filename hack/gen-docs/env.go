package main

import (
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// envVar is one environment variable of the configuration reference.
type envVar struct {
	name    string
	readers []string // binaries or packages that read it
	chart   []string // chart templates that set it
	doc     string
}

var (
	// envName is the syntax of the variables the operator reads.
	envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	// helpEnvMention finds "env NAME" in a flag's help text.
	helpEnvMention = regexp.MustCompile(`\benv ([A-Z][A-Z0-9_]+)`)
	// chartEnvName finds "- name: NAME" entries of container env lists in chart templates.
	chartEnvName = regexp.MustCompile(`(?m)^\s*- name: ([A-Z][A-Z0-9_]+)\s*$`)
)

// collectEnv returns every environment variable the operator reads (a string literal passed to
// os.Getenv, os.LookupEnv or a function handing its parameter to them), every one a flag's
// help text names, and every one the chart's templates set, each with its description from
// envDocs. A variable without a description, or a description of a variable nothing reads or
// sets, is an error.
func collectEnv(root string, helps map[string]string) ([]envVar, error) {
	vars := map[string]*envVar{}
	get := func(name string) *envVar {
		if vars[name] == nil {
			vars[name] = &envVar{name: name}
		}
		return vars[name]
	}
	files, err := parseOperatorSources(root, "cmd", "internal")
	if err != nil {
		return nil, err
	}
	for name, readers := range envReads(files) {
		get(name).readers = append(get(name).readers, readers...)
	}
	for bin, help := range helps {
		for _, m := range helpEnvMention.FindAllStringSubmatch(help, -1) {
			v := get(m[1])
			if !containsString(v.readers, bin) {
				v.readers = append(v.readers, bin)
			}
		}
	}
	templates, err := filepath.Glob(filepath.Join(root, "chart", "templates", "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, t := range templates {
		data, err := os.ReadFile(t)
		if err != nil {
			return nil, err
		}
		for _, m := range chartEnvName.FindAllStringSubmatch(string(data), -1) {
			v := get(m[1])
			if base := filepath.Base(t); !containsString(v.chart, base) {
				v.chart = append(v.chart, base)
			}
		}
	}
	var out []envVar
	var undocumented []string
	for name, v := range vars {
		v.doc = envDocs[name]
		if v.doc == "" {
			undocumented = append(undocumented, name)
		}
		sort.Strings(v.readers)
		sort.Strings(v.chart)
		if len(v.chart) > 0 {
			v.readers = append(v.readers, "set by the chart ("+strings.Join(v.chart, ", ")+")")
		}
		out = append(out, *v)
	}
	var stale []string
	for name := range envDocs {
		if vars[name] == nil {
			stale = append(stale, name)
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		return nil, fmt.Errorf("hack/gen-docs/env_docs.go describes %v, which nothing reads or sets any more; remove them", stale)
	}
	if len(undocumented) > 0 {
		sort.Strings(undocumented)
		return nil, fmt.Errorf("describe the environment variables %v in hack/gen-docs/env_docs.go", undocumented)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// envReads maps the variables read through os.Getenv or os.LookupEnv, directly or through a
// helper that passes its parameter on, to the binaries (cmd/<name>) or packages reading them.
func envReads(files []sourceFile) map[string][]string {
	helpers := envHelpers(files)
	out := map[string][]string{}
	for _, sf := range files {
		reader := readerOf(sf.path)
		ast.Inspect(sf.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			idx := -1
			switch q := qualifiedCallee(call); {
			case q == "os.Getenv" || q == "os.LookupEnv":
				idx = 0
			default:
				if _, local := call.Fun.(*ast.Ident); local {
					if i, ok := helpers[calleeName(call)]; ok {
						idx = i
					}
				}
			}
			if idx >= 0 && idx < len(call.Args) {
				if s, ok := stringLit(call.Args[idx]); ok && envName.MatchString(s) && !containsString(out[s], reader) {
					out[s] = append(out[s], reader)
				}
			}
			return true
		})
	}
	return out
}

// envHelpers maps functions that pass one of their parameters to os.Getenv or os.LookupEnv to
// that parameter's position.
func envHelpers(files []sourceFile) map[string]int {
	out := map[string]int{}
	for _, sf := range files {
		for _, decl := range sf.file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Recv != nil {
				continue
			}
			params := paramPositions(fn)
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				if q := qualifiedCallee(call); q == "os.Getenv" || q == "os.LookupEnv" {
					if id, ok := call.Args[0].(*ast.Ident); ok {
						if i, ok := params[id.Name]; ok {
							out[fn.Name.Name] = i
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// paramPositions maps a function's parameter names to their positions.
func paramPositions(fn *ast.FuncDecl) map[string]int {
	out := map[string]int{}
	i := 0
	for _, field := range fn.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, name := range field.Names {
			out[name.Name] = i
			i++
		}
	}
	return out
}

// readerOf names the binary (cmd/<name>/...) or package (internal/...) of a source file.
func readerOf(path string) string {
	parts := strings.Split(path, "/")
	if parts[0] == "cmd" && len(parts) > 1 {
		return parts[1]
	}
	return "`" + filepath.ToSlash(filepath.Dir(path)) + "` (every binary using it)"
}
