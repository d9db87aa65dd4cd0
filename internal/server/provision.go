package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// saasSubscribe handles PUT /provision/tenants/{tenantId}.
func (s *Server) saasSubscribe(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(r)
	if err == nil {
		var sub subscription
		if sub, err = decodeSaaS(data, false); err == nil {
			err = s.subscribe(w, r, sub)
		}
	}
	if err != nil {
		replyError(r.Context(), w, http.StatusNotAcceptable, err)
	}
}

// smsSubscribe handles PUT /sms/provision/tenants/{app_tid}.
func (s *Server) smsSubscribe(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(r)
	if err == nil {
		var sub subscription
		if sub, err = decodeSMS(data); err == nil {
			err = s.subscribe(w, r, sub)
		}
	}
	if err != nil {
		replyError(r.Context(), w, http.StatusNotAcceptable, err)
	}
}

// subscribe authenticates the caller against the application, records the pending callback,
// then creates or updates the tenant and answers 202. The record comes before the tenant, as
// on unsubscribe: if the server stops between the two writes, the next instance still sends
// the callback (FAILED when the tenant was never created) instead of losing it.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, sub subscription) error {
	ctx := r.Context()
	callbackPath := r.Header.Get(headerStatusCallback)
	if err := checkCallbackPath(callbackPath); err != nil {
		return err
	}
	c := callerOf(r, sub.kind)
	if err := s.precheck(c, http.StatusNotAcceptable); err != nil {
		return err
	}
	apps, err := s.findApps(sub.accounts, sub.appName)
	if err != nil {
		return err
	}
	ca, err := s.authenticateAny(ctx, c, apps, http.StatusNotAcceptable, appDescription(sub.accounts, sub.appName))
	if err != nil {
		return err
	}
	url, err := s.appURL(ca, sub.subdomain, sub.domain)
	if err != nil {
		return err
	}
	existing, err := s.appTenant(ca, sub.tenantID)
	if err != nil {
		return err
	}
	var rec *record
	if callbackPath != "" {
		target := existing
		if target == nil {
			target = newTenant(ca, sub, TenantName(ca.Name, sub.tenantID), "", "")
		}
		rec = newRecord(opProvisioning, sub.kind, ca, target, callbackPath, url, s.callbackTimeout(ctx, sub.kind, ca))
		if rec, err = s.createRecord(ctx, rec); err != nil {
			return err
		}
	}
	_, message, err := s.upsertTenant(ctx, ca, sub, existing)
	if err != nil {
		if rec != nil {
			s.dropRecord(context.WithoutCancel(ctx), rec)
		}
		return err
	}
	if rec != nil {
		s.startWorker(rec)
	}
	reply(w, http.StatusAccepted, message)
	return nil
}

// appDescription names an application lookup in messages.
func appDescription(accounts []string, appName string) string {
	return fmt.Sprintf("account %s and application %q", strings.Join(accounts, " or "), appName)
}

// saasUnsubscribe handles DELETE /provision/tenants/{tenantId}.
func (s *Server) saasUnsubscribe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data, err := readBody(r)
	var sub subscription
	if err == nil {
		sub, err = decodeSaaS(data, true)
	}
	if err == nil {
		if id := r.PathValue("tenantId"); id != sub.tenantID {
			err = badRequest("tenant id %q of the path differs from subscribedTenantId", id)
		}
	}
	var ca *v1alpha1.CAPApplication
	var cat *v1alpha1.CAPTenant
	if err == nil {
		ca, cat, err = s.saasTenantToDelete(ctx, callerOf(r, kindSaaS), sub)
	}
	if err == nil {
		err = s.unsubscribe(w, r, kindSaaS, ca, cat)
	}
	if err != nil {
		replyError(ctx, w, http.StatusNotAcceptable, err)
	}
}

