package workload

import (
	"fmt"
	"slices"

	"github.com/capstan-io/capstan/internal/bindings"
	"github.com/capstan-io/capstan/pkg/apis/sme.sap.com/v1alpha1"
)

// BindingReader returns the data of a binding Secret of the application's namespace.
type BindingReader func(secretName string) (map[string][]byte, error)

// VCAPServices builds the VCAP_SERVICES JSON for a workload consuming the named services of
// an application. Entries are grouped by service class, in the order the application lists
// its services. Consumed names the application does not declare are returned in undeclared:
// their credentials cannot be injected.
func VCAPServices(services []v1alpha1.ServiceInfo, consumed []string, read BindingReader) (vcap string, undeclared []string, err error) {
	entries := map[string][]map[string]any{}
	for _, name := range consumed {
		if !slices.ContainsFunc(services, func(s v1alpha1.ServiceInfo) bool { return s.Name == name }) {
			undeclared = append(undeclared, name)
		}
	}
	for _, svc := range services {
		if !slices.Contains(consumed, svc.Name) {
			continue
		}
		data, err := read(svc.Secret)
		if err != nil {
			return "", undeclared, fmt.Errorf("reading binding secret %s of service %s: %w", svc.Secret, svc.Name, err)
		}
		entry, err := bindings.Entry(bindings.Service{Name: svc.Name, Class: svc.Class}, data)
		if err != nil {
			return "", undeclared, err
		}
		entries[svc.Class] = append(entries[svc.Class], entry)
	}
	vcap, err = bindings.VCAPServices(entries)
	return vcap, undeclared, err
}
