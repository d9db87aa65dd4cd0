package server

import (
	"context"
	"errors"
	"net/http"

	"k8s.io/apimachinery/pkg/labels"
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

// subscribe creates or updates the tenant, records the pending callback and answers 202.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, sub subscription) error {
	ctx := r.Context()
	callbackPath := r.Header.Get(headerStatusCallback)
	if err := checkCallbackPath(callbackPath); err != nil {
		return err
	}
	ca, err := s.findApp(ctx, sub.accounts, sub.appName)
	if err != nil {
		return err
	}
	if err := s.authenticate(ctx, sub.kind, ca, r.Header.Get("Authorization"), r.Header.Get(headerClientCert), http.StatusNotAcceptable); err != nil {
		return err
	}
	url, err := s.appURL(ctx, ca, sub.subdomain, sub.domain)
	if err != nil {
		return err
	}
	cat, message, err := s.upsertTenant(ctx, ca, sub)
	if err != nil {
		return err
	}
	if callbackPath != "" {
		rec := newRecord(opProvisioning, sub.kind, ca, cat, callbackPath, url, s.callbackTimeout(ctx, sub.kind, ca))
		if err := s.enqueue(ctx, rec); err != nil {
			return err
		}
	}
	reply(w, http.StatusAccepted, message)
	return nil
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
	var cat *v1alpha1.CAPTenant
	if err == nil {
		cat, err = s.saasTenantToDelete(ctx, sub)
	}
	if err == nil {
		err = s.unsubscribe(w, r, kindSaaS, cat)
	}
	if err != nil {
		replyError(ctx, w, http.StatusNotAcceptable, err)
	}
}

// saasTenantToDelete finds the tenant by subscription GUID and tenant id in any namespace, else
// through the application named in the payload.
func (s *Server) saasTenantToDelete(ctx context.Context, sub subscription) (*v1alpha1.CAPTenant, error) {
	if sub.guid != "" {
		cat, err := s.tenantByGUID(ctx, sub.guid, sub.tenantID)
		if err != nil || cat != nil {
			return cat, err
		}
	}
	if sub.appName == "" || len(sub.accounts) == 0 {
		return nil, fail(http.StatusNotFound, msgNotFound, nil)
	}
	ca, err := s.findApp(ctx, sub.accounts, sub.appName)
	if errors.Is(err, errNoApp) {
		return nil, fail(http.StatusNotFound, msgNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	cat, err := s.appTenant(ctx, ca, sub.tenantID)
	if err == nil && cat == nil {
		err = fail(http.StatusNotFound, msgNotFound, nil)
	}
	return cat, err
}

// tenantByGUID finds a tenant by subscription GUID and tenant id in any namespace.
func (s *Server) tenantByGUID(ctx context.Context, guid, tenantID string) (*v1alpha1.CAPTenant, error) {
	return s.listTenants(ctx, "", labels.Set{
		v1alpha1.LabelSubscriptionGUID:    guid,
		v1alpha1.LabelBTPTenantIdentifier: tenantID,
	})
}

// smsUnsubscribe handles DELETE /sms/provision/tenants/{app_tid}?subscriptionGUID=...
func (s *Server) smsUnsubscribe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	guid := r.URL.Query().Get("subscriptionGUID")
	tenantID := r.PathValue("app_tid")
	err := require(field{"query parameter subscriptionGUID", guid, true}, field{"path tenant id", tenantID, true})
	var cat *v1alpha1.CAPTenant
	if err == nil {
		cat, err = s.tenantByGUID(ctx, guid, tenantID)
	}
	if err == nil && cat == nil {
		err = fail(http.StatusNotFound, msgNotFound, nil)
	}
	if err == nil {
		err = s.unsubscribe(w, r, kindSMS, cat)
	}
	if err != nil {
		replyError(ctx, w, http.StatusNotAcceptable, err)
	}
}

// unsubscribe authenticates against the tenant's application, records the pending callback,
// deletes the tenant and answers 202. The record comes first: if the server stops between the
// two steps, the callback still reports (as a timeout failure) instead of being lost.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request, kind string, cat *v1alpha1.CAPTenant) error {
	ctx := r.Context()
	callbackPath := r.Header.Get(headerStatusCallback)
	if err := checkCallbackPath(callbackPath); err != nil {
		return err
	}
	ca, err := s.getApp(ctx, cat.Namespace, cat.Spec.CAPApplicationInstance)
	if err != nil {
		return err
	}
	if err := s.authenticate(ctx, kind, ca, r.Header.Get("Authorization"), r.Header.Get(headerClientCert), http.StatusNotAcceptable); err != nil {
		return err
	}
	var rec *record
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
