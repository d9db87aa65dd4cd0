package kube

import (
	"fmt"

	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	gardenercertclient "github.com/gardener/cert-management/pkg/client/cert/clientset/versioned"
	gardenerdnsclient "github.com/gardener/external-dns-management/pkg/client/dns/clientset/versioned"
	monitoringclient "github.com/prometheus-operator/prometheus-operator/pkg/client/versioned"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	smeclient "github.com/capstan-io/capstan/pkg/client/clientset/versioned"
)

// Clients bundles the typed clients of every API the operator talks to.
type Clients struct {
	// Kube is the client of the built-in Kubernetes APIs.
	Kube kubernetes.Interface
	// SME is the client of the sme.sap.com API.
	SME smeclient.Interface
	// Metadata reads objects as metadata only (used for Secrets, to bound memory).
	Metadata metadata.Interface
	// Istio is the client of the Istio networking API.
	Istio istioclient.Interface
	// CertManager is the client of the cert-manager.io API.
	CertManager cmclient.Interface
	// GardenerCert is the client of the cert.gardener.cloud API.
	GardenerCert gardenercertclient.Interface
	// GardenerDNS is the client of the dns.gardener.cloud API.
	GardenerDNS gardenerdnsclient.Interface
	// Monitoring is the client of the monitoring.coreos.com API.
	Monitoring monitoringclient.Interface
	// Discovery tells which optional APIs the cluster serves.
	Discovery discovery.DiscoveryInterface
}

// NewClients creates every client from cfg, identifying as userAgent.
func NewClients(cfg *rest.Config, userAgent string) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent
	c := &Clients{}
	var err error
	if c.Kube, err = kubernetes.NewForConfig(protobufConfig(cfg)); err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	if c.SME, err = smeclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("sme.sap.com client: %w", err)
	}
	if c.Metadata, err = metadata.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	if c.Istio, err = istioclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("istio client: %w", err)
	}
	if c.CertManager, err = cmclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("cert-manager client: %w", err)
	}
	if c.GardenerCert, err = gardenercertclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("gardener certificate client: %w", err)
	}
	if c.GardenerDNS, err = gardenerdnsclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("gardener DNS client: %w", err)
	}
	if c.Monitoring, err = monitoringclient.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("monitoring client: %w", err)
	}
	c.Discovery = c.Kube.Discovery()
	return c, nil
}

// protobufConfig returns cfg asking for and sending built-in kinds as protobuf, as the
// Kubernetes components do: cheaper to encode and decode than JSON, for the API server (which
// serializes each watch event once per encoding its watchers use, and
// kube-controller-manager already uses protobuf) and for the operator (Jobs, Deployments,
// Events). Custom resources are served as JSON only; their clients keep it.
func protobufConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return cfg
}
