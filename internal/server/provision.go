package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/server/directory"
	"github.com/capstan-io/capstan/internal/server/httperr"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/internal/server/pending"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// saasSubscribe handles PUT /provision/tenants/{tenantId}.
func (s *Server) saasSubscribe(w http.ResponseWriter, r *http.Request) {
	data, err := payload.ReadBody(r)
	if err == nil {
		var sub payload.Subscription
		if sub, err = payload.DecodeSaaS(data, false); err == nil {
			err = s.subscribe(w, r, sub)
		}
	}
	if err != nil {
		replyError(r.Context(), w, http.StatusNotAcceptable, err)
	}
}

// smsSubscribe handles PUT /sms/provision/tenants/{app_tid}.
func (s *Server) smsSubscribe(w http.ResponseWriter, r *http.Request) {
	data, err := payload.ReadBody(r)
	if err == nil {
		var sub payload.Subscription
		if sub, err = payload.DecodeSMS(data); err == nil {
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
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, sub payload.Subscription) error {
	ctx := r.Context()
	callbackPath := r.Header.Get(payload.HeaderStatusCallback)
	if err := payload.CheckCallbackPath(callbackPath); err != nil {
		return err
	}
	c := callerOf(r, sub.Kind)
	if err := s.precheck(c, http.StatusNotAcceptable); err != nil {
		return err
	}
	apps, err := s.dir.FindApps(sub.Accounts, sub.AppName)
	if err != nil {
		return err
	}
	ca, err := s.authenticateAny(ctx, c, apps, http.StatusNotAcceptable, appDescription(sub.Accounts, sub.AppName))
	if err != nil {
		return err
	}
	url, err := s.dir.AppURL(ca, sub.Subdomain, sub.Domain)
	if err != nil {
		return err
	}
	existing, err := s.appTenant(ca, sub.TenantID)
	if err != nil {
		return err
	}
	var rec *pending.Record
	if callbackPath != "" {
		target := existing
		if target == nil {
			target = newTenant(ca, sub, TenantName(ca.Name, sub.TenantID), "", "")
		}
		if rec, err = s.pending.Create(ctx, pending.OpProvisioning, sub.Kind, ca, target, callbackPath, url); err != nil {
			return err
		}
	}
	_, message, err := s.upsertTenant(ctx, ca, sub, existing)
	if err != nil {
		if rec != nil {
			s.pending.Drop(context.WithoutCancel(ctx), rec)
		}
		return err
	}
	if rec != nil {
		s.pending.Start(rec)
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
	data, err := payload.ReadBody(r)
	var sub payload.Subscription
	if err == nil {
		sub, err = payload.DecodeSaaS(data, true)
	}
	if err == nil {
		if id := r.PathValue("tenantId"); id != sub.TenantID {
			err = httperr.BadRequest("tenant id %q of the path differs from subscribedTenantId", id)
		}
	}
	var ca *v1alpha1.CAPApplication
	var cat *v1alpha1.CAPTenant
	if err == nil {
		ca, cat, err = s.saasTenantToDelete(ctx, callerOf(r, payload.KindSaaS), sub)
	}
	if err == nil {
		err = s.unsubscribe(w, r, payload.KindSaaS, ca, cat)
	}
	if err != nil {
		replyError(ctx, w, http.StatusNotAcceptable, err)
	}
}

// saasTenantToDelete finds and authenticates the tenant to delete: by subscription GUID and
// tenant id in any namespace, else through the application named in the payload. Only an
// authenticated caller learns that the tenant does not exist.
func (s *Server) saasTenantToDelete(ctx context.Context, c caller, sub payload.Subscription) (*v1alpha1.CAPApplication, *v1alpha1.CAPTenant, error) {
	if sub.GUID != "" {
		cats, err := s.dir.TenantsWithGUID(sub.GUID, sub.TenantID)
		if err != nil {
			return nil, nil, err
		}
		if len(cats) > 0 {
			return s.authenticateTenant(ctx, c, cats)
		}
	}
	apps, err := s.dir.FindApps(sub.Accounts, sub.AppName)
	if err != nil {
		return nil, nil, err
	}
	ca, err := s.authenticateAny(ctx, c, apps, http.StatusNotAcceptable, fmt.Sprintf("the tenant %s of %s", sub.TenantID, appDescription(sub.Accounts, sub.AppName)))
	if err != nil {
		return nil, nil, err
	}
	cat, err := s.appTenant(ca, sub.TenantID)
	if err == nil && cat == nil {
		err = httperr.New(http.StatusNotFound, msgNotFound, nil)
	}
	return ca, cat, err
}

// authenticateTenant authenticates the caller against the applications of the tenants found
// for a request and returns the one tenant with its application; several are an ambiguity.
func (s *Server) authenticateTenant(ctx context.Context, c caller, cats []*v1alpha1.CAPTenant) (*v1alpha1.CAPApplication, *v1alpha1.CAPTenant, error) {
	var apps []*v1alpha1.CAPApplication
	tenantOf := map[*v1alpha1.CAPApplication]*v1alpha1.CAPTenant{}
	for _, cat := range cats {
		ca, err := s.dir.App(ctx, cat.Namespace, cat.Spec.CAPApplicationInstance)
		if errors.Is(err, directory.ErrNoApp) {
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
	c := callerOf(r, payload.KindSMS)
	err := payload.Require(payload.Field{Path: "query parameter subscriptionGUID", Value: guid, Check: payload.LabelValue}, payload.Field{Path: "path tenant id", Value: tenantID, Check: payload.LabelValue})
	if err == nil {
		err = s.precheck(c, http.StatusNotAcceptable)
	}
	var cats []*v1alpha1.CAPTenant
	if err == nil {
		cats, err = s.dir.TenantsWithGUID(guid, tenantID)
	}
	if err == nil && len(cats) == 0 {
		// The caller holds a certificate of a trusted CA (precheck), so it may learn this.
		err = httperr.New(http.StatusNotFound, msgNotFound, nil)
	}
	var ca *v1alpha1.CAPApplication
	var cat *v1alpha1.CAPTenant
	if err == nil {
		ca, cat, err = s.authenticateTenant(ctx, c, cats)
	}
	if err == nil {
		err = s.unsubscribe(w, r, payload.KindSMS, ca, cat)
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
	callbackPath := r.Header.Get(payload.HeaderStatusCallback)
	if err := payload.CheckCallbackPath(callbackPath); err != nil {
		return err
	}
	var rec *pending.Record
	var err error
	if callbackPath != "" {
		if rec, err = s.pending.Create(ctx, pending.OpDeprovisioning, kind, ca, cat, callbackPath, ""); err != nil {
			return err
		}
	}
	if err := s.deleteTenant(ctx, cat); err != nil {
		if rec != nil {
			s.pending.Drop(context.WithoutCancel(ctx), rec)
		}
		return err
	}
	if rec != nil {
		s.pending.Start(rec)
	}
	klog.FromContext(ctx).V(2).Info("Unsubscribed", "tenant", klog.KObj(cat), "kind", kind)
	reply(w, http.StatusAccepted, msgDeleted)
	return nil
}
