package versioncleanup

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// sync evaluates one candidate version and deletes it when its rules allow and the
// application's mode is "true". Rules that cannot be evaluated are not an error of the sync:
// the version is kept, an event says why, and the next interval evaluates it again.
func (ctl *Controller) sync(ctx context.Context, key cache.ObjectName) error {
	logger := klog.FromContext(ctx).WithValues("version", key.String())
	cav, ca, mode, err := ctl.current(key)
	if err != nil || cav == nil {
		return err
	}
	verdict := ctl.evaluator(ctx).Evaluate(ctx, cav)
	ctl.metrics.evaluations.WithLabelValues(ca.Namespace, ca.Name, string(mode), string(verdict.Result)).Inc()
	switch verdict.Result {
	case ResultInUse:
		logger.V(2).Info("Version still in use", "reason", verdict.Message())
		return nil
	case ResultFailed:
		logger.Info("Deletion rule not evaluated; version kept", "reason", verdict.Message())
		ctl.c.Recorder.Eventf(cav, ca, corev1.EventTypeWarning, ReasonDeletionRuleFailed, eventAction,
			"Version %s is kept: %s; it is evaluated again in %s", cav.Spec.Version, verdict.Message(), ctl.interval)
		return nil
	}
	// The queries took time: make sure the version is still a candidate before acting.
	cav, ca, mode, err = ctl.current(key)
	if err != nil || cav == nil {
		return err
	}
	if mode == ModeDryRun {
		ctl.c.Recorder.Eventf(cav, ca, corev1.EventTypeNormal, ReasonReadyForDeletion, eventAction,
			"Version %s is no longer used (%s); not deleted because %s is dry-run", cav.Spec.Version, verdict.Message(), v1alpha1.AnnotationEnableCleanupMonitoring)
		return nil
	}
	ctl.c.Recorder.Eventf(cav, ca, corev1.EventTypeNormal, ReasonReadyForDeletion, eventAction,
		"Version %s is no longer used (%s); deleting it", cav.Spec.Version, verdict.Message())
	return ctl.delete(ctx, cav, ca)
}

// current returns the version behind key with its application and the application's mode
// when the version is (still) a candidate for deletion, else a nil version.
func (ctl *Controller) current(key cache.ObjectName) (*v1alpha1.CAPApplicationVersion, *v1alpha1.CAPApplication, Mode, error) {
	cav, err := ctl.cavs.CAPApplicationVersions(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil, ModeOff, nil
	} else if err != nil {
		return nil, nil, ModeOff, err
	}
	ca, err := ctl.cas.CAPApplications(cav.Namespace).Get(cav.Spec.CAPApplicationInstance)
	if apierrors.IsNotFound(err) {
		return nil, nil, ModeOff, nil
	} else if err != nil {
		return nil, nil, ModeOff, err
	}
	mode, err := ModeOf(ca)
	if err != nil || mode == ModeOff || ca.DeletionTimestamp != nil {
		// An invalid annotation is reported on each pass by enqueueCandidates.
		return nil, nil, ModeOff, nil
	}
	versions, tenants, err := ctl.appObjects(ca)
	if err != nil {
		return nil, nil, ModeOff, err
	}
	if why := Exclusion(cav, versions, tenants); why != "" {
		klog.V(2).InfoS("Version is not a deletion candidate", "version", klog.KObj(cav), "reason", why)
		return nil, nil, ModeOff, nil
	}
	return cav, ca, mode, nil
}

// evaluator returns an evaluator using the Prometheus client, if one can be had.
func (ctl *Controller) evaluator(ctx context.Context) *Evaluator {
	e := &Evaluator{Timeout: ctl.timeout, Now: ctl.c.Clock.Now}
	if api, why := ctl.prom.get(ctx); api != nil {
		e.Prometheus = api
	} else {
		e.Unavailable = why
	}
	return e
}

// delete deletes the version as evaluated: the preconditions make the API server refuse if
// it was replaced or changed since, and the next interval evaluates it again.
func (ctl *Controller) delete(ctx context.Context, cav *v1alpha1.CAPApplicationVersion, ca *v1alpha1.CAPApplication) error {
	err := ctl.c.Clients.SME.SmeV1alpha1().CAPApplicationVersions(cav.Namespace).Delete(ctx, cav.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &cav.UID, ResourceVersion: &cav.ResourceVersion},
	})
	switch {
	case err == nil:
		ctl.metrics.deletions.WithLabelValues(ca.Namespace, ca.Name, deletionDeleted).Inc()
		klog.FromContext(ctx).Info("Deleted unused version", "version", klog.KObj(cav), "application", klog.KObj(ca))
		return nil
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		klog.FromContext(ctx).V(2).Info("Version changed or vanished before deletion; evaluated again next interval", "version", klog.KObj(cav), "err", err)
		return nil
	}
	ctl.metrics.deletions.WithLabelValues(ca.Namespace, ca.Name, deletionFailed).Inc()
	return fmt.Errorf("deleting version %s: %w", klog.KObj(cav), err)
}
