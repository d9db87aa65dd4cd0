package payload

import (
	"testing"

	"github.com/capstan-io/capstan/internal/server/httperr"
)

// FuzzDecodePayloads feeds arbitrary bodies to both payload decoders: they must never panic,
// and every failure must be a 400 with a message.
func FuzzDecodePayloads(f *testing.F) {
	f.Add([]byte(`{"subscriptionGUID":"g","subscribedTenantId":"t","subscribedSubdomain":"s","globalAccountGUID":"a","subscriptionAppName":"n"}`))
	f.Add([]byte(`{"subscriber":{"app_tid":"t","subscriptionGUID":"g"},"rootApplication":{"appName":"a","subscriptionParams":{"subscriptionDomain":1}}}`))
	f.Add([]byte(`{"subscriptionParams":null}`))
	f.Add([]byte(`[{"a":1}]`))
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, forDelete := range []bool{false, true} {
			if _, err := DecodeSaaS(data, forDelete); err != nil {
				assertFuzzBadRequest(t, err)
			}
		}
		if _, err := DecodeSMS(data); err != nil {
			assertFuzzBadRequest(t, err)
		}
	})
}

func assertFuzzBadRequest(t *testing.T, err error) {
	t.Helper()
	se, ok := err.(*httperr.Error)
	if !ok || se.Code != 400 || se.Message == "" {
		t.Fatalf("decode error %v is not a 400 with a message", err)
	}
}
