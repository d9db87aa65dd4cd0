package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"github.com/capstan-io/capstan/internal/bindings"
	"github.com/capstan-io/capstan/internal/server/httperr"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Service classes the server reads credentials of.
const (
	ClassSaaSRegistry        = "saas-registry"
	ClassXSUAA               = "xsuaa"
	ClassSubscriptionManager = "subscription-manager"
)

// ErrNoApp is returned when no multi-tenant CAPApplication matches.
var ErrNoApp = errors.New("no multi-tenant capapplication found")

// FindApps returns the multi-tenant CAPApplications identified by one of the accounts and the
// app name, from the cache: the first account that matches any application wins (provider
// subaccount before global account). The spec decides, not the app-identifier-hash label,
// which any namespace editor can set. More than one result is an ambiguity the caller refuses.
func (c *Directory) FindApps(accounts []string, appName string) ([]*v1alpha1.CAPApplication, error) {
	for _, account := range accounts {
		apps, err := c.appsFor(account, appName)
		if err != nil {
			return nil, err
		}
		if len(apps) > 0 {
			return apps, nil
		}
	}
	return nil, nil
}

// App reads the CAPApplication a tenant belongs to from the cache, falling back to the API
// for one created moments ago; ErrNoApp when it does not exist.
func (c *Directory) App(ctx context.Context, namespace, name string) (*v1alpha1.CAPApplication, error) {
	ca, err := c.appLister.CAPApplications(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		ca, err = c.sme.SmeV1alpha1().CAPApplications(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, ErrNoApp
	}
	if err != nil {
		return nil, fmt.Errorf("reading CAPApplication %s/%s: %w", namespace, name, err)
	}
	return ca, nil
}

// service returns the CA's service of a class; for xsuaa the one named by the primary-xsuaa
// annotation, if any.
func service(ca *v1alpha1.CAPApplication, class string) (v1alpha1.ServiceInfo, bool) {
	if class == ClassXSUAA {
		if name := ca.Annotations[v1alpha1.AnnotationPrimaryXSUAA]; name != "" {
			for _, svc := range ca.Spec.BTP.Services {
				if svc.Name == name {
					return svc, true
				}
			}
		}
	}
	for _, svc := range ca.Spec.BTP.Services {
		if svc.Class == class {
			return svc, true
		}
	}
	return v1alpha1.ServiceInfo{}, false
}

// Entry reads a service's binding Secret into its VCAP_SERVICES entry.
func (c *Directory) Entry(ctx context.Context, ca *v1alpha1.CAPApplication, svc v1alpha1.ServiceInfo) (map[string]any, error) {
	data, err := c.bindingData(ctx, ca, svc)
	if err != nil {
		return nil, err
	}
	return bindings.Entry(bindings.Service{Name: svc.Name, Class: svc.Class}, data)
}

// bindingData reads the data of a service's binding Secret.
func (c *Directory) bindingData(ctx context.Context, ca *v1alpha1.CAPApplication, svc v1alpha1.ServiceInfo) (map[string][]byte, error) {
	secret, err := c.kube.CoreV1().Secrets(ca.Namespace).Get(ctx, svc.Secret, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the binding Secret of service %q: %w", svc.Name, err)
	}
	return secret.Data, nil
}

// Credentials returns the decoded credentials of the CA's service of a class.
func (c *Directory) Credentials(ctx context.Context, ca *v1alpha1.CAPApplication, class string) (map[string]any, error) {
	svc, ok := service(ca, class)
	if !ok {
		return nil, fmt.Errorf("CAPApplication %s/%s has no %s service", ca.Namespace, ca.Name, class)
	}
	data, err := c.bindingData(ctx, ca, svc)
	if err != nil {
		return nil, err
	}
	return bindings.Credentials(bindings.Service{Name: svc.Name, Class: svc.Class}, data)
}

// Str reads a string field of decoded credentials.
func Str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

// AppURL returns https://<subdomain>.<domain>, the domain being the subscription's own (which
// must be a Domain of the CA's namespace or a ClusterDomain), else the CA's
// subscription-domain annotation (same rule), else the domain of the CA's first domainRef.
// Without any of them the URL is empty.
func (c *Directory) AppURL(ca *v1alpha1.CAPApplication, subdomain, requested string) (string, error) {
	domain := requested
	if domain == "" {
		domain = ca.Annotations[v1alpha1.AnnotationSubscriptionDomain]
	}
	if domain != "" {
		known, err := c.knownDomain(ca.Namespace, domain)
		if err != nil {
			return "", err
		}
		if !known {
			return "", httperr.New(http.StatusNotAcceptable, fmt.Sprintf("subscription domain %q is neither a Domain in namespace %s nor a ClusterDomain", domain, ca.Namespace), nil)
		}
		return "https://" + subdomain + "." + domain, nil
	}
	if len(ca.Spec.DomainRefs) == 0 {
		return "", nil
	}
	ref := ca.Spec.DomainRefs[0]
	var err error
	if ref.Kind == v1alpha1.DomainRefKindClusterDomain {
		var cd *v1alpha1.ClusterDomain
		if cd, err = c.clusterDomain.Get(ref.Name); err == nil {
			domain = cd.Spec.Domain
		}
	} else {
		var d *v1alpha1.Domain
		if d, err = c.domains.Domains(ca.Namespace).Get(ref.Name); err == nil {
			domain = d.Spec.Domain
		}
	}
	if err != nil {
		return "", fmt.Errorf("reading %s %s: %w", ref.Kind, ref.Name, err)
	}
	return "https://" + subdomain + "." + domain, nil
}

// knownDomain reports whether domain is the spec.domain of a Domain in namespace or of any
// ClusterDomain (from the caches).
func (c *Directory) knownDomain(namespace, domain string) (bool, error) {
	domains, err := c.domains.Domains(namespace).List(labels.Everything())
	if err != nil {
		return false, fmt.Errorf("listing Domains: %w", err)
	}
	for _, d := range domains {
		if d.Spec.Domain == domain {
			return true, nil
		}
	}
	cluster, err := c.clusterDomain.List(labels.Everything())
	if err != nil {
		return false, fmt.Errorf("listing ClusterDomains: %w", err)
	}
	for _, d := range cluster {
		if d.Spec.Domain == domain {
			return true, nil
		}
	}
	return false, nil
}

// AdditionalOutput merges the CA's saas-additional-output annotation with the callback data of
// every CAPTenantOutput of the tenant (outputs win on equal keys). Invalid JSON is logged and
// skipped rather than failing the callback.
func (c *Directory) AdditionalOutput(ctx context.Context, ca *v1alpha1.CAPApplication, tenantID string) map[string]any {
	logger := klog.FromContext(ctx)
	out := map[string]any{}
	if raw := ca.Annotations[v1alpha1.AnnotationSaaSAdditionalOutput]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &out); err != nil || out == nil {
			logger.Info("Ignoring invalid saas-additional-output annotation", "app", klog.KObj(ca), "err", err)
			out = map[string]any{}
		}
	}
	sel := labels.Set{v1alpha1.LabelBTPTenantIdentifier: tenantID}.String()
	list, err := c.sme.SmeV1alpha1().CAPTenantOutputs(ca.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		logger.Error(err, "Listing CAPTenantOutputs failed", "tenantId", tenantID)
		return out
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	for _, o := range list.Items {
		if o.Spec.SubscriptionCallbackData == nil || *o.Spec.SubscriptionCallbackData == "" {
			continue
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(*o.Spec.SubscriptionCallbackData), &data); err != nil {
			logger.Info("Ignoring invalid CAPTenantOutput callback data", "output", klog.KObj(&o), "err", err)
			continue
		}
		for k, v := range data {
			out[k] = v
		}
	}
	return out
}
