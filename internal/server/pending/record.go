package pending

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/server/payload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// A pending callback is recorded as a ConfigMap in the application's namespace, labelled
// LabelCallback=pending, so that a restarted server lists and resumes it. It holds only what is
// needed to decide and send the callback; credentials are read again when sending, and tokens
// are never stored. The record is deleted once the callback was sent.
const (
	// LabelCallback marks pending-callback ConfigMaps.
	LabelCallback = "capstan.io/subscription-callback"
	// labelCallbackPending is the value of LabelCallback.
	labelCallbackPending = "pending"
	// recordPrefix is the generateName of records.
	recordPrefix = "capstan-callback-"
)

// Operations of a record.
const (
	OpProvisioning   = "provisioning"
	OpDeprovisioning = "deprovisioning"
)

// States of a record: pending until an instance claims it to send the callback.
const (
	statePending = "pending"
	stateSending = "sending"
)

// Keys of a record's data.
const (
	keyOperation       = "operation"
	keyKind            = "kind"
	keyAppName         = "appName"
	keyTenantNamespace = "tenantNamespace"
	keyTenantName      = "tenantName"
	keyTenantUID       = "tenantUID"
	keyTenantID        = "tenantId"
	keyCallbackPath    = "callbackPath"
	keyApplicationURL  = "applicationUrl"
	keyDeadline        = "deadline"
	keyState           = "state"
	keyHolder          = "holder"
	keyClaimedAt       = "claimedAt"
	keyStatus          = "status"
)

// Record is a pending callback.
type Record struct {
	// ConfigMap identity; namespace is the application's namespace.
	namespace, name, resourceVersion string
	uid                              types.UID

	operation, kind                                  string
	appName                                          string
	tenantNamespace, tenantName, tenantUID, tenantID string
	callbackPath, appURL                             string
	deadline                                         time.Time

	// state, holder and claimedAt say who is sending; status is the decided outcome.
	state, holder, status string
	claimedAt             time.Time
	// created is when the record was stored (its ConfigMap's creation time).
	created time.Time
}

// newRecord describes the callback of an operation on a tenant.
func newRecord(op, kind string, ca *v1alpha1.CAPApplication, cat *v1alpha1.CAPTenant, path, url string, timeout time.Duration) *Record {
	return &Record{
		namespace: ca.Namespace, operation: op, kind: kind, appName: ca.Name,
		tenantNamespace: cat.Namespace, tenantName: cat.Name, tenantUID: string(cat.UID), tenantID: cat.Spec.TenantId,
		callbackPath: path, appURL: url, deadline: time.Now().Add(timeout).UTC().Truncate(time.Second),
		state: statePending,
	}
}

// key identifies the record within this process.
func (r *Record) key() string { return r.namespace + "/" + r.name }

// configMap renders the record.
func (r *Record) configMap() *corev1.ConfigMap {
	data := map[string]string{
		keyOperation: r.operation, keyKind: r.kind, keyAppName: r.appName,
		keyTenantNamespace: r.tenantNamespace, keyTenantName: r.tenantName, keyTenantUID: r.tenantUID,
		keyTenantID: r.tenantID, keyCallbackPath: r.callbackPath, keyApplicationURL: r.appURL,
		keyDeadline: r.deadline.Format(time.RFC3339), keyState: r.state,
	}
	if r.state == stateSending {
		data[keyHolder] = r.holder
		data[keyClaimedAt] = r.claimedAt.UTC().Format(time.RFC3339Nano)
		data[keyStatus] = r.status
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: r.name, GenerateName: recordPrefix, Namespace: r.namespace,
			ResourceVersion: r.resourceVersion, UID: r.uid,
			Labels: map[string]string{
				LabelCallback:                     labelCallbackPending,
				v1alpha1.LabelBTPTenantIdentifier: r.tenantID,
			},
		},
		Data: data,
	}
}

