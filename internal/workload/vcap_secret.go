package workload

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// vcapHashLength is how many hex digits of the content hash name a VCAP_SERVICES Secret:
// 40 bits, enough to tell apart the few contents one workload has over its life.
const vcapHashLength = 10

// maxSecretName is the longest Secret name the API accepts (a DNS subdomain).
const maxSecretName = 253

// VCAPSecretName returns the name of the VCAP_SERVICES Secret holding vcap for the workload
// object named prefix: `<prefix>-<hash of the content>`. Equal content gives the same name, so
// a workload's pod template changes exactly when the credentials it consumes change, and a
// Secret created twice (a restart, a stale cache) is found instead of duplicated.
func VCAPSecretName(prefix, vcap string) string {
	hash := identity.SHA256(vcap)[:vcapHashLength]
	if len(prefix)+1+len(hash) > maxSecretName {
		prefix = prefix[:maxSecretName-1-len(hash)]
	}
	return prefix + "-" + hash
}

// VCAPSecretOf returns the VCAP_SERVICES Secret a pod spec injects: the Secret of the main
// container's envFrom, which holds only that Secret. It returns "" when there is none.
func VCAPSecretOf(spec *corev1.PodSpec) string {
	if len(spec.Containers) == 0 {
		return ""
	}
	for _, from := range spec.Containers[0].EnvFrom {
		if from.SecretRef != nil {
			return from.SecretRef.Name
		}
	}
	return ""
}

// ReplaceVCAPSecret points every envFrom of the pod's containers and init containers that
// names the Secret from at the Secret to, and reports whether anything changed. Init
// containers' own envFrom entries name other Secrets and are left alone.
func ReplaceVCAPSecret(spec *corev1.PodSpec, from, to string) bool {
	changed := false
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			for j := range containers[i].EnvFrom {
				ref := containers[i].EnvFrom[j].SecretRef
				if ref != nil && ref.Name == from && from != to {
					ref.Name = to
					changed = true
				}
			}
		}
	}
	return changed
}

// SameVCAPServices reports whether two VCAP_SERVICES values carry the same JSON, whatever
// their key order (a Secret written by the previous implementation orders keys its own way).
func SameVCAPServices(a, b string) bool {
	if a == b {
		return true
	}
	var av, bv any
	if json.Unmarshal([]byte(a), &av) != nil || json.Unmarshal([]byte(b), &bv) != nil {
		return false
	}
	return reflect.DeepEqual(av, bv)
}

// VCAPSecret builds the VCAP_SERVICES Secret of a workload object (prefix is the Deployment
// or content Job name) of a version: named by VCAPSecretName, owned by the version, labelled
// with the secret-owner-hash of the workload object so every Secret the object ever had can
// be found.
func VCAPSecret(cav *v1alpha1.CAPApplicationVersion, prefix, vcap string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      VCAPSecretName(prefix, vcap),
			Namespace: cav.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelOwnerIdentifierHash: identity.OwnerHash(cav.Namespace, cav.Name),
				v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(cav.Generation, 10),
				v1alpha1.LabelSecretOwnerHash:     VCAPOwnerHash(cav, prefix),
			},
			Annotations:     map[string]string{v1alpha1.AnnotationOwnerIdentifier: identity.OwnerID(cav.Namespace, cav.Name)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cav, v1alpha1.SchemeGroupVersion.WithKind("CAPApplicationVersion"))},
		},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{EnvVCAPServices: vcap},
	}
}

// VCAPOwnerHash is the secret-owner-hash label of the VCAP_SERVICES Secrets of a version's
// workload object: sha1(namespace, version, prefix).
func VCAPOwnerHash(cav *v1alpha1.CAPApplicationVersion, prefix string) string {
	return identity.SHA1(cav.Namespace, cav.Name, prefix)
}

// IsVCAPSecretName reports whether name is a content-hash name VCAPSecretName gives for the
// workload object prefix (for some content).
func IsVCAPSecretName(prefix, name string) bool {
	probe := VCAPSecretName(prefix, "")
	cut := len(probe) - vcapHashLength
	if len(name) != len(probe) || name[:cut] != probe[:cut] {
		return false
	}
	for _, r := range name[cut:] {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// StaleVCAPSecrets returns, among the VCAP_SERVICES Secrets of one Deployment (all carrying
// its secret-owner-hash), those that may be deleted:
//   - not the Secret the pod template injects;
//   - only once the Deployment has rolled out completely: a pod of an older template would
//     restart its containers without credentials (the envFrom is optional);
//   - only Secrets created before the injected one: a newer Secret was just written by the
//     credential rollout, which points the Deployment at it next.
//
// Nothing is stale while the injected Secret is not among them (the cache lags behind).
func StaleVCAPSecrets(d *appsv1.Deployment, secrets []metav1.Object) []metav1.Object {
	if !rolledOut(d) {
		return nil
	}
	current := VCAPSecretOf(&d.Spec.Template.Spec)
	var injected metav1.Object
	for _, s := range secrets {
		if s.GetName() == current {
			injected = s
		}
	}
	if injected == nil {
		return nil
	}
	created := injected.GetCreationTimestamp()
	var out []metav1.Object
	for _, s := range secrets {
		t := s.GetCreationTimestamp()
		if s.GetName() != current && s.GetDeletionTimestamp() == nil && t.Before(&created) {
			out = append(out, s)
		}
	}
	return out
}

// rolledOut reports whether every pod of a Deployment runs its current template: the
// controller observed the latest spec, and all replicas, and no more, are updated ones.
func rolledOut(d *appsv1.Deployment) bool {
	if d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Status.UpdatedReplicas == want && d.Status.Replicas == want
}
