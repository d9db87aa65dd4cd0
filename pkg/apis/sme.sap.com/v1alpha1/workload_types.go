package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// WorkloadDetails is one workload of a CAPApplicationVersion: a Deployment or a Job.
// +kubebuilder:validation:XValidation:rule="has(self.deploymentDefinition) != has(self.jobDefinition)",message="exactly one of deploymentDefinition or jobDefinition must be set"
type WorkloadDetails struct {
	// Name of the workload, unique within the version. It is part of the names of the
	// Deployment, Service and Job created for it.
	Name string `json:"name"`
	// ConsumedBTPServices names the services of the CAPApplication whose credentials the
	// workload receives in VCAP_SERVICES.
	ConsumedBTPServices []string `json:"consumedBTPServices"`
	// Labels added to the workload's objects and pods.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations added to the workload's objects and pods.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// DeploymentDefinition makes the workload a Deployment.
	// +optional
	DeploymentDefinition *DeploymentDetails `json:"deploymentDefinition,omitempty"`
	// JobDefinition makes the workload a Job.
	// +optional
	JobDefinition *JobDetails `json:"jobDefinition,omitempty"`
}

// CommonDetails are the container and pod settings shared by deployment and job workloads.
type CommonDetails struct {
	// Image is the container image.
	Image string `json:"image"`
	// ImagePullPolicy of the container.
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
	// Command overrides the image's entrypoint.
	// +optional
	Command []string `json:"command,omitempty"`
	// Args are the arguments to the entrypoint.
	// +optional
	Args []string `json:"args,omitempty"`
	// Env are environment variables of the container. CAPOP_APP_VERSION and VCAP_SERVICES are
	// reserved for the operator.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
	// Volumes of the pod.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
	// VolumeMounts of the container.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// ServiceAccountName the pod runs as.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// Resources of the container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
	// SecurityContext of the container.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
	// PodSecurityContext of the pod.
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`
	// NodeName schedules the pod onto a specific node.
	// +optional
	NodeName string `json:"nodeName,omitempty"`
	// NodeSelector constrains the nodes the pod may run on.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// PriorityClassName of the pod.
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// Affinity of the pod.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// Tolerations of the pod.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// TopologySpreadConstraints of the pod. A constraint without labelSelector gets the
	// workload's labels.
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	// InitContainers of the pod. They receive the same VCAP_SERVICES and CAPOP_* environment.
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`
	// RestartPolicy of the pod; Never by default for jobs.
	// +optional
	RestartPolicy corev1.RestartPolicy `json:"restartPolicy,omitempty"`
	// TerminationGracePeriodSeconds of the pod.
	// +optional
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// Lifecycle hooks of the container.
	// +optional
	Lifecycle *corev1.Lifecycle `json:"lifecycle,omitempty"`
}

// DeploymentType is the role of a deployment workload.
// +kubebuilder:validation:Enum=CAP;Router;Additional;Service
type DeploymentType string

// Deployment workload types.
const (
	// DeploymentCAP is the CAP application server of a multi-tenant application.
	DeploymentCAP DeploymentType = "CAP"
	// DeploymentRouter is the application router that serves tenant traffic.
	DeploymentRouter DeploymentType = "Router"
	// DeploymentAdditional is any further deployment of a multi-tenant application.
	DeploymentAdditional DeploymentType = "Additional"
	// DeploymentService is a deployment of a services-only application.
	DeploymentService DeploymentType = "Service"
)

// DeploymentDetails describe a deployment workload.
type DeploymentDetails struct {
	CommonDetails `json:",inline"`
	// Type is the role of the deployment: CAP, Router, Additional or Service.
	Type DeploymentType `json:"type"`
	// Replicas of the Deployment.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Ports the workload listens on. They become ports of the workload's Service. Without
	// ports, a CAP workload listens on 4004 and a Router on 5000.
	// +optional
	Ports []Ports `json:"ports,omitempty"`
	// LivenessProbe of the container.
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`
	// ReadinessProbe of the container.
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`
	// StartupProbe of the container.
	// +optional
	StartupProbe *corev1.Probe `json:"startupProbe,omitempty"`
	// PodDisruptionBudget creates a PodDisruptionBudget for the workload; its selector is
	// set by the operator.
	// +optional
	PodDisruptionBudget *policyv1.PodDisruptionBudgetSpec `json:"podDisruptionBudget,omitempty"`
	// HorizontalPodAutoscaler creates a HorizontalPodAutoscaler for the Deployment.
	// +optional
	HorizontalPodAutoscaler *AutoscalerSpec `json:"horizontalPodAutoscaler,omitempty"`
	// Stickiness creates an Istio DestinationRule with consistent-hash load balancing.
	// +optional
	Stickiness *Stickiness `json:"stickiness,omitempty"`
	// Monitoring configures metric scraping and the rules that decide when an outdated
	// version may be deleted.
	// +optional
	Monitoring *WorkloadMonitoring `json:"monitoring,omitempty"`
}

// NetworkPolicyType says who may reach a port.
// +kubebuilder:validation:Enum=Application;Cluster
type NetworkPolicyType string

// Port network policies.
const (
	// PortNetworkPolicyApplication opens the port to the application's own workloads.
	PortNetworkPolicyApplication NetworkPolicyType = "Application"
	// PortNetworkPolicyCluster opens the port to every pod in the cluster.
	PortNetworkPolicyCluster NetworkPolicyType = "Cluster"
)

// Ports describes one port of a deployment workload.
type Ports struct {
	// Name of the port, unique within the workload. Also the name of the Service port.
	Name string `json:"name"`
	// Port number the container listens on.
	Port int32 `json:"port"`
	// AppProtocol of the Service port (for example http or grpc).
	// +optional
	AppProtocol *string `json:"appProtocol,omitempty"`
	// NetworkPolicy says who may reach the port: Application (default) or Cluster.
	// +optional
	NetworkPolicy NetworkPolicyType `json:"networkPolicy,omitempty"`
	// RouterDestinationName adds a destination of this name, pointing at the port, to the
	// Router's `destinations` environment variable.
	// +optional
	RouterDestinationName string `json:"routerDestinationName,omitempty"`
}

// AutoscalerSpec configures a HorizontalPodAutoscaler for a deployment workload.
type AutoscalerSpec struct {
	// MinReplicas is the lower replica limit.
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// MaxReplicas is the upper replica limit.
	MaxReplicas int32 `json:"maxReplicas"`
	// Metrics used to compute the desired replica count.
	// +optional
	Metrics []autoscalingv2.MetricSpec `json:"metrics,omitempty"`
	// Behavior configures scaling up and down.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}
