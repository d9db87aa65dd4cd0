package main

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// apiDir is the folder of the API types, relative to the repository root.
const apiDir = "pkg/apis/sme.sap.com/v1alpha1"

// kindOrder lists the kinds in the order a reader meets them; kinds not listed follow
// alphabetically.
var kindOrder = []string{"CAPApplication", "CAPApplicationVersion", "CAPTenant", "CAPTenantOperation", "CAPTenantOutput", "Domain", "ClusterDomain"}

// apiPackage is the documentation of the API package.
type apiPackage struct {
	types map[string]*doc.Type
	// markers holds, per type, the marker comment block separated from its doc comment by
	// a blank line (the usual kubebuilder layout).
	markers map[string]string
}

// loadAPI parses the API types with their comments.
func loadAPI(root string) (*apiPackage, error) {
	fset := token.NewFileSet()
	dir := filepath.Join(root, apiDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, "zz_generated") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/capstan-io/capstan/"+apiDir, doc.AllDecls|doc.PreserveAST)
	if err != nil {
		return nil, err
	}
	out := &apiPackage{types: map[string]*doc.Type{}, markers: map[string]string{}}
	for _, t := range pkg.Types {
		out.types[t.Name] = t
	}
	for _, f := range files {
		for name, text := range detachedMarkers(fset, f) {
			out.markers[name] = text
		}
	}
	return out, nil
}

// renderAPI returns the API reference page.
func renderAPI(root string) (string, error) {
	api, err := loadAPI(root)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(generatedHeader("hack/gen-docs from the Go types in " + apiDir))
	b.WriteString("# API reference: sme.sap.com/v1alpha1\n\n")
	b.WriteString("Every kind belongs to the category `cap` (`kubectl get cap -A`). `kubectl explain <kind>.spec`\n")
	b.WriteString("shows the same documentation from the installed CRDs. A field is required unless marked optional.\n\n")
	kinds := api.kinds()
	b.WriteString("## Kinds\n\n")
	for _, k := range kinds {
		fmt.Fprintf(&b, "- [%s](#%s)\n", k, strings.ToLower(k))
	}
	b.WriteString("\n")
	seen := map[string]bool{}
	for _, k := range kinds {
		api.writeType(&b, k, "##")
		seen[k] = true
	}
	b.WriteString("## Types\n\n")
	for _, name := range api.referencedTypes(kinds) {
		if !seen[name] {
			api.writeType(&b, name, "###")
		}
	}
	return b.String(), nil
}

