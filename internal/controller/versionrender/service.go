package versionrender

import (
	"fmt"
	"maps"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/capstan-io/capstan/internal/workload"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// Default ports of workloads that declare none.
const (
	defaultRouterPortName = "router-svc-port"
	defaultRouterPort     = 5000
	DefaultCAPPortName    = "server-svc-port"
	defaultCAPPort        = 4004
	// defaultCAPDestination is the router Destination of a CAP workload without ports.
	defaultCAPDestination = "srv-api"
)

// servicePorts returns the ports of a deployment workload's Service, applying the defaults of
// CAP and Router workloads without ports. Other types without ports get no Service.
func servicePorts(d *v1alpha1.DeploymentDetails) []v1alpha1.Ports {
	if len(d.Ports) > 0 {
		return d.Ports
	}
	switch d.Type {
	case v1alpha1.DeploymentRouter:
		return []v1alpha1.Ports{{Name: defaultRouterPortName, Port: defaultRouterPort}}
	case v1alpha1.DeploymentCAP:
		return []v1alpha1.Ports{{Name: DefaultCAPPortName, Port: defaultCAPPort, RouterDestinationName: defaultCAPDestination}}
	}
	return nil
}

// ServiceLabels are the labels of a workload's Service (and ServiceMonitor, with another
// category): the user's labels, the selector labels with the Service's own name and
// category, and the owner labels unless withoutOwner.
func (in Input) ServiceLabels(w *v1alpha1.WorkloadDetails, category string, withOwner bool) map[string]string {
	labels := maps.Clone(w.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, in.SelectorLabels(w))
	labels[v1alpha1.LabelResourceCategory] = category
	labels[v1alpha1.LabelWorkloadName] = workload.ServiceName(in.CAV.Name, w.Name)
	if withOwner {
		maps.Copy(labels, in.OwnerLabels())
	}
	return labels
}

// NewService builds the Service of a deployment workload, or nil when it has no ports.
func NewService(in Input, w *v1alpha1.WorkloadDetails) *corev1.Service {
	ports := servicePorts(w.DeploymentDefinition)
	if len(ports) == 0 {
		return nil
	}
	svcPorts := make([]corev1.ServicePort, len(ports))
	for i, p := range ports {
		svcPorts[i] = corev1.ServicePort{
			Name: p.Name, Port: p.Port, TargetPort: intstr.FromInt32(p.Port),
			Protocol: corev1.ProtocolTCP, AppProtocol: p.AppProtocol,
		}
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: in.ObjectMeta(workload.ServiceName(in.CAV.Name, w.Name), in.ServiceLabels(w, v1alpha1.CategoryService, true), nil),
		Spec: corev1.ServiceSpec{
			Ports:    svcPorts,
			Selector: in.SelectorLabels(w),
		},
	}
}

// NewServiceMonitor builds the ServiceMonitor of a workload with a scrape configuration, or
// returns nil when there is none. The port must name one of the workload's ports.
func NewServiceMonitor(in Input, w *v1alpha1.WorkloadDetails) (*monitoringv1.ServiceMonitor, error) {
	d := w.DeploymentDefinition
	if d.Monitoring == nil || d.Monitoring.ScrapeConfig == nil {
		return nil, nil
	}
	sc := d.Monitoring.ScrapeConfig
	found := false
	for _, p := range servicePorts(d) {
		found = found || p.Name == sc.Port
	}
	if !found {
		return nil, fmt.Errorf("invalid port reference %q in workload %s monitoring config", sc.Port, w.Name)
	}
	return &monitoringv1.ServiceMonitor{
		TypeMeta:   metav1.TypeMeta{APIVersion: "monitoring.coreos.com/v1", Kind: "ServiceMonitor"},
		ObjectMeta: in.ObjectMeta(workload.ServiceName(in.CAV.Name, w.Name), in.ServiceLabels(w, v1alpha1.CategoryServiceMonitor, true), nil),
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector: metav1.LabelSelector{MatchLabels: in.ServiceLabels(w, v1alpha1.CategoryService, false)},
			Endpoints: []monitoringv1.Endpoint{{
				Port: sc.Port, Path: sc.Path,
				Interval:      monitoringv1.Duration(sc.Interval),
				ScrapeTimeout: monitoringv1.Duration(sc.ScrapeTimeout),
			}},
		},
	}, nil
}
