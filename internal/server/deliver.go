package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/server/callback"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// deliver sends a claimed callback, retrying transient failures with capped backoff for up to
// sendWindow, then deletes the record. A send in progress is finished even during shutdown;
// between attempts a shutdown releases the claim so the next instance continues at once.
func (s *Server) deliver(ctx context.Context, rec *record) {
	logger := klog.FromContext(ctx)
	giveUp := time.Now().Add(sendWindow)
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.opts.ClientTimeout)
		err := s.send(sendCtx, rec)
		cancel()
		if err == nil {
			s.metrics.callbacks.WithLabelValues(rec.kind, rec.operation, rec.status, "sent").Inc()
			logger.Info("Callback sent", "status", rec.status, "attempt", attempt)
			s.dropRecord(context.WithoutCancel(ctx), rec)
			return
		}
		if errors.Is(err, errPermanent) || time.Now().Add(backoff).After(giveUp) {
			s.metrics.callbacks.WithLabelValues(rec.kind, rec.operation, rec.status, "failed").Inc()
			logger.Error(err, "Giving up on the callback", "status", rec.status, "attempts", attempt)
			s.dropRecord(context.WithoutCancel(ctx), rec)
			return
		}
		logger.Info("Callback failed; retrying", "err", err.Error(), "attempt", attempt, "backoff", backoff)
		if !sleepUntil(ctx, time.Now().Add(backoff)) {
			s.release(context.WithoutCancel(ctx), rec)
			return
		}
		backoff = min(2*backoff, maxSendBackoff)
		// Renew the claim; losing it means another instance took over.
		if renewed, err := s.renew(ctx, rec); err != nil || !renewed {
			logger.Info("Lost the claim on the callback", "err", err)
			return
		}
	}
}

// renew refreshes this instance's claim.
func (s *Server) renew(ctx context.Context, rec *record) (bool, error) {
	rec.claimedAt = time.Now()
	updated, err := s.updateRecord(ctx, rec)
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	*rec = *updated
	return true, nil
}

// release hands an unsent callback back, outcome kept, when this instance stops.
func (s *Server) release(ctx context.Context, rec *record) {
	// Keep the decided status for the next holder by leaving the record "sending" with a claim
	// time in the past, which every instance treats as stale.
	rec.holder, rec.claimedAt = s.opts.Identity, time.Now().Add(-s.staleClaim())
	if _, err := s.updateRecord(ctx, rec); err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Releasing the callback failed")
	}
}

// send fetches a token with the service's credentials and PUTs the status to the callback URL.
func (s *Server) send(ctx context.Context, rec *record) error {
	ca, err := s.getApp(ctx, rec.namespace, rec.appName)
	if errors.Is(err, errNoApp) {
		return fmt.Errorf("%w: CAPApplication %s/%s is gone", errPermanent, rec.namespace, rec.appName)
	}
	if err != nil {
		return err
	}
	class, urlKey := classSaaSRegistry, "saas_registry_url"
	if rec.kind == kindSMS {
		class, urlKey = classSubscriptionManager, "subscription_manager_url"
	}
	creds, err := s.credentials(ctx, ca, class)
	if err != nil {
		return err
	}
	base := str(creds, urlKey)
	if base == "" {
		return fmt.Errorf("%w: the %s credentials have no %s", errPermanent, class, urlKey)
	}
	token, err := s.callbacks.Token(ctx, callback.CredentialsFrom(creds))
	if err != nil {
		return err
	}
	return s.callbacks.Put(ctx, strings.TrimSuffix(base, "/")+rec.callbackPath, token, s.callbackBody(ctx, ca, rec))
}

// callbackBody builds the status message; provisioning adds the additional output and the
// application URL (subscriptionUrl for SaaS, applicationUrl for SMS).
func (s *Server) callbackBody(ctx context.Context, ca *v1alpha1.CAPApplication, rec *record) map[string]any {
	body := map[string]any{"status": rec.status, "message": describe(rec.operation, rec.status)}
	if rec.operation != opProvisioning {
		return body
	}
	body["additionalOutput"] = s.additionalOutput(ctx, ca, rec.tenantID)
	if rec.appURL != "" {
		if rec.kind == kindSMS {
			body["applicationUrl"] = rec.appURL
		} else {
			body["subscriptionUrl"] = rec.appURL
		}
	}
	return body
}

// callbackTimeout reads how long the caller waits for the callback: appUrls.callbackTimeoutMillis
// of the saas-registry credentials, or app_urls.subscriptionCallbacks.async.timeoutInMillis of
// the subscription-manager credentials; the default when absent or unreadable.
func (s *Server) callbackTimeout(ctx context.Context, kind string, ca *v1alpha1.CAPApplication) time.Duration {
	class, key, path := classSaaSRegistry, "appUrls", []string{"callbackTimeoutMillis"}
	if kind == kindSMS {
		class, key, path = classSubscriptionManager, "app_urls", []string{"subscriptionCallbacks", "async", "timeoutInMillis"}
	}
	creds, err := s.credentials(ctx, ca, class)
	if err != nil {
		return s.opts.DefaultCallbackTimeout
	}
	if ms, ok := millis(creds[key], path); ok && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return s.opts.DefaultCallbackTimeout
}

// millis follows path into v (an object, or a string holding JSON) and reads a number or a
// numeric string.
func millis(v any, path []string) (int64, bool) {
	for _, key := range path {
		if s, ok := v.(string); ok {
			var decoded any
			if json.Unmarshal([]byte(s), &decoded) != nil {
				return 0, false
			}
			v = decoded
		}
		m, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		v = m[key]
	}
	switch t := v.(type) {
	case float64:
		return int64(t), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		return n, err == nil
	}
	return 0, false
}
