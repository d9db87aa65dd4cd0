package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// schema is the part of a JSON schema the reference uses.
type schema struct {
	Ref         string             `json:"$ref"`
	Type        any                `json:"type"`
	Description string             `json:"description"`
	Enum        []any              `json:"enum"`
	Properties  map[string]*schema `json:"properties"`
	Items       *schema            `json:"items"`
	Minimum     *float64           `json:"minimum"`
	Maximum     *float64           `json:"maximum"`
	Definitions map[string]*schema `json:"definitions"`
}

// valueDoc is what values.yaml says about one key.
type valueDoc struct {
	comment string
	def     string
}

// renderValues returns the chart values table: every key the schema allows, with its type,
// default and description.
func renderValues(root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "chart", "values.schema.json"))
	if err != nil {
		return "", err
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("values.schema.json: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(root, "chart", "values.yaml"))
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("values.yaml: %w", err)
	}
	docs := map[string]valueDoc{}
	if len(doc.Content) > 0 {
		collectValueDocs(doc.Content[0], "", docs)
	}
	var b strings.Builder
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	writeValueRows(&b, &s, s.Definitions, "", docs)
	return b.String(), nil
}

// collectValueDocs records the `# --` comment and the default of every key of values.yaml.
func collectValueDocs(n *yaml.Node, prefix string, out map[string]valueDoc) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		path := joinKey(prefix, key.Value)
		out[path] = valueDoc{comment: helmDocComment(key.HeadComment), def: defaultOf(val)}
		collectValueDocs(val, path, out)
	}
}

// helmDocComment returns the text of the last "# --" comment block of a head comment.
func helmDocComment(head string) string {
	lines := strings.Split(head, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "# --") {
			start = i
		}
	}
	if start < 0 {
		return ""
	}
	var parts []string
	for i, l := range lines[start:] {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "#") {
			break
		}
		l = strings.TrimSpace(strings.TrimPrefix(l, "#"))
		if i == 0 {
			l = strings.TrimSpace(strings.TrimPrefix(l, "--"))
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, " ")
}

// defaultOf renders a default value compactly; long or multi-line values point to values.yaml.
func defaultOf(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		if strings.Contains(n.Value, "\n") || len(n.Value) > 60 {
			return "(see values.yaml)"
		}
		if n.Tag == "!!str" {
			return fmt.Sprintf("`%q`", n.Value)
		}
		return "`" + n.Value + "`"
	}
	flow := *n
	setFlow(&flow)
	out, err := yaml.Marshal(&flow)
	if err != nil || len(out) > 80 {
		return "(see values.yaml)"
	}
	return "`" + strings.TrimSpace(string(out)) + "`"
}

// setFlow makes a copy of a node tree render in flow style.
func setFlow(n *yaml.Node) {
	n.Style = yaml.FlowStyle
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	content := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		cp := *c
		setFlow(&cp)
		content[i] = &cp
	}
	n.Content = content
}

// writeValueRows writes one row per schema property, descending into objects with properties.
func writeValueRows(b *strings.Builder, s *schema, defs map[string]*schema, prefix string, docs map[string]valueDoc) {
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := joinKey(prefix, name)
		p := resolve(s.Properties[name], defs)
		d := docs[path]
		desc := d.comment
		if desc == "" {
			desc = p.Description
			if desc == "" {
				desc = s.Properties[name].Description
			}
		}
		if len(p.Properties) > 0 {
			if desc != "" {
				fmt.Fprintf(b, "| `%s` | object | | %s |\n", path, tableCell(desc))
			}
			writeValueRows(b, p, defs, path, docs)
			continue
		}
		def := d.def
		if def == "" {
			def = "—"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", path, typeOf(p, defs), tableCell(def), tableCell(desc))
	}
}

// resolve follows a $ref into the schema's definitions.
func resolve(s *schema, defs map[string]*schema) *schema {
	for s != nil && s.Ref != "" {
		s = defs[strings.TrimPrefix(s.Ref, "#/definitions/")]
	}
	if s == nil {
		return &schema{}
	}
	return s
}

// typeOf renders a property's type, with its allowed values and bounds.
func typeOf(s *schema, defs map[string]*schema) string {
	t := ""
	switch v := s.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, fmt.Sprint(x))
		}
		t = strings.Join(parts, " or ")
	}
	if t == "array" && s.Items != nil {
		if it := typeOf(resolve(s.Items, defs), defs); it != "" {
			t = "array of " + it
		}
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			if str, ok := e.(string); ok {
				vals = append(vals, fmt.Sprintf("`%q`", str))
				continue
			}
			vals = append(vals, fmt.Sprintf("`%v`", e))
		}
		t = strings.TrimSpace(t + " (one of " + strings.Join(vals, ", ") + ")")
	}
	if s.Minimum != nil || s.Maximum != nil {
		lo, hi := "", ""
		if s.Minimum != nil {
			lo = fmt.Sprint(*s.Minimum)
		}
		if s.Maximum != nil {
			hi = fmt.Sprint(*s.Maximum)
		}
		t += fmt.Sprintf(" (%s..%s)", lo, hi)
	}
	if t == "" {
		t = "any"
	}
	return t
}

// joinKey joins a dotted values path.
func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
