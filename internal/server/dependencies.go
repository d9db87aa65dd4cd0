package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/server/directory"
	"github.com/capstan-io/capstan/internal/server/httperr"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Service classes that are reported as {"appName","appId"} dependencies.
var specialDependencyClasses = map[string]bool{"destination": true, "connectivity": true, "auditlog": true}

// saasDependencies handles GET /dependencies/{providerSubaccountId}/{appName}/.
func (s *Server) saasDependencies(w http.ResponseWriter, r *http.Request) {
	s.dependencies(w, r, payload.KindSaaS)
}

// smsDependencies handles GET /sms/dependencies/{providerSubaccountId}/{appName}/.
func (s *Server) smsDependencies(w http.ResponseWriter, r *http.Request) {
	s.dependencies(w, r, payload.KindSMS)
}

// dependencies answers the services a subscription depends on. Authentication failures (and
// an unknown application, which an unauthenticated caller must not tell apart) are 401, an
// ambiguous application 409, other failures 400.
func (s *Server) dependencies(w http.ResponseWriter, r *http.Request, kind string) {
	ctx := r.Context()
	deps, err := s.resolveDependencies(r, kind)
	if err != nil {
		code := http.StatusBadRequest
		var se *httperr.Error
		if errors.As(err, &se) && (se.Message == msgAuth || se.Code == http.StatusConflict) {
			code = se.Code
		}
		klog.FromContext(ctx).Info("Dependencies request failed", "code", code, "err", err.Error())
		msg := err.Error()
		if code == http.StatusUnauthorized {
			msg = msgAuth
		}
		http.Error(w, msg, code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if len(deps) == 0 {
		// An empty result is an empty body, as before (spec section 3).
		return
	}
	_ = json.NewEncoder(w).Encode(deps)
}

// resolveDependencies finds and authenticates the application, then lists its dependencies.
func (s *Server) resolveDependencies(r *http.Request, kind string) ([]map[string]string, error) {
	ctx := r.Context()
	account, appName := r.PathValue("account"), r.PathValue("appName")
	if account == "" || appName == "" {
		return nil, httperr.BadRequest("the path must name the provider account and the application")
	}
	c := callerOf(r, kind)
	if err := s.precheck(c, http.StatusUnauthorized); err != nil {
		return nil, err
	}
	apps, err := s.dir.FindApps([]string{account}, appName)
	if err != nil {
		return nil, err
	}
	ca, err := s.authenticateAny(ctx, c, apps, http.StatusUnauthorized, appDescription([]string{account}, appName))
	if err != nil {
		return nil, err
	}
	return s.dependencyList(ctx, ca)
}

// dependencyList applies the subscriptionDependency rules to every service of the CA.
func (s *Server) dependencyList(ctx context.Context, ca *v1alpha1.CAPApplication) ([]map[string]string, error) {
	var deps []map[string]string
	for _, svc := range ca.Spec.BTP.Services {
		mode := v1alpha1.SubscriptionDependencyAuto
		if svc.SubscriptionDependency != nil {
			mode = *svc.SubscriptionDependency
		}
		if mode == v1alpha1.SubscriptionDependencyNever {
			continue
		}
		entry, err := s.dir.Entry(ctx, ca, svc)
		if err != nil {
			return nil, err
		}
		creds, _ := entry["credentials"].(map[string]any)
		if mode != v1alpha1.SubscriptionDependencyAlways && !autoDependency(svc.Class, directory.Str(entry, "plan"), creds) {
			continue
		}
		xsappname := directory.Str(creds, "xsappname")
		if xsappname == "" {
			uaa, _ := creds["uaa"].(map[string]any)
			xsappname = directory.Str(uaa, "xsappname")
		}
		if xsappname == "" {
			continue
		}
		if specialDependencyClasses[svc.Class] {
			deps = append(deps, map[string]string{"appName": svc.Class, "appId": xsappname})
		} else {
			deps = append(deps, map[string]string{"xsappname": xsappname})
		}
	}
	return deps, nil
}

// autoDependency tells whether a service with subscriptionDependency Auto is a dependency.
func autoDependency(class, plan string, creds map[string]any) bool {
	switch {
	case class == "destination", class == "connectivity":
		return true
	case class == "auditlog" && plan == "oauth2":
		return true
	}
	switch v := creds["saasregistryenabled"].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}
