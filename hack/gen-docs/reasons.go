package main

import (
	"go/ast"
	"regexp"
	"sort"
	"strings"
)

// validReason is the syntax the API server accepts for a condition reason; other strings
// passed as a "reason" (log and requeue explanations) are not reasons.
var validReason = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// reasonConstName matches the names of reason constants: ReasonX, reasonX.
var reasonConstName = regexp.MustCompile(`^[Rr]eason[A-Z0-9]`)

// collectReasons returns every condition and event reason the operator's code under cmd/ and
// internal/ can set, mapped to the files that define or emit it. A reason is found when it is
//   - a string constant named Reason* or reason*,
//   - the string literal reason argument of an Eventf call,
//   - the string literal value of a Reason or reason field in a composite literal,
//   - the string literal at the position of such a field in a positional composite literal of
//     a struct declared in the operator's code (also when the type is implied, as in a table),
//   - a string literal assigned to a variable or field named reason, or
//   - a string literal passed as a parameter whose name contains "reason" of a function
//     declared in the operator's code.
func collectReasons(root string) (map[string][]string, error) {
	files, err := parseOperatorSources(root, "cmd", "internal")
	if err != nil {
		return nil, err
	}
	params := reasonParams(files)
	fields := reasonFields(files)
	found := map[string][]string{}
	add := func(reason, path string) {
		if !validReason.MatchString(reason) || containsString(found[reason], path) {
			return
		}
		found[reason] = append(found[reason], path)
	}
	for _, sf := range files {
		ast.Inspect(sf.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i < len(n.Values) && reasonConstName.MatchString(name.Name) {
						if s, ok := stringLit(n.Values[i]); ok {
							add(s, sf.path)
						}
					}
				}
			case *ast.CallExpr:
				for _, i := range callReasonArgs(n, params) {
					if s, ok := stringLit(n.Args[i]); ok {
						add(s, sf.path)
					}
				}
			case *ast.CompositeLit:
				if n.Type != nil {
					positionalReasons(n, n.Type, fields, func(s string) { add(s, sf.path) })
				}
			case *ast.KeyValueExpr:
				if isReasonName(n.Key) {
					if s, ok := stringLit(n.Value); ok {
						add(s, sf.path)
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if i < len(n.Rhs) && isReasonName(lhs) {
						if s, ok := stringLit(n.Rhs[i]); ok {
							add(s, sf.path)
						}
					}
				}
			}
			return true
		})
	}
	for _, paths := range found {
		sort.Strings(paths)
	}
	return found, nil
}

// callReasonArgs returns the argument positions of a call that carry a reason.
func callReasonArgs(call *ast.CallExpr, params map[string][]int) []int {
	name := calleeName(call)
	var idx []int
	// events.EventRecorder.Eventf(regarding, related, type, reason, action, note, args...).
	if name == "Eventf" && len(call.Args) >= 4 {
		idx = append(idx, 3)
	}
	for _, i := range params[name] {
		if i < len(call.Args) {
			idx = append(idx, i)
		}
	}
	return idx
}

// reasonParams maps the names of functions declared in files to the positions of their
// parameters whose name contains "reason".
func reasonParams(files []sourceFile) map[string][]int {
	out := map[string][]int{}
	for _, sf := range files {
		for _, decl := range sf.file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			i := 0
			for _, field := range fn.Type.Params.List {
				names := field.Names
				if len(names) == 0 {
					i++
					continue
				}
				for _, name := range names {
					if strings.Contains(strings.ToLower(name.Name), "reason") {
						out[fn.Name.Name] = append(out[fn.Name.Name], i)
					}
					i++
				}
			}
		}
	}
	return out
}

// isReasonName reports whether an expression names a reason: reason, Reason, x.reason, x.Reason.
func isReasonName(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "reason" || e.Name == "Reason"
	case *ast.SelectorExpr:
		return e.Sel.Name == "reason" || e.Sel.Name == "Reason"
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// reasonFields maps the names of struct types declared in files to the position of their
// field named Reason or reason.
func reasonFields(files []sourceFile) map[string]int {
	out := map[string]int{}
	for _, sf := range files {
		ast.Inspect(sf.file, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := spec.Type.(*ast.StructType)
			if !ok {
				return true
			}
			i := 0
			for _, field := range st.Fields.List {
				if len(field.Names) == 0 {
					i++
					continue
				}
				for _, name := range field.Names {
					if isReasonName(name) {
						out[spec.Name.Name] = i
					}
					i++
				}
			}
			return true
		})
	}
	return out
}

// positionalReasons reports the string literals at the reason position of positional
// composite literals of type typ, descending into arrays, slices and maps whose element
// literals leave their type implied.
func positionalReasons(lit *ast.CompositeLit, typ ast.Expr, fields map[string]int, add func(string)) {
	switch t := typ.(type) {
	case *ast.StarExpr:
		positionalReasons(lit, t.X, fields, add)
	case *ast.ArrayType:
		impliedElems(lit, t.Elt, fields, add)
	case *ast.MapType:
		impliedElems(lit, t.Value, fields, add)
	case *ast.Ident, *ast.SelectorExpr:
		name := typeName(t)
		i, ok := fields[name]
		if !ok || i >= len(lit.Elts) {
			return
		}
		if _, keyed := lit.Elts[0].(*ast.KeyValueExpr); keyed {
			return
		}
		if s, ok := stringLit(lit.Elts[i]); ok {
			add(s)
		}
	}
}

// impliedElems visits the element literals of lit that leave their type implied as elem.
func impliedElems(lit *ast.CompositeLit, elem ast.Expr, fields map[string]int, add func(string)) {
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			e = kv.Value
		}
		if child, ok := e.(*ast.CompositeLit); ok && child.Type == nil {
			positionalReasons(child, elem, fields, add)
		}
	}
}

// typeName returns the bare name of a named type expression.
func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}
