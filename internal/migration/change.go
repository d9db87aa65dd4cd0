package migration

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Keys the previous implementation's older releases wrote in place of the app-identifier
// label and annotation (spec section 1, "Legacy, removed at startup").
const (
	LegacyLabelAppIdentifierHash  = "sme.sap.com/btp-app-identifier-hash"
	LegacyAnnotationAppIdentifier = "sme.sap.com/btp-app-identifier"
)

// change is the label and annotation change of one object: a key mapped to a value is set,
// a key mapped to nil is removed. The zero value changes nothing.
type change struct {
	labels      map[string]*string
	annotations map[string]*string
}

// empty reports whether the change leaves the object as it is.
func (c change) empty() bool { return len(c.labels) == 0 && len(c.annotations) == 0 }

// set records key=value in *m unless the object already holds exactly that.
func set(m *map[string]*string, current map[string]string, key, value string) {
	if v, ok := current[key]; ok && v == value {
		return
	}
	if *m == nil {
		*m = map[string]*string{}
	}
	(*m)[key] = &value
}

// remove records the removal of key from *m when the object holds it.
func remove(m *map[string]*string, current map[string]string, key string) {
	if _, ok := current[key]; !ok {
		return
	}
	if *m == nil {
		*m = map[string]*string{}
	}
	(*m)[key] = nil
}

// merge returns c with every entry of other added (other wins on the same key).
func (c change) merge(other change) change {
	out := change{}
	for _, src := range []change{c, other} {
		for k, v := range src.labels {
			if out.labels == nil {
				out.labels = map[string]*string{}
			}
			out.labels[k] = v
		}
		for k, v := range src.annotations {
			if out.annotations == nil {
				out.annotations = map[string]*string{}
			}
			out.annotations[k] = v
		}
	}
	return out
}

// mergePatch renders the change as a JSON merge patch (RFC 7386) of the object's metadata:
// only the listed keys are touched, so concurrent writers of other keys are not overwritten
// and no resourceVersion precondition is needed.
func (c change) mergePatch() ([]byte, error) {
	meta := map[string]any{}
	if len(c.labels) > 0 {
		meta["labels"] = c.labels
	}
	if len(c.annotations) > 0 {
		meta["annotations"] = c.annotations
	}
	return json.Marshal(map[string]any{"metadata": meta})
}

// identityChange moves an object to the current application identity: the app-identifier
// label and annotation are set to the application's values and the legacy keys of the
// previous implementation are removed. An object already migrated gives an empty change.
func identityChange(obj metav1.Object, account, btpAppName string) change {
	var c change
	set(&c.labels, obj.GetLabels(), v1alpha1.LabelAppIdentifierHash, identity.AppHash(account, btpAppName))
	set(&c.annotations, obj.GetAnnotations(), v1alpha1.AnnotationAppIdentifier, identity.AppID(account, btpAppName))
	remove(&c.labels, obj.GetLabels(), LegacyLabelAppIdentifierHash)
	remove(&c.annotations, obj.GetAnnotations(), LegacyAnnotationAppIdentifier)
	return c
}

// subscriptionGUIDChange copies a tenant's subscription-guid label into the annotation of
// the same key, where the subscription server reads it.
func subscriptionGUIDChange(cat *v1alpha1.CAPTenant) change {
	var c change
	if guid := cat.Labels[v1alpha1.LabelSubscriptionGUID]; guid != "" {
		set(&c.annotations, cat.Annotations, v1alpha1.AnnotationSubscriptionGUID, guid)
	}
	return c
}
