package tenant

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"

	istioapi "istio.io/api/networking/v1alpha3"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Version affinity: the cookie that pins a browser session to the version it started on.
const (
	AffinityCookie = "CAPOP_CAV"
	// defaultLogout matches the logout URLs of the application router.
	defaultLogout = "logout|logoff"
	// defaultRouterPort is the port of a Router workload that declares none.
	defaultRouterPort = 5000
)

// RouteError reports routes that cannot be built from the specs; retrying does not help until
// the CAPApplication or a version changes.
type RouteError struct{ msg string }

// Error implements error.
func (e *RouteError) Error() string { return e.msg }

// RouterTarget is where a version's tenant traffic goes: its Router workload's Service.
type RouterTarget struct {
	// Version is the CAPApplicationVersion name.
	Version string
	// Host is the cluster-local host of the Router's Service.
	Host string
	// Port is the Router's first port (5000 when it declares none).
	Port uint32
	// Logout is the regular expression of logout URLs (the version's logout-endpoint
	// annotation, quoted, else logout|logoff).
	Logout string
}

// Router returns the router target of a version.
func Router(cav *v1alpha1.CAPApplicationVersion) (RouterTarget, error) {
	for _, w := range cav.Spec.Workloads {
		d := w.DeploymentDefinition
		if d == nil || d.Type != v1alpha1.DeploymentRouter {
			continue
		}
		port := uint32(defaultRouterPort)
		if len(d.Ports) > 0 {
			port = uint32(d.Ports[0].Port)
		}
		logout := defaultLogout
		if ep := cav.Annotations[v1alpha1.AnnotationLogoutEndpoint]; ep != "" {
			logout = regexp.QuoteMeta(ep)
		}
		return RouterTarget{
			Version: cav.Name,
			Host:    workload.ServiceName(cav.Name, w.Name) + "." + cav.Namespace + ".svc.cluster.local",
			Port:    port, Logout: logout,
		}, nil
	}
	return RouterTarget{}, &RouteError{msg: fmt.Sprintf("CAPApplicationVersion %s has no Router workload", cav.Name)}
}

// RouteInput is what a tenant's routes depend on.
type RouteInput struct {
	// CA is the application (header and version-affinity annotations are read).
	CA *v1alpha1.CAPApplication
	// Current is the router of the tenant's current version.
	Current RouterTarget
	// Previous are the routers of the tenant's earlier versions that still exist, oldest
	// first; used with version affinity only.
	Previous []RouterTarget
}

// Routes returns the HTTP routes of a tenant's VirtualService. Without version affinity, one
// route sends everything to the current version's router with the application's header
// operations. With affinity (annotation enable-version-affinity "true"), a session that
// carries the CAPOP_CAV cookie of an earlier version stays on that version's router: per
// version (previous ones first, then the current) a logout route that clears the cookie, then
// per version a cookie route, then a default route to the current version that sets the
// cookie.
func Routes(in RouteInput) ([]*istioapi.HTTPRoute, error) {
	request, response, err := headerSets(in.CA)
	if err != nil {
		return nil, err
	}
	if in.CA.Annotations[v1alpha1.AnnotationEnableVersionAffinity] != "true" {
		return []*istioapi.HTTPRoute{{
			Match: []*istioapi.HTTPMatchRequest{prefixMatch()},
			Route: []*istioapi.HTTPRouteDestination{destination(in.Current, headers(request, response, nil))},
		}}, nil
	}
	targets := affinityTargets(in)
	routes := make([]*istioapi.HTTPRoute, 0, 2*len(targets)+1)
	for _, t := range targets {
		clear := map[string]string{"Set-Cookie": fmt.Sprintf("%s=%s;Path=/;HttpOnly;Secure;Max-Age=0", AffinityCookie, t.Version)}
		match := cookieMatch(t)
		match.Uri = &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Regex{Regex: "^|.*(" + t.Logout + ").*"}}
		routes = append(routes, &istioapi.HTTPRoute{
			Match:   []*istioapi.HTTPMatchRequest{match},
			Route:   []*istioapi.HTTPRouteDestination{destination(t, nil)},
			Headers: headers(request, maps.Collect(concat(maps.All(response), maps.All(clear))), nil),
		})
	}
	for _, t := range targets {
		routes = append(routes, &istioapi.HTTPRoute{
			Match:   []*istioapi.HTTPMatchRequest{cookieMatch(t)},
			Route:   []*istioapi.HTTPRouteDestination{destination(t, nil)},
			Headers: headers(request, response, nil),
		})
	}
	set := map[string]string{"Set-Cookie": fmt.Sprintf("%s=%s;Path=/;HttpOnly;Secure", AffinityCookie, in.Current.Version)}
	routes = append(routes, &istioapi.HTTPRoute{
		Match:   []*istioapi.HTTPMatchRequest{prefixMatch()},
		Route:   []*istioapi.HTTPRouteDestination{destination(in.Current, nil)},
		Headers: headers(request, response, set),
	})
	return routes, nil
}

