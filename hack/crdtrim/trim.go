package main

import (
	"fmt"
	"strings"
)

// trimCRD drops the nested descriptions of the embedded Kubernetes types in every version of
// the CAPApplicationVersion CRD.
func trimCRD(crd map[string]any) error {
	versions, _ := nested(crd, "spec", "versions").([]any)
	if len(versions) == 0 {
		return fmt.Errorf("no spec.versions")
	}
	for _, v := range versions {
		root, ok := nested(v, "schema", "openAPIV3Schema").(map[string]any)
		if !ok {
			return fmt.Errorf("a version without schema.openAPIV3Schema")
		}
		for _, wp := range workloadPaths {
			def, err := schemaAt(root, wp)
			if err != nil {
				return err
			}
			for _, f := range embeddedFields {
				node, err := schemaAt(def, f.path)
				if err != nil {
					if f.deploymentOnly && wp[len(wp)-1] != "deploymentDefinition" {
						continue
					}
					return fmt.Errorf("%s: %w", strings.Join(wp, "."), err)
				}
				trimDocs(node, 1)
			}
		}
	}
	return nil
}

// schemaAt follows property names ("[]" for the items of an array) from a schema node.
func schemaAt(node map[string]any, path []string) (map[string]any, error) {
	cur := node
	for i, p := range path {
		var next any
		if p == "[]" {
			next = cur["items"]
		} else {
			next = nested(cur, "properties", p)
		}
		m, ok := next.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("schema has no %s", strings.Join(path[:i+1], "."))
		}
		cur = m
	}
	return cur, nil
}

// trimDocs removes descriptions below a schema node: the fields up to keep levels down keep
// theirs, deeper ones lose them. Array items and map values are not levels of their own.
// Everything else of the schema is left as it is.
func trimDocs(node map[string]any, keep int) {
	if props, ok := node["properties"].(map[string]any); ok {
		for _, p := range props {
			field, ok := p.(map[string]any)
			if !ok {
				continue
			}
			if keep <= 0 {
				delete(field, "description")
			}
			trimDocs(field, keep-1)
		}
	}
	for _, key := range []string{"items", "additionalProperties"} {
		if sub, ok := node[key].(map[string]any); ok {
			delete(sub, "description")
			trimDocs(sub, keep)
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		subs, _ := node[key].([]any)
		for _, s := range subs {
			if sub, ok := s.(map[string]any); ok {
				delete(sub, "description")
				trimDocs(sub, keep)
			}
		}
	}
}

// nested returns the value at a path of map keys, or nil.
func nested(obj any, keys ...string) any {
	cur := obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}