// kinds returns the top-level kinds: structs with object metadata that are not lists.
func (a *apiPackage) kinds() []string {
	var out []string
	for name, t := range a.types {
		st := structOf(t)
		if st == nil || strings.HasSuffix(name, "List") || !hasField(st, "ObjectMeta") {
			continue
		}
		out = append(out, name)
	}
	rank := func(n string) int {
		for i, k := range kindOrder {
			if k == n {
				return i
			}
		}
		return len(kindOrder)
	}
	sort.Slice(out, func(i, j int) bool {
		if rank(out[i]) != rank(out[j]) {
			return rank(out[i]) < rank(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// referencedTypes returns, alphabetically, every package type reachable from the kinds.
func (a *apiPackage) referencedTypes(kinds []string) []string {
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		t, ok := a.types[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		if st := structOf(t); st != nil {
			for _, f := range st.Fields.List {
				for _, ref := range localIdents(f.Type) {
					visit(ref)
				}
			}
		}
	}
	for _, k := range kinds {
		visit(k)
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// writeType writes one type's section.
func (a *apiPackage) writeType(b *strings.Builder, name, level string) {
	t := a.types[name]
	fmt.Fprintf(b, "%s %s\n\n", level, name)
	if d := cleanDoc(t.Doc); d != "" {
		b.WriteString(d + "\n\n")
	}
	if r := resourceInfo(t.Doc + "\n" + a.markers[name]); r != "" {
		b.WriteString(r + "\n\n")
	}
	if v := typeValidation(t.Doc); v != "" {
		b.WriteString(v + "\n\n")
	}
	st := structOf(t)
	if st == nil {
		a.writeValues(b, t)
		return
	}
	b.WriteString("| field | type | description |\n|---|---|---|\n")
	a.writeFields(b, st)
	b.WriteString("\n")
}

// writeValues lists the constants of a named scalar type.
func (a *apiPackage) writeValues(b *strings.Builder, t *doc.Type) {
	if ts := typeSpec(t); ts != nil {
		fmt.Fprintf(b, "Underlying type: `%s`.\n\n", exprString(ts.Type))
	}
	var values []string
	for _, c := range t.Consts {
		for _, spec := range c.Decl.Specs {
			vs := spec.(*ast.ValueSpec)
			for _, v := range vs.Values {
				if s, ok := stringLit(v); ok {
					values = append(values, "`"+s+"`")
				}
			}
		}
	}
	if len(values) > 0 {
		fmt.Fprintf(b, "Values: %s.\n\n", strings.Join(values, ", "))
	}
}

// writeFields writes the table rows of a struct, inlining embedded package types.
func (a *apiPackage) writeFields(b *strings.Builder, st *ast.StructType) {
	for _, f := range st.Fields.List {
		tag := jsonTag(f)
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if len(f.Names) == 0 && (strings.Contains(opts, "inline") || tag == "") {
			if t, ok := a.types[exprString(f.Type)]; ok && structOf(t) != nil {
				a.writeFields(b, structOf(t))
			}
			continue
		}
		if name == "" && len(f.Names) > 0 {
			name = f.Names[0].Name
		}
		desc := cleanDoc(f.Doc.Text())
		if strings.Contains(f.Doc.Text(), "+optional") || strings.Contains(opts, "omitempty") {
			desc = "*Optional.* " + desc
		}
		if v := fieldValidation(f.Doc.Text()); v != "" {
			desc += " " + v
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", name, a.typeLink(f.Type), tableCell(desc))
	}
}

// typeLink renders a field type, linking the package's own types.
func (a *apiPackage) typeLink(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return a.typeLink(t.X)
	case *ast.ArrayType:
		return "[]" + a.typeLink(t.Elt)
	case *ast.MapType:
		return "map[" + a.typeLink(t.Key) + "]" + a.typeLink(t.Value)
	case *ast.Ident:
		if _, ok := a.types[t.Name]; ok {
			return fmt.Sprintf("[%s](#%s)", t.Name, strings.ToLower(t.Name))
		}
		return "`" + t.Name + "`"
	}
	return "`" + exprString(e) + "`"
}

// generatedHeader is the first line of every generated page.
func generatedHeader(source string) string {
	return "<!-- Generated by " + source + "; do not edit. Run hack/update-docs.sh. -->\n\n"
}

// cleanDoc drops marker lines (+kubebuilder, +optional, ...) and joins the comment's lines.
func cleanDoc(text string) string {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "+"):
		case line == "":
			flush()
		default:
			cur = append(cur, line)
		}
	}
	flush()
	return strings.Join(paras, "\n\n")
}

// tableCell makes text fit in one Markdown table cell.
func tableCell(s string) string {
	s = strings.ReplaceAll(s, "\n\n", "<br><br>")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", "\\|")
}

// structOf returns the struct type of a declaration, or nil.
func structOf(t *doc.Type) *ast.StructType {
	if ts := typeSpec(t); ts != nil {
		st, _ := ts.Type.(*ast.StructType)
		return st
	}
	return nil
}

// typeSpec returns the declaration of t.
func typeSpec(t *doc.Type) *ast.TypeSpec {
	for _, spec := range t.Decl.Specs {
		if ts, ok := spec.(*ast.TypeSpec); ok && ts.Name.Name == t.Name {
			return ts
		}
	}
	return nil
}

// hasField reports whether a struct has a field or embedded type of the given name.
func hasField(st *ast.StructType, name string) bool {
	for _, f := range st.Fields.List {
		if strings.HasSuffix(exprString(f.Type), name) {
			return true
		}
	}
	return false
}

// jsonTag returns the json struct tag of a field.
func jsonTag(f *ast.Field) string {
	if f.Tag == nil {
		return ""
	}
	raw, err := strconv.Unquote(f.Tag.Value)
	if err != nil {
		return ""
	}
	return reflect.StructTag(raw).Get("json")
}

// localIdents returns the unqualified type names used in a type expression.
func localIdents(e ast.Expr) []string {
	var out []string
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			return false
		case *ast.Ident:
			out = append(out, n.Name)
		}
		return true
	})
	return out
}

// exprString renders a type expression.
func exprString(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return exprString(t.X) + "." + t.Sel.Name
	case *ast.StarExpr:
		return "*" + exprString(t.X)
	case *ast.ArrayType:
		return "[]" + exprString(t.Elt)
	case *ast.MapType:
		return "map[" + exprString(t.Key) + "]" + exprString(t.Value)
	}
	return fmt.Sprintf("%T", e)
}

