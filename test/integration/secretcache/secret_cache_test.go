package secretcache

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capstan-io/capstan/internal/controller"
	"github.com/capstan-io/capstan/internal/controller/capapplication"
	"github.com/capstan-io/capstan/internal/controller/capapplicationversion"
	"github.com/capstan-io/capstan/internal/controller/captenant"
	"github.com/capstan-io/capstan/internal/controller/captenantoperation"
	"github.com/capstan-io/capstan/internal/controller/controllertest"
	"github.com/capstan-io/capstan/internal/controller/credentialrollout"
	"github.com/capstan-io/capstan/internal/controller/domain"
	"github.com/capstan-io/capstan/internal/testenv"
)

const (
	// unrelated is the number of Secrets that belong to no application.
	unrelated = 100
	// payload is the size of each Secret's data.
	payload = 32 << 10
)

// TestUnrelatedSecretsCostOnlyMetadata creates many large Secrets that belong to no
// application, builds every controller on a real context and checks what the caches hold:
// the Secrets as PartialObjectMetadata without managedFields, and no full Secret anywhere.
func TestUnrelatedSecretsCostOnlyMetadata(t *testing.T) {
	env := testenv.Current()
	ns := env.NewNamespace(t)
	ctx := context.Background()
	data := strings.Repeat("x", payload)
	for i := range unrelated {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%03d", i), Namespace: ns,
			Labels: map[string]string{"app": "someone-else"}}, StringData: map[string]string{"blob": data}}
		if _, err := env.Clientset().CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{FieldManager: "test"}); err != nil {
			t.Fatal(err)
		}
	}

	cctx, broadcaster, err := controller.NewContext(env.Config, controllertest.DefaultOptions(ns), controller.NewMetrics(false))
	if err != nil {
		t.Fatal(err)
	}
	defer broadcaster.Shutdown()
	constructors := []controllertest.Constructor{
		func(c *controller.Context) (controller.Runnable, error) { return capapplication.NewController(c) },
		func(c *controller.Context) (controller.Runnable, error) {
			return capapplicationversion.NewController(c)
		},
		func(c *controller.Context) (controller.Runnable, error) { return captenant.NewController(c) },
		func(c *controller.Context) (controller.Runnable, error) { return captenantoperation.NewController(c) },
		func(c *controller.Context) (controller.Runnable, error) { return domain.NewController(c) },
		func(c *controller.Context) (controller.Runnable, error) { return domain.NewClusterController(c) },
		func(c *controller.Context) (controller.Runnable, error) { return credentialrollout.NewController(c) },
	}
	for _, construct := range constructors {
		if _, err := construct(cctx); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); cctx.Shutdown() }()
	cctx.Start(runCtx)
	for typ, ok := range cctx.OwnedInformers.WaitForCacheSync(runCtx.Done()) {
		if !ok {
			t.Fatalf("informer %v did not sync", typ)
		}
		// The built-in factory only lists objects with the owner label, but no controller
		// should need Secret contents in a cache at all.
		if typ == reflect.TypeFor[*corev1.Secret]() {
			t.Errorf("an informer caches full Secrets")
		}
	}
	for gvr, ok := range cctx.SecretInformers.WaitForCacheSync(runCtx.Done()) {
		if !ok {
			t.Fatalf("metadata informer %v did not sync", gvr)
		}
	}

	objs, err := cctx.Secrets().Lister().ByNamespace(ns).List(labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < unrelated {
		t.Fatalf("the Secret cache holds %d Secrets of the namespace, want all %d (metadata)", len(objs), unrelated)
	}
	cached := 0
	for _, o := range objs {
		m, ok := o.(*metav1.PartialObjectMetadata)
		if !ok {
			t.Fatalf("the Secret cache holds a %T, want *v1.PartialObjectMetadata", o)
		}
		if len(m.ManagedFields) > 0 {
			t.Errorf("Secret %s is cached with %d managedFields entries", m.Name, len(m.ManagedFields))
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		cached += len(b)
	}
	// Each cached entry is a few hundred bytes of metadata; the Secrets hold 32 KiB each.
	if perSecret := cached / len(objs); perSecret > 2<<10 {
		t.Errorf("the cache holds %d bytes per Secret, want metadata only (under 2 KiB; the data is %d bytes)", perSecret, payload)
	}
}
