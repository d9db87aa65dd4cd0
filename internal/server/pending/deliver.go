package pending

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
	"github.com/capstan-io/capstan/internal/server/directory"
	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// deliver sends a claimed callback, retrying transient failures with capped backoff for up to
// sendWindow, then deletes the record. A send in progress is finished even during shutdown;
// between attempts a shutdown releases the claim so the next instance continues at once.
func (q *Queue) deliver(ctx context.Context, rec *Record) {
	logger := klog.FromContext(ctx)
	giveUp := time.Now().Add(sendWindow)
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*q.opts.ClientTimeout)
		err := q.send(sendCtx, rec)
		cancel()
		if err == nil {
			q.opts.Sent.WithLabelValues(rec.kind, rec.operation, rec.status, "sent").Inc()
			logger.Info("Callback sent", "status", rec.status, "attempt", attempt)
			q.Drop(context.WithoutCancel(ctx), rec)
			return
		}
		if errors.Is(err, errPermanent) || time.Now().Add(backoff).After(giveUp) {
			q.opts.Sent.WithLabelValues(rec.kind, rec.operation, rec.status, "failed").Inc()
			logger.Error(err, "Giving up on the callback", "status", rec.status, "attempts", attempt)
			q.Drop(context.WithoutCancel(ctx), rec)
			return
		}
		logger.Info("Callback failed; retrying", "err", err.Error(), "attempt", attempt, "backoff", backoff)
		if !sleepUntil(ctx, time.Now().Add(backoff)) {
			q.release(context.WithoutCancel(ctx), rec)
			return
		}
		backoff = min(2*backoff, maxSendBackoff)
		// Renew the claim; losing it means another instance took over.
		if renewed, err := q.renew(ctx, rec); err != nil || !renewed {
			logger.Info("Lost the claim on the callback", "err", err)
			return
		}
	}
}

// renew refreshes this instance's claim.
func (q *Queue) renew(ctx context.Context, rec *Record) (bool, error) {
	rec.claimedAt = time.Now()
	updated, err := q.updateRecord(ctx, rec)
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
func (q *Queue) release(ctx context.Context, rec *Record) {
	// Keep the decided status for the next holder by leaving the record "sending" with a claim
	// time in the past, which every instance treats as stale.
	rec.holder, rec.claimedAt = q.opts.Identity, time.Now().Add(-q.staleClaim())
	if _, err := q.updateRecord(ctx, rec); err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Releasing the callback failed")
	}
}

// send fetches a token with the service's credentials and PUTs the status to the callback URL.
func (q *Queue) send(ctx context.Context, rec *Record) error {
	ca, err := q.opts.Directory.App(ctx, rec.namespace, rec.appName)
	if errors.Is(err, directory.ErrNoApp) {
		return fmt.Errorf("%w: CAPApplication %s/%s is gone", errPermanent, rec.namespace, rec.appName)
	}
	if err != nil {
		return err
	}
	class, urlKey := directory.ClassSaaSRegistry, "saas_registry_url"
	if rec.kind == payload.KindSMS {
		class, urlKey = directory.ClassSubscriptionManager, "subscription_manager_url"
	}
	creds, err := q.opts.Directory.Credentials(ctx, ca, class)
	if err != nil {
		return err
	}
	base := directory.Str(creds, urlKey)
	if base == "" {
		return fmt.Errorf("%w: the %s credentials have no %s", errPermanent, class, urlKey)
	}
	token, err := q.opts.Callbacks.Token(ctx, callback.CredentialsFrom(creds))
	if err != nil {
		return err
	}
	return q.opts.Callbacks.Put(ctx, strings.TrimSuffix(base, "/")+rec.callbackPath, token, q.callbackBody(ctx, ca, rec))
}

// callbackBody builds the status message; provisioning adds the additional output and the
// application URL (subscriptionUrl for SaaS, applicationUrl for SMS).
func (q *Queue) callbackBody(ctx context.Context, ca *v1alpha1.CAPApplication, rec *Record) map[string]any {
	body := map[string]any{"status": rec.status, "message": describe(rec.operation, rec.status)}
	if rec.operation != OpProvisioning {
		return body
	}
	body["additionalOutput"] = q.opts.Directory.AdditionalOutput(ctx, ca, rec.tenantID)
	if rec.appURL != "" {
		if rec.kind == payload.KindSMS {
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
func (q *Queue) callbackTimeout(ctx context.Context, kind string, ca *v1alpha1.CAPApplication) time.Duration {
	class, key, path := directory.ClassSaaSRegistry, "appUrls", []string{"callbackTimeoutMillis"}
	if kind == payload.KindSMS {
		class, key, path = directory.ClassSubscriptionManager, "app_urls", []string{"subscriptionCallbacks", "async", "timeoutInMillis"}
	}
	creds, err := q.opts.Directory.Credentials(ctx, ca, class)
	if err != nil {
		return q.opts.DefaultCallbackTimeout
	}
	if ms, ok := millis(creds[key], path); ok && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return q.opts.DefaultCallbackTimeout
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
