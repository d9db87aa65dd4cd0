package controller

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	smev1alpha1 "github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// ChildDrifted is the drift rule of every child the operator reconciles: the existing object
// actual has drifted from desired, and is updated, when
//   - a label or annotation desired sets is missing or different. Children carry the
//     resource-hash annotation (SpecHash of what the builder rendered), so a change of the
//     desired content, a removed field included, shows here even where the live object
//     still contains everything desired sets;
//   - a finalizer desired sets is missing;
//   - the owned part of the live object (Child.Spec) no longer carries every value desired
//     sets (Drifted). This catches a hand edit of the spec that left the hash annotation
//     untouched; fields the API server or another controller defaults are not compared.
//
// The owner-generation label is exempt: the owner's generation changes with every spec
// change, most of which leave a given child alone, so the label is brought up to date with
// the child's next real change rather than costing a write of its own.
func ChildDrifted[T metav1.Object](c Child[T], desired, actual T) bool {
	labels := maps.Clone(desired.GetLabels())
	delete(labels, smev1alpha1.LabelOwnerGeneration)
	if !ContainsAll(actual.GetLabels(), labels) || !ContainsAll(actual.GetAnnotations(), desired.GetAnnotations()) {
		return true
	}
	for _, f := range desired.GetFinalizers() {
		if !slices.Contains(actual.GetFinalizers(), f) {
			return true
		}
	}
	return Drifted(c.Spec(desired), c.Spec(actual))
}

// AdoptChild is the adoption rule of every child the operator reconciles: it returns a copy
// of the existing object actual, which keeps its identity (name, UID, resourceVersion, so a
// concurrent change makes the update conflict), its finalizers and the labels and
// annotations other parties set, and gets the operator's labels and annotations, finalizers
// and owner references from desired (replacing a reference to the same owner UID) and the
// owned part of desired through Child.SetSpec.
func AdoptChild[T metav1.Object](c Child[T], desired, actual T) T {
	out := c.DeepCopy(actual)
	out.SetLabels(MergeMaps(actual.GetLabels(), desired.GetLabels()))
	out.SetAnnotations(MergeMaps(actual.GetAnnotations(), desired.GetAnnotations()))
	finalizers := slices.Clone(actual.GetFinalizers())
	for _, f := range desired.GetFinalizers() {
		if !slices.Contains(finalizers, f) {
			finalizers = append(finalizers, f)
		}
	}
	out.SetFinalizers(finalizers)
	refs := slices.Clone(actual.GetOwnerReferences())
	for _, want := range desired.GetOwnerReferences() {
		i := slices.IndexFunc(refs, func(r metav1.OwnerReference) bool { return r.UID == want.UID })
		if i < 0 {
			refs = append(refs, want)
		} else {
			refs[i] = want
		}
	}
	out.SetOwnerReferences(refs)
	c.SetSpec(desired, out)
	return out
}

// SpecHash is the value of the resource-hash annotation: the SHA-256 of v's compact JSON.
// Compacting first makes the hash independent of the whitespace some protobuf JSON
// marshalers vary. Builders pass the spec they rendered (or the inputs it is made of).
func SpecHash(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only unsupported types fail to marshal; the builders never produce them.
		panic(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		panic(err)
	}
	return identity.SHA256(buf.String())
}

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
