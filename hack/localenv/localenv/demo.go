package localenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capstan-io/capstan/hack/localenv/localenv/issuer"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// The demo's second version: the published upgrade of the walk-through.
const (
	// DemoVersion is the CAPApplicationVersion the demo rolls out to the tenants.
	DemoVersion = "cav-cap-app-01-2"
	// demoVersionFile is applied as published, except that it is pointed at the sample's
	// CAPApplication (it names "cap-cap-app-01").
	demoVersionFile = "multitenant/cav-v2-upgrade.yaml"
	// requestTimeout bounds one request to the subscription server.
	requestTimeout = 30 * time.Second
)

// DemoResult is the outcome of the demo.
type DemoResult struct {
	// Tenants are the consumer tenants, in subscription order.
	Tenants []*DemoTenant
	// From and To are the CAPApplicationVersions rolled from and to.
	From, To string
	// Provisioning is the time from the first subscription until all tenants were Ready;
	// Rollout the time from the creation of To until all tenants were Ready on it.
	Provisioning, Rollout time.Duration
}

// DemoTenant is one consumer tenant of the demo.
type DemoTenant struct {
	// TenantID and Subdomain are the subscription's.
	TenantID, Subdomain string
	// Name is the CAPTenant the server created.
	Name string
	// State and Version are the tenant's last observed state and
	// currentCAPApplicationVersionInstance.
	State, Version string
	// Subscribed is when the server accepted the subscription.
	Subscribed time.Time
	// Ready is the time from Subscribed until Ready on the first version; Upgraded the time
	// from the creation of the second version until Ready on it.
	Ready, Upgraded time.Duration
}

// demoSecrets points the sample's saas-registry binding at the XSUAA stand-in (its client id
// and uaadomain decide which tokens the server accepts) and returns the xsappname of the xsuaa
// binding, which the tokens' audience must name.
func demoSecrets(ca *v1alpha1.CAPApplication, secrets []*corev1.Secret, issuerURL string) (string, error) {
	byName := map[string]*corev1.Secret{}
	for _, secret := range secrets {
		byName[secret.Name] = secret
	}
	xsappname := ""
	for _, svc := range ca.Spec.BTP.Services {
		secret := byName[svc.Secret]
		switch {
		case secret == nil:
			return "", fmt.Errorf("no binding Secret for service %s", svc.Name)
		case svc.Class == "xsuaa":
			xsappname = secret.StringData["xsappname"]
		case svc.Class == "saas-registry":
			creds, err := json.Marshal(map[string]any{"clientid": issuer.SaaSClientID, "url": issuerURL, "uaadomain": issuer.UAADomain,
				"xsappname": ca.Spec.BTPAppName + "!b1", "saas_registry_url": "https://saas-registry.local.example.com"})
			if err != nil {
				return "", err
			}
			secret.StringData = map[string]string{"credentials": string(creds)}
		}
	}
	if xsappname == "" {
		return "", fmt.Errorf("the xsuaa binding of %s names no xsappname", ca.Name)
	}
	return xsappname, nil
}

