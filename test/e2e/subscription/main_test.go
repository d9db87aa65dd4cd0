// Package subscription holds the end-to-end tests of the subscription flow: the controller
// (application, version, tenant and tenant-operation controllers) and the subscription server
// run as processes against a control plane with kube-controller-manager, kube-scheduler and
// kwok, while loopback HTTPS servers play XSUAA and the SaaS registry's or Subscription
// Manager's callback receiver. A subscription request thus becomes a tenant that a real
// tenant-operation Job provisions, and the server reports the outcome through the callback.
package subscription

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{E2E: true})
}
