package capapplicationversion

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Short names for the signatures of the child descriptions in ensure.go.
type (
	ctxT       = context.Context
	createOpts = metav1.CreateOptions
	updateOpts = metav1.UpdateOptions
)