// markers returns the values of the +kubebuilder markers with the given prefix in a comment.
func markers(text, prefix string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "+kubebuilder:"+prefix); ok {
			out = append(out, v)
		}
	}
	return out
}

// fieldValidation renders the default and validation markers of a field.
func fieldValidation(text string) string {
	var parts []string
	for _, v := range markers(text, "default=") {
		parts = append(parts, "Default: `"+v+"`.")
	}
	for _, v := range markers(text, "validation:Enum=") {
		parts = append(parts, "One of: `"+strings.ReplaceAll(v, ";", "`, `")+"`.")
	}
	for _, v := range markers(text, "validation:Pattern=") {
		parts = append(parts, "Pattern: `"+strings.Trim(v, "`")+"`.")
	}
	for _, m := range []struct{ marker, label string }{
		{"validation:MinItems=", "At least %s item(s)."},
		{"validation:MaxItems=", "At most %s item(s)."},
		{"validation:MaxLength=", "At most %s characters."},
	} {
		for _, v := range markers(text, m.marker) {
			parts = append(parts, fmt.Sprintf(m.label, v))
		}
	}
	return strings.Join(parts, " ")
}

// typeValidation renders the CEL rules and pattern of a type.
func typeValidation(text string) string {
	var parts []string
	for _, v := range markers(text, "validation:XValidation:") {
		if _, msg, ok := strings.Cut(v, "message="); ok {
			parts = append(parts, "Validation: "+strings.Trim(msg, `"`)+".")
		}
	}
	for _, v := range markers(text, "validation:Pattern=") {
		parts = append(parts, "Pattern: `"+strings.Trim(v, "`")+"`.")
	}
	return strings.Join(parts, " ")
}

// resourceInfo renders the scope and short name of a kind from its resource marker.
func resourceInfo(text string) string {
	res := markers(text, "resource:")
	if len(res) == 0 {
		return ""
	}
	scope, short := "Namespaced", ""
	for _, kv := range strings.Split(res[0], ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "scope":
			scope = v
		case "shortName":
			short = v
		}
	}
	out := "Scope: " + scope + "."
	if short != "" {
		out += " Short name: `" + short + "`."
	}
	return out
}

// detachedMarkers returns, per type declared in f, the text of the comment block that ends
// one blank line above its doc comment.
func detachedMarkers(fset *token.FileSet, f *ast.File) map[string]string {
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE || len(gd.Specs) != 1 {
			continue
		}
		start := gd.Pos()
		if gd.Doc != nil {
			start = gd.Doc.Pos()
		}
		line := fset.Position(start).Line
		for _, g := range f.Comments {
			if g.End() < start && line-fset.Position(g.End()).Line == 2 {
				out[gd.Specs[0].(*ast.TypeSpec).Name.Name] = g.Text()
			}
		}
	}
	return out
}
