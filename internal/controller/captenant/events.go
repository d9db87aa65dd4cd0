package captenant

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/capstan-io/capstan/internal/tenant"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// recordEvent records the event of a decision. A Warning (a failed operation) is about the
// tenant: someone has to act on it. A Normal event (an operation completed) is recorded on the
// application with a note that does not name the tenant, so the event recorder folds the
// completions of a mass provisioning or upgrade into one Event with a count (events.k8s.io
// series) instead of writing one Event per tenant; the tenant's Ready condition keeps the
// details.
func (ctl *Controller) recordEvent(cat *v1alpha1.CAPTenant, ca *v1alpha1.CAPApplication, d tenant.Decision) {
	e := d.Event
	if e.Type != corev1.EventTypeNormal {
		ctl.c.Recorder.Eventf(cat, nil, e.Type, e.Reason, e.Action, "%s", e.Message)
		return
	}
	ctl.applicationEvent(ca, e.Reason, e.Action, fmt.Sprintf("tenants of CAPApplication %s/%s: %s on CAPApplicationVersion %s", ca.Namespace, ca.Name, e.Reason, d.Current))
}

// applicationEvent records a Normal event about many tenants on their application. The
// reference leaves out the application's resourceVersion, which the recorder would otherwise
// take into the key it folds repeated events by.
func (ctl *Controller) applicationEvent(ca *v1alpha1.CAPApplication, reason, action, note string) {
	app := *ca
	app.ResourceVersion = ""
	ctl.c.Recorder.Eventf(&app, nil, corev1.EventTypeNormal, reason, action, "%s", note)
}