// affinityTargets returns the previous versions, without repetitions and without the
// current one, followed by the current version.
func affinityTargets(in RouteInput) []RouterTarget {
	seen := map[string]bool{in.Current.Version: true}
	out := make([]RouterTarget, 0, len(in.Previous)+1)
	for _, p := range in.Previous {
		if !seen[p.Version] {
			seen[p.Version] = true
			out = append(out, p)
		}
	}
	return append(out, in.Current)
}

// concat chains two map iterators; the second wins on equal keys when collected.
func concat(a, b func(func(string, string) bool)) func(func(string, string) bool) {
	return func(yield func(string, string) bool) {
		for k, v := range a {
			if !yield(k, v) {
				return
			}
		}
		for k, v := range b {
			if !yield(k, v) {
				return
			}
		}
	}
}

// prefixMatch matches every request.
func prefixMatch() *istioapi.HTTPMatchRequest {
	return &istioapi.HTTPMatchRequest{Uri: &istioapi.StringMatch{MatchType: &istioapi.StringMatch_Prefix{Prefix: "/"}}}
}

// cookieMatch matches requests carrying a version's affinity cookie.
func cookieMatch(t RouterTarget) *istioapi.HTTPMatchRequest {
	regex := fmt.Sprintf("(^|.*; )%s=%s($|; .*)", AffinityCookie, regexp.QuoteMeta(t.Version))
	return &istioapi.HTTPMatchRequest{Headers: map[string]*istioapi.StringMatch{
		// Istio requires lower-case header names in matches.
		"cookie": {MatchType: &istioapi.StringMatch_Regex{Regex: regex}},
	}}
}

// destination routes all traffic of a route to a router.
func destination(t RouterTarget, h *istioapi.Headers) *istioapi.HTTPRouteDestination {
	return &istioapi.HTTPRouteDestination{
		Destination: &istioapi.Destination{Host: t.Host, Port: &istioapi.PortSelector{Number: t.Port}},
		Weight:      100,
		Headers:     h,
	}
}

// headers returns the header operations, nil when there are none.
func headers(requestSet, responseSet, responseAdd map[string]string) *istioapi.Headers {
	if len(requestSet) == 0 && len(responseSet) == 0 && len(responseAdd) == 0 {
		return nil
	}
	h := &istioapi.Headers{}
	if len(requestSet) > 0 {
		h.Request = &istioapi.Headers_HeaderOperations{Set: requestSet}
	}
	if len(responseSet) > 0 || len(responseAdd) > 0 {
		h.Response = &istioapi.Headers_HeaderOperations{Set: responseSet, Add: responseAdd}
	}
	return h
}

// headerSets reads the application's request and response header annotations (JSON objects
// of header names to values).
func headerSets(ca *v1alpha1.CAPApplication) (request, response map[string]string, err error) {
	parse := func(annotation string) (map[string]string, error) {
		raw, ok := ca.Annotations[annotation]
		if !ok {
			return nil, nil
		}
		m := map[string]string{}
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, &RouteError{msg: fmt.Sprintf("annotation %s of CAPApplication %s is not a JSON object of strings: %v", annotation, ca.Name, err)}
		}
		return m, nil
	}
	if request, err = parse(v1alpha1.AnnotationVSRouteRequestHeaderSet); err != nil {
		return nil, nil, err
	}
	response, err = parse(v1alpha1.AnnotationVSRouteResponseHeaderSet)
	return request, response, err
}
