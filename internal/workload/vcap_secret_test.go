package workload

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestVCAPSecretName(t *testing.T) {
	a := VCAPSecretName("cav-1-router", `{"xsuaa":[{"credentials":{"clientsecret":"old"}}]}`)
	b := VCAPSecretName("cav-1-router", `{"xsuaa":[{"credentials":{"clientsecret":"new"}}]}`)
	if a == b {
		t.Errorf("different content, same name %s", a)
	}
	if again := VCAPSecretName("cav-1-router", `{"xsuaa":[{"credentials":{"clientsecret":"old"}}]}`); again != a {
		t.Errorf("same content, names %s and %s", a, again)
	}
	if !strings.HasPrefix(a, "cav-1-router-") || len(a) != len("cav-1-router-")+vcapHashLength {
		t.Errorf("name %s is not <prefix>-<%d hex digits>", a, vcapHashLength)
	}
	long := VCAPSecretName(strings.Repeat("a", 300), "{}")
	if len(long) != maxSecretName {
		t.Errorf("name of a long prefix has %d characters, want %d", len(long), maxSecretName)
	}
}

func TestIsVCAPSecretName(t *testing.T) {
	prefix := "cav-1-router"
	tests := map[string]bool{
		VCAPSecretName(prefix, "{}"):                  true,
		VCAPSecretName(prefix, `{"a":[]}`):            true,
		"cav-1-router-x7k2p":                          false, // generateName suffix of the previous implementation
		"cav-1-router-ABCDEF0123":                     false,
		VCAPSecretName("cav-1-routerx", "{}"):         false,
		VCAPSecretName("cav-1-backend", "{}"):         false,
		prefix:                                        false,
		VCAPSecretName(prefix, "{}") + "0":            false,
		strings.Repeat("a", 242) + "-0123456789":      true, // a truncated prefix
		strings.Repeat("a", 242) + "-012345678z":      false,
		strings.Repeat("a", 241) + "x" + "0123456789": false,
	}
	for name, want := range tests {
		p := prefix
		if strings.HasPrefix(name, "aaaa") {
			p = strings.Repeat("a", 300)
		}
		if got := IsVCAPSecretName(p, name); got != want {
			t.Errorf("IsVCAPSecretName(%.20s…, %s) = %v, want %v", p, name, got, want)
		}
	}
}

func TestReplaceVCAPSecret(t *testing.T) {
	own := corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "own"}}}
	ownSecret := corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init-own"}}}
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", EnvFrom: append([]corev1.EnvFromSource{own, ownSecret}, EnvFromSecret("old")...)}},
		Containers:     []corev1.Container{{Name: "main", EnvFrom: EnvFromSecret("old")}},
	}
	if got := VCAPSecretOf(&spec); got != "old" {
		t.Fatalf("VCAPSecretOf = %q, want old", got)
	}
	if !ReplaceVCAPSecret(&spec, "old", "new") {
		t.Fatal("nothing replaced")
	}
	if got := VCAPSecretOf(&spec); got != "new" {
		t.Errorf("main container injects %q, want new", got)
	}
	init := spec.InitContainers[0].EnvFrom
	if init[0].ConfigMapRef.Name != "own" || init[1].SecretRef.Name != "init-own" || init[2].SecretRef.Name != "new" {
		t.Errorf("init container envFrom %+v: only the VCAP secret may change", init)
	}
	if ReplaceVCAPSecret(&spec, "new", "new") {
		t.Error("replacing a secret by itself reported a change")
	}
	if VCAPSecretOf(&corev1.PodSpec{}) != "" {
		t.Error("a pod without containers injects a secret")
	}
}

func TestSameVCAPServices(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":[{"x":1,"y":2}]}`, `{"a":[{"y":2,"x":1}]}`, true},
		{`{"a":[{"x":1}]}`, `{"a":[{"x":2}]}`, false},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{``, `{}`, false},
		{`not json`, `not json`, true},
		{`not json`, `{}`, false},
	}
	for _, tc := range tests {
		if got := SameVCAPServices(tc.a, tc.b); got != tc.want {
			t.Errorf("SameVCAPServices(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