// runDemo subscribes the consumer tenants, waits until they are Ready, creates the second
// version and waits until every tenant is Ready on it, logging each change of a tenant.
func (s *Session) runDemo(ctx context.Context) error {
	ca, err := s.clients.SME.SmeV1alpha1().CAPApplications(SampleNamespace).Get(ctx, SampleApplication, metav1.GetOptions{})
	if err != nil {
		return err
	}
	res := &DemoResult{From: SampleVersion, To: DemoVersion}
	start := time.Now()
	for i := 1; i <= s.opts.DemoTenants; i++ {
		t := &DemoTenant{TenantID: fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", i), Subdomain: fmt.Sprintf("consumer-%d", i)}
		if err := s.subscribe(ctx, ca, t); err != nil {
			return fmt.Errorf("demo: subscribing tenant %s: %w", t.TenantID, err)
		}
		res.Tenants = append(res.Tenants, t)
	}
	err = s.watchTenants(ctx, res, "the demo tenants to be Ready", func(cat *v1alpha1.CAPTenant, t *DemoTenant) bool {
		if t.Ready == 0 && ready(cat, SampleVersion) {
			t.Ready = time.Since(t.Subscribed).Round(time.Second)
		}
		return t.Ready > 0
	})
	if err != nil {
		return err
	}
	res.Provisioning = time.Since(start).Round(time.Second)
	s.opts.Logf("demo: %d tenants Ready on %s after %s; rolling out %s", len(res.Tenants), SampleVersion, res.Provisioning, DemoVersion)
	rollout := time.Now()
	if err := s.createPublishedVersion(ctx, demoVersionFile, true); err != nil {
		return err
	}
	err = s.watchTenants(ctx, res, "the demo tenants to run "+DemoVersion, func(cat *v1alpha1.CAPTenant, t *DemoTenant) bool {
		if t.Upgraded == 0 && ready(cat, DemoVersion) {
			t.Upgraded = time.Since(rollout).Round(time.Second)
		}
		return t.Upgraded > 0
	})
	if err != nil {
		return err
	}
	res.Rollout = time.Since(rollout).Round(time.Second)
	s.opts.Logf("demo: %d tenants Ready on %s after %s", len(res.Tenants), DemoVersion, res.Rollout)
	if err := s.waitRolledOut(ctx); err != nil {
		return err
	}
	s.Demo = res
	return nil
}

// waitRolledOut waits until the provider tenant runs the second version too and the
// application is Consistent again, logging the sample's states as they change.
func (s *Session) waitRolledOut(ctx context.Context) error {
	last := ""
	return s.poll(ctx, s.opts.DemoTimeout, "the provider tenant on "+DemoVersion, func() (bool, error) {
		states, _ := s.sampleStates(ctx)
		if states != last {
			s.opts.Logf("sample: %s", states)
			last = states
		}
		cat, err := s.clients.SME.SmeV1alpha1().CAPTenants(SampleNamespace).Get(ctx, SampleProviderTenant, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ca, err := s.clients.SME.SmeV1alpha1().CAPApplications(SampleNamespace).Get(ctx, SampleApplication, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if ready(cat, DemoVersion) && ca.Status.State == v1alpha1.CAPApplicationStateConsistent {
			return true, nil
		}
		return false, fmt.Errorf("provider tenant %s on %q, application %s", cat.Status.State, cat.Status.CurrentCAPApplicationVersionInstance, ca.Status.State)
	})
}

// ready reports whether the tenant is Ready on the CAPApplicationVersion.
func ready(cat *v1alpha1.CAPTenant, version string) bool {
	return cat.Status.State == v1alpha1.CAPTenantStateReady && cat.Status.CurrentCAPApplicationVersionInstance == version
}

// subscribe sends the SaaS registry's subscription request for the tenant to the server, with
// a token of the XSUAA stand-in, and expects 202 Accepted. There is no STATUS_CALLBACK: the
// demo watches the tenant instead.
func (s *Session) subscribe(ctx context.Context, ca *v1alpha1.CAPApplication, t *DemoTenant) error {
	token, err := s.issuer.Token(s.xsappname)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"subscriptionGUID": "demo-" + t.TenantID, "subscribedTenantId": t.TenantID, "subscribedSubdomain": t.Subdomain,
		"globalAccountGUID": ca.Spec.GlobalAccountId, "subscriptionAppName": ca.Spec.BTPAppName,
		"eventType": "CREATE", "subscribedZoneId": t.TenantID,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.ServerURL+"/provision/tenants/"+t.TenantID, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("PUT /provision/tenants/%s: %s %s", t.TenantID, resp.Status, bytes.TrimSpace(answer))
	}
	t.Subscribed = time.Now()
	s.opts.Logf("demo: subscribed tenant %s (subdomain %s) through the subscription server: %s %s",
		t.TenantID, t.Subdomain, resp.Status, bytes.TrimSpace(answer))
	return nil
}

// watchTenants polls the demo's tenants until done holds for all of them, logging one line
// whenever a tenant's state or version changes. done is called for every observed tenant.
func (s *Session) watchTenants(ctx context.Context, res *DemoResult, what string, done func(*v1alpha1.CAPTenant, *DemoTenant) bool) error {
	return s.poll(ctx, s.opts.DemoTimeout, what, func() (bool, error) {
		list, err := s.clients.SME.SmeV1alpha1().CAPTenants(SampleNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pending := 0
		for _, t := range res.Tenants {
			i := slices.IndexFunc(list.Items, func(cat v1alpha1.CAPTenant) bool { return cat.Spec.TenantId == t.TenantID })
			if i < 0 {
				pending++
				continue
			}
			cat := &list.Items[i]
			s.observe(t, cat)
			if !done(cat, t) {
				pending++
			}
		}
		if pending > 0 {
			return false, fmt.Errorf("%d of %d tenants pending", pending, len(res.Tenants))
		}
		return true, nil
	})
}

// observe records the tenant's state and version and logs a change.
func (s *Session) observe(t *DemoTenant, cat *v1alpha1.CAPTenant) {
	state, version := orDash(string(cat.Status.State)), orDash(cat.Status.CurrentCAPApplicationVersionInstance)
	if t.Name == cat.Name && t.State == state && t.Version == version {
		return
	}
	t.Name, t.State, t.Version = cat.Name, state, version
	s.opts.Logf("demo: tenant %s (%s): %s, version %s (spec.version %s)", t.Name, t.Subdomain, state, version, orDash(cat.Spec.Version))
}

// print writes the demo's tenants, versions and times.
func (r *DemoResult) print(w io.Writer) error {
	fmt.Fprintf(w, "\nDemo: %d consumer tenants subscribed through the subscription server (Ready after %s),\n", len(r.Tenants), r.Provisioning)
	fmt.Fprintf(w, "then rolled out from %s to %s (after %s):\n\n", r.From, r.To, r.Rollout)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  TENANT\tSUBDOMAIN\tSTATE\tVERSION\tREADY AFTER\tUPGRADED AFTER\n")
	for _, t := range r.Tenants {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Subdomain, t.State, t.Version, t.Ready, t.Upgraded)
	}
	return tw.Flush()
}
