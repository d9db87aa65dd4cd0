package migration

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/pager"
	"k8s.io/client-go/util/retry"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// secretsGVR is the resource of Secrets, read as metadata only: the migration never needs
// their data, and a namespace may hold many large Secrets.
var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// secretPageSize bounds the Secrets held in memory at once.
const secretPageSize = 250

// releaseSecrets removes the previous implementation's finalizer sme.sap.com/capapplication
// from every Secret of a namespace and returns how many Secrets it changed.
func (m *migrator) releaseSecrets(ctx context.Context, namespace string) (int, error) {
	secrets := m.meta.Resource(secretsGVR).Namespace(namespace)
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return secrets.List(ctx, opts)
	})
	p.PageSize = secretPageSize
	var (
		held []string
		errs []error
	)
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		if s, ok := obj.(metav1.Object); ok && slices.Contains(s.GetFinalizers(), v1alpha1.FinalizerCAPApplication) {
			held = append(held, s.GetName())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing Secrets in %s: %w", namespace, err)
	}
	released := 0
	for _, name := range held {
		err := retry.OnError(retry.DefaultBackoff, retriable, func() error {
			return m.removeSecretFinalizer(ctx, namespace, name)
		})
		switch {
		case err == nil:
			released++
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("removing finalizer %s from Secret %s/%s: %w", v1alpha1.FinalizerCAPApplication, namespace, name, err))
		}
	}
	return released, utilerrors.NewAggregate(errs)
}

// removeSecretFinalizer reads a Secret's metadata and removes the finalizer with a JSON
// patch that first tests the finalizer is still at its index, so a concurrent change of the
// list makes the patch fail (and be retried) instead of removing another finalizer.
func (m *migrator) removeSecretFinalizer(ctx context.Context, namespace, name string) error {
	secrets := m.meta.Resource(secretsGVR).Namespace(namespace)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	i := slices.Index(s.Finalizers, v1alpha1.FinalizerCAPApplication)
	if i < 0 {
		return nil
	}
	patch, err := controller.FinalizerRemovalPatch(i, v1alpha1.FinalizerCAPApplication)
	if err != nil {
		return err
	}
	_, err = secrets.Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: controller.FieldManager})
	if apierrors.IsInvalid(err) || controller.IsFailedPatchTest(err) {
		// The list changed between the read and the patch: read again.
		return apierrors.NewConflict(secretsGVR.GroupResource(), name, err)
	}
	return err
}
