package captenant

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// schemaGVR names a resource in the tests.
type schemaGVR = schema.GroupVersionResource

// typeName returns the Go type name of an object.
func typeName(o runtime.Object) string { return fmt.Sprintf("%T", o) }
