// Package webhooks tests the admission webhooks through a real kube-apiserver: the webhook
// server runs in the test process on a loopback port with a certificate of a CA generated
// here, and Validating/MutatingWebhookConfigurations point the API server at it. The published
// examples are applied through the API server (client-go and kubectl) and must behave as
// examples/README.md says.
package webhooks

import (
	"testing"

	"github.com/capstan-io/capstan/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.RunMain(m, testenv.Options{})
}
