package controller

import (
	"encoding/json"
	"reflect"
)

// Drifted reports whether actual no longer carries everything desired sets. Both are typed
// objects (or parts of them) and are compared as JSON trees: every value present in desired
// must be present and equal in actual, while fields desired leaves empty (and so fields the
// API server defaults) are not compared. Lists must have the same length and are compared
// element by element.
//
// This is how the operator corrects drift of its children without writing on every sync: it
// updates a child only when a field it sets was changed or removed.
func Drifted(desired, actual any) bool {
	d, err := toJSONTree(desired)
	if err != nil {
		return true
	}
	a, err := toJSONTree(actual)
	if err != nil {
		return true
	}
	return !subset(d, a)
}

// toJSONTree returns the generic JSON form of v (maps, lists, strings, float64, bool, nil).
func toJSONTree(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	err = json.Unmarshal(data, &tree)
	return tree, err
}

// subset reports whether every value of d is present and equal in a.
func subset(d, a any) bool {
	switch dv := d.(type) {
	case map[string]any:
		av, ok := a.(map[string]any)
		if !ok {
			return len(dv) == 0
		}
		for k, v := range dv {
			if isEmpty(v) {
				continue
			}
			if !subset(v, av[k]) {
				return false
			}
		}
		return true
	case []any:
		av, ok := a.([]any)
		if !ok || len(av) != len(dv) {
			return len(dv) == 0 && len(av) == 0
		}
		for i := range dv {
			if !subset(dv[i], av[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(d, a)
	}
}

// isEmpty reports whether a JSON value carries nothing: nil, an empty string, map or list.
// Empty strings count as unset because many API fields without omitempty are defaulted by the
// server; comparing them would make the operator fight the defaulting forever.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// MergeMaps returns base with every entry of overlay set on it; overlay wins.
func MergeMaps(base, overlay map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(overlay))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overlay {
		out[k] = v
	}
	return out
}

// ContainsAll reports whether m holds every entry of want.
func ContainsAll(m, want map[string]string) bool {
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			return false
		}
	}
	return true
}
