package server

import (
	"testing"
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
			if _, err := decodeSaaS(data, forDelete); err != nil {
				assertFuzzBadRequest(t, err)
			}
		}
		if _, err := decodeSMS(data); err != nil {
			assertFuzzBadRequest(t, err)
		}
		_, _ = millis(string(data), []string{"a", "b"})
	})
}

func assertFuzzBadRequest(t *testing.T, err error) {
	t.Helper()
	se, ok := err.(*statusError)
	if !ok || se.code != 400 || se.message == "" {
		t.Fatalf("decode error %v is not a 400 with a message", err)
	}
}
