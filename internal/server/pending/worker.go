package pending

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Callback statuses.
const (
	statusSucceeded = "SUCCEEDED"
	statusFailed    = "FAILED"
)

// Timing of the callback workers.
const (
	// recheckInterval re-evaluates a waiting callback even without a tenant event, a safety net
	// for missed notifications; the watch normally wakes the worker at once.
	recheckInterval = time.Minute
	// sendWindow is how long a claimed callback is retried before it is given up.
	sendWindow = 10 * time.Minute
	// maxSendBackoff caps the delay between send attempts.
	maxSendBackoff = time.Minute
	// createGrace is added to the request timeout before a provisioning record without its
	// tenant is decided FAILED: the request that wrote the record may still be creating it.
	createGrace = 5 * time.Second
)

// errPermanent marks send failures that retrying cannot fix.
var errPermanent = errors.New("permanent failure")

// staleClaim is how long a claim protects a record from other instances: longer than one
// send attempt (token plus callback), and renewed before each attempt.
func (q *Queue) staleClaim() time.Duration {
	return 2*q.opts.ClientTimeout + 30*time.Second
}

// Start runs the callback of a record in the background, once per record and process.
func (q *Queue) Start(rec *Record) {
	if _, loaded := q.active.LoadOrStore(rec.key(), true); loaded {
		return
	}
	q.workers.Add(1)
	q.opts.Pending.Inc()
	go func() {
		defer q.workers.Done()
		defer q.opts.Pending.Dec()
		defer q.active.Delete(rec.key())
		logger := klog.Background().WithValues("record", klog.KRef(rec.namespace, rec.name),
			"operation", rec.operation, "tenant", klog.KRef(rec.tenantNamespace, rec.tenantName))
		q.runWorker(klog.NewContext(q.ctx, logger), rec)
	}()
}

// runWorker waits for the outcome, claims the record and sends the callback. It returns
// without sending when the server stops (the record stays for the next instance) or when
// another instance took the record over.
func (q *Queue) runWorker(ctx context.Context, rec *Record) {
	for {
		status, ok := q.awaitOutcome(ctx, rec)
		if !ok {
			return
		}
		claimed, retryAt, err := q.claim(ctx, rec, status)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			klog.FromContext(ctx).Error(err, "Claiming the pending callback failed; retrying")
			retryAt = time.Now().Add(5 * time.Second)
		case claimed != nil:
			q.deliver(ctx, claimed)
			return
		case retryAt.IsZero():
			return // the record is gone: another instance sent the callback
		}
		if !sleepUntil(ctx, retryAt) {
			return
		}
	}
}

// awaitOutcome blocks until the operation has an outcome (or the record already carries one
// from an instance that stopped while sending). It reports false when ctx ends.
func (q *Queue) awaitOutcome(ctx context.Context, rec *Record) (string, bool) {
	if rec.state == stateSending && rec.status != "" {
		return rec.status, true
	}
	wake, cancel := q.opts.Directory.WatchTenant(rec.tenantNamespace, rec.tenantName)
	defer cancel()
	for {
		status, recheck := q.outcome(ctx, rec)
		if status != "" {
			return status, true
		}
		timer := time.NewTimer(max(time.Until(recheck), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return "", false
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// outcome decides the callback status from the tenant's state, "" while undecided, with the
// time to look again. Provisioning succeeds at Ready and fails at ProvisioningError or when the
// tenant does not exist once the request that records it could have created it (the record is
// written before the tenant); deprovisioning succeeds when the tenant is gone. Past the
// deadline it is a failure.
func (q *Queue) outcome(ctx context.Context, rec *Record) (string, time.Time) {
	recheck := time.Now().Add(recheckInterval)
	cat, err := q.currentTenant(ctx, rec)
	switch {
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Reading the tenant failed", "err", err.Error())
	case cat == nil && rec.operation == OpDeprovisioning:
		return statusSucceeded, time.Time{}
	case cat == nil:
		settled := rec.created.Add(q.opts.RequestTimeout + createGrace)
		if !time.Now().Before(settled) {
			klog.FromContext(ctx).Info("The tenant of the subscription does not exist")
			return statusFailed, time.Time{}
		}
		recheck = settled
	case rec.operation == OpProvisioning:
		switch cat.Status.State {
		case v1alpha1.CAPTenantStateReady:
			return statusSucceeded, time.Time{}
		case v1alpha1.CAPTenantStateProvisioningError:
			return statusFailed, time.Time{}
		}
	}
	if !time.Now().Before(rec.deadline) {
		klog.FromContext(ctx).Info("Tenant operation timed out", "deadline", rec.deadline)
		return statusFailed, time.Time{}
	}
	if rec.deadline.Before(recheck) {
		recheck = rec.deadline
	}
	return "", recheck
}

// currentTenant returns the recorded tenant (nil when it no longer exists). A miss in the cache
// is confirmed with the API server, since a tenant created moments ago may not be cached yet.
func (q *Queue) currentTenant(ctx context.Context, rec *Record) (*v1alpha1.CAPTenant, error) {
	cat, err := q.opts.Directory.Tenant(rec.tenantNamespace, rec.tenantName)
	if apierrors.IsNotFound(err) {
		cat, err = q.opts.SME.SmeV1alpha1().CAPTenants(rec.tenantNamespace).Get(ctx, rec.tenantName, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.tenantUID != "" && string(cat.UID) != rec.tenantUID {
		return nil, nil // a new tenant with the same name is another tenant
	}
	return cat, nil
}

// claim marks the record as being sent by this instance, with optimistic concurrency, so that
// two instances never both send it. It returns the claimed record; or, when another instance
// holds a fresh claim, when to look again; or neither when the record is gone.
func (q *Queue) claim(ctx context.Context, rec *Record, status string) (*Record, time.Time, error) {
	for {
		cur, err := q.getRecord(ctx, rec)
		if apierrors.IsNotFound(err) {
			return nil, time.Time{}, nil
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if cur.state == stateSending && cur.holder != q.opts.Identity {
			if until := cur.claimedAt.Add(q.staleClaim()); time.Now().Before(until) {
				return nil, until, nil
			}
			klog.FromContext(ctx).Info("Taking over a stale claim", "holder", cur.holder)
		}
		if cur.state == stateSending && cur.status != "" {
			status = cur.status // keep the outcome the previous holder decided
		}
		cur.state, cur.holder, cur.status, cur.claimedAt = stateSending, q.opts.Identity, status, time.Now()
		claimed, err := q.updateRecord(ctx, cur)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		*rec = *claimed
		return claimed, time.Time{}, nil
	}
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(max(time.Until(t), 0))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// describe returns the message of a callback.
func describe(operation, status string) string {
	verb := "Provisioning"
	if operation == OpDeprovisioning {
		verb = "Deprovisioning"
	}
	if status == statusSucceeded {
		return verb + " successful"
	}
	return verb + " failed"
}
