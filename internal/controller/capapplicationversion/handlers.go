package capapplicationversion

import (
	"k8s.io/client-go/tools/cache"

	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// appHandler calls notify with the namespace and name of every created application and of
// every spec change: a version waits for its application to exist and reads its services.
func appHandler(notify func(namespace, name string)) cache.ResourceEventHandlerFuncs {
	call := func(obj any) {
		if ca, ok := obj.(*v1alpha1.CAPApplication); ok {
			notify(ca.Namespace, ca.Name)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: call,
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1alpha1.CAPApplication)
			n, ok2 := newObj.(*v1alpha1.CAPApplication)
			if ok1 && ok2 && o.Generation != n.Generation {
				call(newObj)
			}
		},
	}
}
