package certrenewal

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// fieldManager names the webhook in the Secret's managed fields.
const fieldManager = "capstan-web-hooks"

// Renewer applies Renew to the Secret periodically. Several webhook replicas may run one each:
// an update carries the resourceVersion it read, so only one of two concurrent renewals is
// written and the other replica finds the renewed certificate on its next check.
type Renewer struct {
	client     kubernetes.Interface
	secretName string
	cfg        Config
	// Interval between checks; a failed check is retried sooner, with backoff up to Interval.
	Interval time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewRenewer returns a Renewer of the Secret secretName in cfg.Namespace.
func NewRenewer(client kubernetes.Interface, secretName string, cfg Config) *Renewer {
	return &Renewer{client: client, secretName: secretName, cfg: cfg, Interval: time.Hour, Now: time.Now}
}

// Run checks the Secret at once and then every Interval until ctx is done.
func (r *Renewer) Run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("secret", klog.KRef(r.cfg.Namespace, r.secretName))
	backoff := wait.Backoff{Duration: 5 * time.Second, Factor: 2, Steps: 32, Cap: r.Interval}
	delay := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if err := r.Check(ctx); err != nil {
			delay = backoff.Step()
			logger.Error(err, "Checking the serving certificate failed", "retryIn", delay)
			continue
		}
		backoff = wait.Backoff{Duration: 5 * time.Second, Factor: 2, Steps: 32, Cap: r.Interval}
		delay = r.Interval
	}
}

// Check reads the Secret, renews its certificate when Renew says so and writes it back. A
// conflicting write by another replica is not an error: that replica renewed it.
func (r *Renewer) Check(ctx context.Context) error {
	logger := klog.FromContext(ctx)
	secrets := r.client.CoreV1().Secrets(r.cfg.Namespace)
	secret, err := secrets.Get(ctx, r.secretName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the Secret %s/%s: %w", r.cfg.Namespace, r.secretName, err)
	}
	res, err := Renew(secret.Data, r.cfg, r.Now())
	if err != nil {
		return fmt.Errorf("Secret %s/%s: %w", r.cfg.Namespace, r.secretName, err)
	}
	if res.Data == nil {
		logger.V(4).Info("The serving certificate is current", "notAfter", res.NotAfter)
		return nil
	}
	secret = secret.DeepCopy()
	secret.Data = res.Data
	if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		if apierrors.IsConflict(err) {
			logger.Info("The Secret changed while renewing; checking again later", "secret", klog.KObj(secret))
			return nil
		}
		return fmt.Errorf("writing the Secret %s/%s: %w", r.cfg.Namespace, r.secretName, err)
	}
	logger.Info("Renewed the serving certificate", "secret", klog.KObj(secret), "reason", res.Reason, "notAfter", res.NotAfter)
	return nil
}
