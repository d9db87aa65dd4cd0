package framework

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// BindingSecretObjects returns the binding Secrets that BindingSecrets creates, for programs
// (hack/localenv) that create them without a test: the xsuaa service in the per-property
// form with `.metadata` (from examples/bindings), every other service in the single
// `credentials` key form. The Secrets are in the application's namespace.
func BindingSecretObjects(ca *v1alpha1.CAPApplication) ([]*corev1.Secret, error) {
	secrets := make([]*corev1.Secret, 0, len(ca.Spec.BTP.Services))
	for _, svc := range ca.Spec.BTP.Services {
		secret := &corev1.Secret{}
		if svc.Class == "xsuaa" {
			if err := yaml.Unmarshal(examples.MustRead("bindings/xsuaa-with-metadata.yaml"), secret); err != nil {
				return nil, fmt.Errorf("bindings/xsuaa-with-metadata.yaml: %w", err)
			}
			secret.ObjectMeta = metav1.ObjectMeta{}
		} else {
			creds, err := json.Marshal(map[string]any{"url": "https://" + svc.Name + ".example.com", "xsappname": svc.Name + "!b1", "clientid": "sb-" + svc.Name})
			if err != nil {
				return nil, err
			}
			secret.StringData = map[string]string{"credentials": string(creds)}
		}
		secret.Name, secret.Namespace = svc.Secret, ca.Namespace
		secrets = append(secrets, secret)
	}
	return secrets, nil
}
