package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// sourceFile is one parsed non-test Go file of the operator.
type sourceFile struct {
	path string
	file *ast.File
}

// parseOperatorSources parses every non-test, non-generated Go file under the given folders
// of root, skipping the test environment (it is not part of the shipped binaries).
func parseOperatorSources(root string, dirs ...string) ([]sourceFile, error) {
	fset := token.NewFileSet()
	var out []sourceFile
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				if skippedDir(filepath.ToSlash(rel)) {
					return filepath.SkipDir
				}
				return nil
			}
			name := d.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, "zz_generated") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			out = append(out, sourceFile{path: filepath.ToSlash(rel), file: f})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// skippedDir reports whether a folder holds test support rather than operator code.
func skippedDir(rel string) bool {
	base := filepath.Base(rel)
	return base == "testdata" || strings.HasPrefix(rel, "internal/testenv") || strings.HasSuffix(base, "test")
}

// stringLit returns the value of a string literal expression.
func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// calleeName returns the name of the called function or method ("Eventf" for r.Eventf).
func calleeName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		return fn.Sel.Name
	}
	return ""
}

// qualifiedCallee returns "pkg.Name" for a call through a package selector, else "".
func qualifiedCallee(call *ast.CallExpr) string {
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok {
			return id.Name + "." + sel.Sel.Name
		}
	}
	return ""
}
