package localenv

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/capstan-io/capstan/hack/localenv/localenv/issuer"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

func TestDemoSecrets(t *testing.T) {
	ca := &v1alpha1.CAPApplication{}
	ca.Name, ca.Spec.BTPAppName = "app", "app"
	ca.Spec.BTP.Services = []v1alpha1.ServiceInfo{
		{Class: "xsuaa", Name: "uaa", Secret: "uaa-bind"},
		{Class: "saas-registry", Name: "saas", Secret: "saas-bind"},
	}
	uaa := &corev1.Secret{StringData: map[string]string{"xsappname": "app!t1"}}
	uaa.Name = "uaa-bind"
	saas := &corev1.Secret{StringData: map[string]string{"credentials": "{}"}}
	saas.Name = "saas-bind"

	xsappname, err := demoSecrets(ca, []*corev1.Secret{uaa, saas}, "https://localhost:1234")
	if err != nil || xsappname != "app!t1" {
		t.Fatalf("demoSecrets = %q, %v", xsappname, err)
	}
	creds := saas.StringData["credentials"]
	for _, want := range []string{`"clientid":"` + issuer.SaaSClientID + `"`, `"uaadomain":"localhost"`, `"url":"https://localhost:1234"`} {
		if !strings.Contains(creds, want) {
			t.Errorf("saas-registry credentials %s lack %s", creds, want)
		}
	}

	if _, err := demoSecrets(ca, []*corev1.Secret{uaa}, "https://localhost:1234"); err == nil || !strings.Contains(err.Error(), "saas") {
		t.Errorf("missing saas-registry Secret: %v", err)
	}
	uaa.StringData = map[string]string{}
	if _, err := demoSecrets(ca, []*corev1.Secret{uaa, saas}, "https://localhost:1234"); err == nil || !strings.Contains(err.Error(), "xsappname") {
		t.Errorf("xsuaa binding without xsappname: %v", err)
	}
}
