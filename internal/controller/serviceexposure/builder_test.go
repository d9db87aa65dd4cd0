package serviceexposure

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/golden"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// servicesOnly loads the published services-only application and version.
func servicesOnly(t *testing.T) (*v1alpha1.CAPApplication, *v1alpha1.CAPApplicationVersion) {
	t.Helper()
	ca := &v1alpha1.CAPApplication{}
	cav := &v1alpha1.CAPApplicationVersion{}
	if err := yaml.UnmarshalStrict(examples.MustRead("services-only/capapplication.yaml"), ca); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(examples.MustRead("services-only/cav.yaml"), cav); err != nil {
		t.Fatal(err)
	}
	ca.UID, ca.Generation = "uid-ca", 1
	return ca, cav
}

// exampleDomains are the services-only application's two domains, resolved.
var exampleDomains = []domainref.DomainInfo{
	{Kind: v1alpha1.DomainRefKindDomain, Namespace: "default", Name: "cap-app-01-primary", Domain: "my.cluster.shoot.url.k8s.example.com",
		Gateway: "default/cap-app-01-primary-abcde", OwnerID: "Domain.default.cap-app-01-primary"},
	{Kind: v1alpha1.DomainRefKindClusterDomain, Name: "common-external-domain", Domain: "my.example.com",
		Gateway: "cap-operator/common-external-domain-fghij", OwnerID: "ClusterDomain.common-external-domain"},
}

// TestBuildVirtualServices renders the exposures of the services-only example into golden
// files, one per case and VirtualService.
func TestBuildVirtualServices(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		domains     []domainref.DomainInfo
	}{
		"services-only":            {domains: exampleDomains},
		"services-only-one-domain": {domains: exampleDomains[1:]},
		"services-only-with-headers": {domains: exampleDomains[:1], annotations: map[string]string{
			v1alpha1.AnnotationVSRouteRequestHeaderSet:  `{"x-forwarded-host": "api.example.com"}`,
			v1alpha1.AnnotationVSRouteResponseHeaderSet: `{"strict-transport-security": "max-age=31536000"}`,
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca, cav := servicesOnly(t)
			ca.Annotations = tc.annotations
			vss, err := BuildVirtualServices(ca, cav, tc.domains)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, vss)
		})
	}
}

// TestBuildVirtualServicesErrors checks that every bad spec is a SpecError naming the field.
func TestBuildVirtualServicesErrors(t *testing.T) {
	tests := map[string]struct {
		mutate    func(*v1alpha1.CAPApplication, *v1alpha1.CAPApplicationVersion)
		wantField string
		wantText  string
	}{
		"an unknown workload": {
			mutate: func(_ *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) {
				cav.Spec.ServiceExposures[0].Routes[0].WorkloadName = "nope"
			},
			wantField: "serviceExposures[0].routes[0].workloadName", wantText: `no workload "nope"`,
		},
		"a job workload": {
			mutate: func(_ *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) {
				cav.Spec.ServiceExposures[1].Routes[1].WorkloadName = "service-content"
			},
			wantField: "serviceExposures[1].routes[1].workloadName", wantText: "is not a deployment",
		},
		"a port the workload does not have": {
			mutate: func(_ *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) {
				cav.Spec.ServiceExposures[1].Routes[0].Port = 9999
			},
			wantField: "serviceExposures[1].routes[0].port", wantText: `port 9999 is not a port of workload "api" (ports [8000 8001])`,
		},
		"a subdomain exposed twice": {
			mutate: func(_ *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion) {
				cav.Spec.ServiceExposures[1].SubDomain = "service"
			},
			wantField: "serviceExposures[1].subDomain", wantText: "exposed twice",
		},
		"invalid header JSON": {
			mutate: func(ca *v1alpha1.CAPApplication, _ *v1alpha1.CAPApplicationVersion) {
				ca.Annotations = map[string]string{v1alpha1.AnnotationVSRouteRequestHeaderSet: "{not json"}
			},
			wantField: "metadata.annotations[sme.sap.com/vs-route-request-header-set]", wantText: "not a JSON object",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca, cav := servicesOnly(t)
			tc.mutate(ca, cav)
			_, err := BuildVirtualServices(ca, cav, exampleDomains)
			se, ok := err.(*SpecError)
			if !ok || !IsSpecError(err) {
				t.Fatalf("want a SpecError, got %v", err)
			}
			if se.Field != tc.wantField || !strings.Contains(se.Error(), tc.wantText) {
				t.Errorf("got %q, want field %q and %q", se.Error(), tc.wantField, tc.wantText)
			}
		})
	}
}

// TestBuildVirtualServicesDefaultPorts checks the default ports of CAP and Router workloads
// without ports, and that without domains nothing is exposed.
func TestBuildVirtualServicesDefaultPorts(t *testing.T) {
	tests := map[string]struct {
		workloadType v1alpha1.DeploymentType
		port         int32
		wantErr      bool
	}{
		"CAP listens on 4004":         {workloadType: v1alpha1.DeploymentCAP, port: 4004},
		"Router listens on 5000":      {workloadType: v1alpha1.DeploymentRouter, port: 5000},
		"Router does not listen 4004": {workloadType: v1alpha1.DeploymentRouter, port: 4004, wantErr: true},
		"Service has no default port": {workloadType: v1alpha1.DeploymentService, port: 4004, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ca, cav := servicesOnly(t)
			cav.Spec.Workloads[0].DeploymentDefinition.Ports = nil
			cav.Spec.Workloads[0].DeploymentDefinition.Type = tc.workloadType
			cav.Spec.ServiceExposures[0].Routes[0].Port = tc.port
			_, err := BuildVirtualServices(ca, cav, exampleDomains)
			if (err != nil) != tc.wantErr {
				t.Errorf("error %v, want error %v", err, tc.wantErr)
			}
		})
	}
	ca, cav := servicesOnly(t)
	if vss, err := BuildVirtualServices(ca, cav, nil); err != nil || len(vss) != 0 {
		t.Errorf("without domains want nothing, got %d, %v", len(vss), err)
	}
}
