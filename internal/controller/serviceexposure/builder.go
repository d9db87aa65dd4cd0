// Package serviceexposure maintains the VirtualServices of a CAPApplication's service
// exposures: one per serviceExposures[].subDomain of the latest Ready
// CAPApplicationVersion, routing paths to workload ports on every referenced domain
// (specification section 2.7). The CAPApplication controller calls it.
package serviceexposure

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	istioapi "istio.io/api/networking/v1alpha3"
	istionetworkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/domainref"
	"github.com/capstan-io/capstan/internal/identity"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Default ports of deployment workloads that declare none.
const (
	defaultCAPPort    = 4004
	defaultRouterPort = 5000
)

// SpecError reports a service exposure that cannot be built from the specs: retrying does
// not help until the CAPApplication or the version changes.
type SpecError struct {
	// Field is the path of the offending field, e.g. "serviceExposures[1].routes[0].port".
	Field string
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *SpecError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *SpecError) Unwrap() error { return e.Err }

// OwnerID is the owner identifier of an application's exposure VirtualServices.
func OwnerID(ca *v1alpha1.CAPApplication) string {
	return "CAPApplication." + ca.Namespace + "." + ca.Name
}

// OwnerHash is the owner-identifier-hash label of an application's exposure VirtualServices.
func OwnerHash(ca *v1alpha1.CAPApplication) string {
	return identity.ExposureOwnerHash(ca.Namespace, ca.Name)
}

// ServiceHost is the cluster-local host of a workload's Service: "<cav>-<workload>-svc"
// lower-cased, in the application's namespace.
func ServiceHost(cav *v1alpha1.CAPApplicationVersion, workloadName string) string {
	return strings.ToLower(cav.Name+"-"+workloadName) + "-svc." + cav.Namespace + ".svc.cluster.local"
}

// BuildVirtualServices returns the desired VirtualService of every service exposure of cav,
// in spec order, each with hosts "<subDomain>.<domain>" and the gateways of the domains.
// The objects have a generateName, the owner labels and annotations and a controller
// reference to ca. Without domains there is nothing to expose and the result is empty.
func BuildVirtualServices(ca *v1alpha1.CAPApplication, cav *v1alpha1.CAPApplicationVersion, domains []domainref.DomainInfo) ([]*istionetworkingv1.VirtualService, error) {
	headers, err := destinationHeaders(ca)
	if err != nil {
		return nil, err
	}
	if len(domains) == 0 {
		return nil, nil
	}
	out := make([]*istionetworkingv1.VirtualService, 0, len(cav.Spec.ServiceExposures))
	seen := map[string]bool{}
	for i, exp := range cav.Spec.ServiceExposures {
		field := fmt.Sprintf("serviceExposures[%d]", i)
		if seen[exp.SubDomain] {
			return nil, &SpecError{Field: field + ".subDomain", Err: fmt.Errorf("subdomain %q is exposed twice", exp.SubDomain)}
		}
		seen[exp.SubDomain] = true
		routes, err := httpRoutes(cav, exp, field, headers)
		if err != nil {
			return nil, err
		}
		out = append(out, newVirtualService(ca, exp.SubDomain, domains, routes))
	}
	return out, nil
}

// newVirtualService assembles one exposure's VirtualService.
func newVirtualService(ca *v1alpha1.CAPApplication, subDomain string, domains []domainref.DomainInfo, routes []*istioapi.HTTPRoute) *istionetworkingv1.VirtualService {
	vs := &istionetworkingv1.VirtualService{}
	vs.Spec.Hosts = domainref.Hosts(subDomain, domains)
	vs.Spec.Gateways = domainref.Gateways(domains)
	vs.Spec.Http = routes
	vs.ObjectMeta = metav1.ObjectMeta{
		Namespace: ca.Namespace,
		// No dash: the previous implementation's names are "<caName><random>".
		GenerateName: ca.Name,
		Labels: map[string]string{
			v1alpha1.LabelOwnerIdentifierHash: OwnerHash(ca),
			v1alpha1.LabelOwnerGeneration:     strconv.FormatInt(ca.Generation, 10),
		},
		Annotations: map[string]string{
			v1alpha1.AnnotationOwnerIdentifier: OwnerID(ca),
			v1alpha1.AnnotationResourceHash:    controller.SpecHash(&vs.Spec),
		},
		OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(ca, v1alpha1.SchemeGroupVersion.WithKind("CAPApplication")),
		},
	}
	return vs
}