// recordFrom reads a record; a malformed one is an error (and is left for inspection).
func recordFrom(cm *corev1.ConfigMap) (*Record, error) {
	d := cm.Data
	r := &Record{
		namespace: cm.Namespace, name: cm.Name, resourceVersion: cm.ResourceVersion, uid: cm.UID,
		operation: d[keyOperation], kind: d[keyKind], appName: d[keyAppName],
		tenantNamespace: d[keyTenantNamespace], tenantName: d[keyTenantName], tenantUID: d[keyTenantUID],
		tenantID: d[keyTenantID], callbackPath: d[keyCallbackPath], appURL: d[keyApplicationURL],
		state: d[keyState], holder: d[keyHolder], status: d[keyStatus],
		created: cm.CreationTimestamp.Time,
	}
	var err error
	if r.deadline, err = time.Parse(time.RFC3339, d[keyDeadline]); err != nil {
		return nil, fmt.Errorf("record %s/%s: deadline: %w", cm.Namespace, cm.Name, err)
	}
	if r.state == stateSending {
		if r.claimedAt, err = time.Parse(time.RFC3339Nano, d[keyClaimedAt]); err != nil {
			return nil, fmt.Errorf("record %s/%s: claimedAt: %w", cm.Namespace, cm.Name, err)
		}
	}
	if (r.operation != OpProvisioning && r.operation != OpDeprovisioning) || (r.kind != payload.KindSaaS && r.kind != payload.KindSMS) ||
		r.tenantName == "" || r.appName == "" || r.callbackPath == "" {
		return nil, fmt.Errorf("record %s/%s is incomplete", cm.Namespace, cm.Name)
	}
	return r, nil
}

// Create stores the record of the callback of an operation (OpProvisioning or
// OpDeprovisioning) on a tenant for a caller of a kind (payload.KindSaaS or KindSMS). The
// callback is sent to path under the service URL of the credentials; url is the application
// URL a provisioning reports. Start runs its worker once the operation was requested; Drop
// removes it when the request failed.
func (q *Queue) Create(ctx context.Context, op, kind string, ca *v1alpha1.CAPApplication, cat *v1alpha1.CAPTenant, path, url string) (*Record, error) {
	rec := newRecord(op, kind, ca, cat, path, url, q.callbackTimeout(ctx, kind, ca))
	cm, err := q.opts.Kube.CoreV1().ConfigMaps(rec.namespace).Create(ctx, rec.configMap(), metav1.CreateOptions{FieldManager: q.opts.FieldManager})
	if err != nil {
		return nil, fmt.Errorf("recording the pending callback: %w", err)
	}
	return recordFrom(cm)
}

// updateRecord writes a changed record with optimistic concurrency.
func (q *Queue) updateRecord(ctx context.Context, rec *Record) (*Record, error) {
	cm, err := q.opts.Kube.CoreV1().ConfigMaps(rec.namespace).Update(ctx, rec.configMap(), metav1.UpdateOptions{FieldManager: q.opts.FieldManager})
	if err != nil {
		return nil, err
	}
	return recordFrom(cm)
}

// getRecord reads the current version of a record.
func (q *Queue) getRecord(ctx context.Context, rec *Record) (*Record, error) {
	cm, err := q.opts.Kube.CoreV1().ConfigMaps(rec.namespace).Get(ctx, rec.name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if cm.UID != rec.uid {
		return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), rec.name)
	}
	return recordFrom(cm)
}

// Drop deletes a record (only this very object, by UID).
func (q *Queue) Drop(ctx context.Context, rec *Record) {
	uid := rec.uid
	err := q.opts.Kube.CoreV1().ConfigMaps(rec.namespace).Delete(ctx, rec.name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Deleting the pending-callback record failed", "record", klog.KRef(rec.namespace, rec.name))
	}
}

// Resume starts a worker for every recorded callback in the cluster.
func (q *Queue) Resume(ctx context.Context) error {
	sel := labels.Set{LabelCallback: labelCallbackPending}.String()
	list, err := q.opts.Kube.CoreV1().ConfigMaps(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx)
	for i := range list.Items {
		rec, err := recordFrom(&list.Items[i])
		if err != nil {
			logger.Error(err, "Skipping a malformed pending-callback record")
			continue
		}
		logger.Info("Resuming pending callback", "record", klog.KRef(rec.namespace, rec.name),
			"operation", rec.operation, "tenant", klog.KRef(rec.tenantNamespace, rec.tenantName))
		q.Start(rec)
	}
	return nil
}
