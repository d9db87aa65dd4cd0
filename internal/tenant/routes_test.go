package tenant

import (
	"strings"
	"testing"

	"github.com/capstan-io/capstan/internal/golden"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// routerCAV returns a version with a Router workload on the given port (0: default).
func routerCAV(name string, port int32, logout string) *v1alpha1.CAPApplicationVersion {
	router := deploymentWorkload("App-Router", "Router")
	if port != 0 {
		router.DeploymentDefinition.Ports = []v1alpha1.Ports{{Name: "http", Port: port}}
	}
	cav := &v1alpha1.CAPApplicationVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       v1alpha1.CAPApplicationVersionSpec{Workloads: []v1alpha1.WorkloadDetails{deploymentWorkload("srv", "CAP"), router}},
	}
	if logout != "" {
		cav.Annotations = map[string]string{v1alpha1.AnnotationLogoutEndpoint: logout}
	}
	return cav
}

func TestRoutes(t *testing.T) {
	headers := map[string]string{
		v1alpha1.AnnotationVSRouteRequestHeaderSet:  `{"x-forwarded-proto":"https"}`,
		v1alpha1.AnnotationVSRouteResponseHeaderSet: `{"strict-transport-security":"max-age=31536000"}`,
	}
	affinity := map[string]string{v1alpha1.AnnotationEnableVersionAffinity: "true"}
	cases := map[string]struct {
		annotations map[string]string
		current     *v1alpha1.CAPApplicationVersion
		previous    []*v1alpha1.CAPApplicationVersion
		wantErr     string
	}{
		"single-route":          {current: routerCAV("cav-2", 0, "")},
		"single-route-headers":  {annotations: headers, current: routerCAV("cav-2", 4000, "")},
		"affinity":              {annotations: affinity, current: routerCAV("cav-3", 0, ""), previous: []*v1alpha1.CAPApplicationVersion{routerCAV("cav-1", 0, ""), routerCAV("cav-2", 0, "/my/logout"), routerCAV("cav-3", 0, "")}},
		"affinity-with-headers": {annotations: mergeMaps(affinity, headers), current: routerCAV("cav-2", 0, ""), previous: []*v1alpha1.CAPApplicationVersion{routerCAV("cav-1", 0, "")}},
		"invalid-header-json":   {annotations: map[string]string{v1alpha1.AnnotationVSRouteRequestHeaderSet: "{"}, current: routerCAV("cav-2", 0, ""), wantErr: "not a JSON object"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ca := &v1alpha1.CAPApplication{ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: tc.annotations}}
			cur, err := Router(tc.current)
			if err != nil {
				t.Fatal(err)
			}
			in := RouteInput{CA: ca, Current: cur}
			for _, p := range tc.previous {
				r, err := Router(p)
				if err != nil {
					t.Fatal(err)
				}
				in.Previous = append(in.Previous, r)
			}
			routes, err := Routes(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			golden.CheckNamed(t, "TestRoutes/"+name, routes)
		})
	}
	noRouter := &v1alpha1.CAPApplicationVersion{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	if _, err := Router(noRouter); err == nil {
		t.Error("a version without Router has a router target")
	}
}

// mergeMaps returns the union of two maps.
func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