// httpRoutes builds the routes of one exposure in spec order, checking that each names a
// deployment workload of the version and one of its ports.
func httpRoutes(cav *v1alpha1.CAPApplicationVersion, exp v1alpha1.ServiceExposure, field string, headers *istioapi.Headers) ([]*istioapi.HTTPRoute, error) {
	routes := make([]*istioapi.HTTPRoute, 0, len(exp.Routes))
	for j, route := range exp.Routes {
		routeField := fmt.Sprintf("%s.routes[%d]", field, j)
		ports, err := workloadPorts(cav, route.WorkloadName)
		if err != nil {
			return nil, &SpecError{Field: routeField + ".workloadName", Err: err}
		}
		if !slices.Contains(ports, route.Port) {
			return nil, &SpecError{Field: routeField + ".port", Err: fmt.Errorf(
				"port %d is not a port of workload %q (ports %v)", route.Port, route.WorkloadName, ports)}
		}
		path := route.Path
		if path == "" {
			path = "/"
		}
		routes = append(routes, &istioapi.HTTPRoute{
			Match: []*istioapi.HTTPMatchRequest{{Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: path}}}},
			Route: []*istioapi.HTTPRouteDestination{{
				Destination: &istioapi.Destination{
					Host: ServiceHost(cav, route.WorkloadName),
					Port: &istioapi.PortSelector{Number: uint32(route.Port)},
				},
				Headers: headers,
			}},
		})
	}
	return routes, nil
}

// workloadPorts returns the ports of a deployment workload of the version; a CAP or Router
// workload without ports listens on its default port.
func workloadPorts(cav *v1alpha1.CAPApplicationVersion, name string) ([]int32, error) {
	for _, w := range cav.Spec.Workloads {
		if w.Name != name {
			continue
		}
		d := w.DeploymentDefinition
		if d == nil {
			return nil, fmt.Errorf("workload %q is not a deployment", name)
		}
		ports := make([]int32, 0, len(d.Ports))
		for _, p := range d.Ports {
			ports = append(ports, p.Port)
		}
		if len(ports) == 0 {
			switch d.Type {
			case v1alpha1.DeploymentCAP:
				ports = append(ports, defaultCAPPort)
			case v1alpha1.DeploymentRouter:
				ports = append(ports, defaultRouterPort)
			}
		}
		return ports, nil
	}
	return nil, fmt.Errorf("no workload %q in CAPApplicationVersion %s", name, cav.Name)
}

// destinationHeaders reads the header operations the application's annotations ask for;
// nil when there are none.
func destinationHeaders(ca *v1alpha1.CAPApplication) (*istioapi.Headers, error) {
	request, err := headerSet(ca, v1alpha1.AnnotationVSRouteRequestHeaderSet)
	if err != nil {
		return nil, err
	}
	response, err := headerSet(ca, v1alpha1.AnnotationVSRouteResponseHeaderSet)
	if err != nil {
		return nil, err
	}
	if request == nil && response == nil {
		return nil, nil
	}
	return &istioapi.Headers{Request: request, Response: response}, nil
}

// headerSet parses one header annotation, a JSON object of header names to values.
func headerSet(ca *v1alpha1.CAPApplication, annotation string) (*istioapi.Headers_HeaderOperations, error) {
	raw, ok := ca.Annotations[annotation]
	if !ok {
		return nil, nil
	}
	set := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return nil, &SpecError{Field: "metadata.annotations[" + annotation + "]", Err: fmt.Errorf("not a JSON object of strings: %w", err)}
	}
	return &istioapi.Headers_HeaderOperations{Set: set}, nil
}