// saasTenantToDelete finds and authenticates the tenant to delete: by subscription GUID and
// tenant id in any namespace, else through the application named in the payload. Only an
// authenticated caller learns that the tenant does not exist.
func (s *Server) saasTenantToDelete(ctx context.Context, c caller, sub subscription) (*v1alpha1.CAPApplication, *v1alpha1.CAPTenant, error) {
	if sub.guid != "" {
		cats, err := s.caches.tenantsWithGUID(sub.guid, sub.tenantID)
		if err != nil {
			return nil, nil, err
		}
		if len(cats) > 0 {
			return s.authenticateTenant(ctx, c, cats)
		}
	}
	apps, err := s.findApps(sub.accounts, sub.appName)
	if err != nil {
		return nil, nil, err
	}
	ca, err := s.authenticateAny(ctx, c, apps, http.StatusNotAcceptable, fmt.Sprintf("the tenant %s of %s", sub.tenantID, appDescription(sub.accounts, sub.appName)))
	if err != nil {
		return nil, nil, err
	}
	cat, err := s.appTenant(ca, sub.tenantID)
	if err == nil && cat == nil {
		err = fail(http.StatusNotFound, msgNotFound, nil)
	}
	return ca, cat, err
}

// authenticateTenant authenticates the caller against the applications of the tenants found
// for a request and returns the one tenant with its application; several are an ambiguity.
func (s *Server) authenticateTenant(ctx context.Context, c caller, cats []*v1alpha1.CAPTenant) (*v1alpha1.CAPApplication, *v1alpha1.CAPTenant, error) {
	var apps []*v1alpha1.CAPApplication
	tenantOf := map[*v1alpha1.CAPApplication]*v1alpha1.CAPTenant{}
	for _, cat := range cats {
		ca, err := s.getApp(ctx, cat.Namespace, cat.Spec.CAPApplicationInstance)
		if errors.Is(err, errNoApp) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		apps = append(apps, ca)
		tenantOf[ca] = cat
	}
	what := fmt.Sprintf("tenant %s with subscription %s", cats[0].Spec.TenantId, cats[0].Labels[v1alpha1.LabelSubscriptionGUID])
	ca, err := s.authenticateAny(ctx, c, apps, http.StatusNotAcceptable, what)
	if err != nil {
		return nil, nil, err
	}
	return ca, tenantOf[ca], nil
}

// smsUnsubscribe handles DELETE /sms/provision/tenants/{app_tid}?subscriptionGUID=...
func (s *Server) smsUnsubscribe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	guid := r.URL.Query().Get("subscriptionGUID")
	tenantID := r.PathValue("app_tid")
	c := callerOf(r, kindSMS)
	err := require(field{"query parameter subscriptionGUID", guid, labelValue}, field{"path tenant id", tenantID, labelValue})
	if err == nil {
		err = s.precheck(c, http.StatusNotAcceptable)
	}
	var cats []*v1alpha1.CAPTenant
	if err == nil {
		cats, err = s.caches.tenantsWithGUID(guid, tenantID)
	}
	if err == nil && len(cats) == 0 {
		// The caller holds a certificate of a trusted CA (precheck), so it may learn this.
		err = fail(http.StatusNotFound, msgNotFound, nil)
	}
	var ca *v1alpha1.CAPApplication
	var cat *v1alpha1.CAPTenant
	if err == nil {
		ca, cat, err = s.authenticateTenant(ctx, c, cats)
	}
	if err == nil {
		err = s.unsubscribe(w, r, kindSMS, ca, cat)
	}
	if err != nil {
		replyError(ctx, w, http.StatusNotAcceptable, err)
	}
}

// unsubscribe records the pending callback, deletes the authenticated tenant and answers 202.
// The record comes first: if the server stops between the two steps, the callback still
// reports (as a timeout failure) instead of being lost.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request, kind string, ca *v1alpha1.CAPApplication, cat *v1alpha1.CAPTenant) error {
	ctx := r.Context()
	callbackPath := r.Header.Get(headerStatusCallback)
	if err := checkCallbackPath(callbackPath); err != nil {
		return err
	}
	var rec *record
	var err error
	if callbackPath != "" {
		rec = newRecord(opDeprovisioning, kind, ca, cat, callbackPath, "", s.callbackTimeout(ctx, kind, ca))
		if rec, err = s.createRecord(ctx, rec); err != nil {
			return err
		}
	}
	if err := s.deleteTenant(ctx, cat); err != nil {
		if rec != nil {
			s.dropRecord(context.WithoutCancel(ctx), rec)
		}
		return err
	}
	if rec != nil {
		s.startWorker(rec)
	}
	klog.FromContext(ctx).V(2).Info("Unsubscribed", "tenant", klog.KObj(cat), "kind", kind)
	reply(w, http.StatusAccepted, msgDeleted)
	return nil
}
