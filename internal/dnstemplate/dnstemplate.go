// Package dnstemplate parses and expands the DNS templates of Domains and ClusterDomains: Go text
// templates with the sprig functions, except those that reach outside the template. The
// controller renders the templates and the validating webhook checks them with the same
// rules, so a template the webhook admits is one the controller accepts.
package dnstemplate

import (
	"fmt"
	"text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"
)

// refused maps the sprig functions DNS templates may not call to the reason. Helm removes
// env and expandenv from its templates for the same reason: a template author must not read
// the environment of the process rendering it (the controller's credentials). getHostByName
// resolves names with the controller's resolver, which lets a template author probe the
// cluster's internal DNS.
var refused = map[string]string{
	"env":           "it would read the controller's environment",
	"expandenv":     "it would read the controller's environment",
	"getHostByName": "it would resolve host names from inside the cluster",
}

// RefusedFunctionError reports a call of a function DNS templates may not use.
type RefusedFunctionError struct {
	// Function is the refused function.
	Function string
}

// Error implements error. It names the function only, never a value.
func (e *RefusedFunctionError) Error() string {
	return fmt.Sprintf("function %q is not available in DNS templates: %s", e.Function, refused[e.Function])
}

// funcMap returns sprig's text functions with the refused ones replaced by functions that
// fail, so that a template reaching them at run time cannot read anything either.
func funcMap() template.FuncMap {
	m := sprig.TxtFuncMap()
	for name := range refused {
		m[name] = func(...any) (string, error) { return "", &RefusedFunctionError{Function: name} }
	}
	return m
}

// Parse parses a DNS template named name. Unknown variables are errors when it runs, not
// "<no value>", so that a typo does not become a DNS name. A template calling a refused
// function is a *RefusedFunctionError.
func Parse(name, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(funcMap()).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	for _, tmpl := range t.Templates() {
		if tmpl.Tree == nil {
			continue
		}
		if fn := refusedCall(tmpl.Tree.Root); fn != "" {
			return nil, &RefusedFunctionError{Function: fn}
		}
	}
	return t, nil
}

// refusedCall returns the first refused function the parse tree below node calls, "" for
// none.
func refusedCall(node parse.Node) string {
	var children []parse.Node
	switch n := node.(type) {
	case nil:
		return ""
	case *parse.IdentifierNode:
		if _, ok := refused[n.Ident]; ok {
			return n.Ident
		}
		return ""
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		children = n.Nodes
	case *parse.ActionNode:
		children = []parse.Node{n.Pipe}
	case *parse.PipeNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Cmds {
			children = append(children, c)
		}
	case *parse.CommandNode:
		children = n.Args
	case *parse.ChainNode:
		children = []parse.Node{n.Node}
	case *parse.IfNode:
		children = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.RangeNode:
		children = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.WithNode:
		children = []parse.Node{n.Pipe, n.List, n.ElseList}
	case *parse.TemplateNode:
		children = []parse.Node{n.Pipe}
	}
	for _, c := range children {
		if fn := refusedCall(c); fn != "" {
			return fn
		}
	}
	return ""
}
