package certrenewal

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	certutil "k8s.io/client-go/util/cert"

	"github.com/capstan-io/capstan/internal/pki"
)

var (
	testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	testCfg = Config{Namespace: "ops", ServiceName: "capop-webhook", Validity: 1000 * 24 * time.Hour, RenewBefore: 60 * 24 * time.Hour}
)

// testCA is a CA valid from a year before testNow for the given time after it.
type testCA struct {
	cert   *x509.Certificate
	key    crypto.Signer
	pemCrt []byte
	pemKey []byte
}

func newTestCA(t *testing.T, validFor time.Duration) testCA {
	t.Helper()
	kp, err := pki.SelfSign(pki.CATemplate(pkix.Name{CommonName: "capop-webhook-ca"}, testNow.AddDate(-1, 0, 0), testNow.Add(validFor)))
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: kp.Cert, key: kp.Key, pemCrt: kp.CertPEM, pemKey: kp.KeyPEM}
}

// secretData is the chart's Secret with a serving certificate of ca that expires after
// validFor, for names.
func secretData(t *testing.T, ca testCA, validFor time.Duration, names []string) map[string][]byte {
	t.Helper()
	cfg := testCfg
	cfg.Validity = validFor
	certPEM, keyPEM, notAfter, err := sign(ca.cert, ca.key, cfg, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if names != nil {
		// Sign again for other names.
		kp, err := pki.Sign(&x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
			NotBefore: testNow.Add(-time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, ca.cert, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM = kp.CertPEM, kp.KeyPEM
	}
	return map[string][]byte{
		KeyCACert: ca.pemCrt, KeyCAKey: ca.pemKey, KeyCAExpiry: []byte(ca.cert.NotAfter.Format(time.RFC3339)),
		KeyCert: certPEM, KeyKey: keyPEM, KeyCertExpiry: []byte(notAfter.Format(time.RFC3339)),
	}
}

func TestRenew(t *testing.T) {
	ca := newTestCA(t, 3650*24*time.Hour)
	otherCA := newTestCA(t, 3650*24*time.Hour)
	day := 24 * time.Hour
	tests := map[string]struct {
		data func() map[string][]byte
		// wantRenewed: the serving certificate is replaced; wantChanged: the data changes.
		wantRenewed, wantChanged bool
		wantReason, wantErr      string
	}{
		"current certificate stays": {
			data: func() map[string][]byte { return secretData(t, ca, 900*day, nil) },
		},
		"expiring certificate is renewed": {
			data:        func() map[string][]byte { return secretData(t, ca, 30*day, nil) },
			wantRenewed: true, wantChanged: true, wantReason: "expires at",
		},
		"certificate at the renewal boundary is renewed": {
			data:        func() map[string][]byte { return secretData(t, ca, 60*day, nil) },
			wantRenewed: true, wantChanged: true,
		},
		"certificate of another CA is replaced": {
			data: func() map[string][]byte {
				d := secretData(t, ca, 900*day, nil)
				o := secretData(t, otherCA, 900*day, nil)
				d[KeyCert], d[KeyKey] = o[KeyCert], o[KeyKey]
				return d
			},
			wantRenewed: true, wantChanged: true, wantReason: "not valid for capop-webhook",
		},
		"certificate without the Service names is replaced": {
			data:        func() map[string][]byte { return secretData(t, ca, 900*day, []string{"evil.example.com"}) },
			wantRenewed: true, wantChanged: true, wantReason: "not valid for capop-webhook",
		},
		"garbage certificate is replaced": {
			data: func() map[string][]byte {
				d := secretData(t, ca, 900*day, nil)
				d[KeyCert] = []byte("not a certificate")
				return d
			},
			wantRenewed: true, wantChanged: true, wantReason: "missing or unreadable",
		},
		"missing CA expiry is recorded": {
			data: func() map[string][]byte {
				d := secretData(t, ca, 900*day, nil)
				delete(d, KeyCAExpiry)
				return d
			},
			wantChanged: true, wantReason: "recorded the CA expiry",
		},
		"missing CA key is an error": {
			data: func() map[string][]byte {
				d := secretData(t, ca, 900*day, nil)
				delete(d, KeyCAKey)
				return d
			},
			wantErr: "ca.key",
		},
		"expired CA is an error": {
			data: func() map[string][]byte {
				old := newTestCA(t, -day)
				return secretData(t, old, -2*day, nil)
			},
			wantErr: "CA expired",
		},
		"CA in its renewal window is left to helm upgrade": {
			data: func() map[string][]byte {
				soon := newTestCA(t, 30*day)
				return secretData(t, soon, 20*day, nil)
			},
			wantErr: "run helm upgrade to replace the CA",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.data()
			before := copyData(in)
			res, err := Renew(in, testCfg, testNow)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range before {
				if string(in[k]) != string(v) {
					t.Errorf("Renew modified its input key %s", k)
				}
			}
			if got := res.Data != nil; got != tc.wantChanged {
				t.Fatalf("changed=%v, want %v (reason %q)", got, tc.wantChanged, res.Reason)
			}
			if !strings.Contains(res.Reason, tc.wantReason) {
				t.Errorf("reason %q lacks %q", res.Reason, tc.wantReason)
			}
			if !tc.wantChanged {
				return
			}
			if string(res.Data[KeyCACert]) != string(in[KeyCACert]) || string(res.Data[KeyCAKey]) != string(in[KeyCAKey]) {
				t.Error("the CA changed")
			}
			if got := string(res.Data[KeyCAExpiry]); got != ca.cert.NotAfter.UTC().Format(time.RFC3339) {
				t.Errorf("ca.expiry %q", got)
			}
			renewed := string(res.Data[KeyCert]) != string(in[KeyCert])
			if renewed != tc.wantRenewed {
				t.Fatalf("serving certificate renewed=%v, want %v", renewed, tc.wantRenewed)
			}
			if renewed {
				checkRenewed(t, ca, res)
			}
		})
	}
}

// checkRenewed verifies the new serving certificate: chains to the CA for every Service name,
// is valid for Validity, matches its key and tls.expiry.
func checkRenewed(t *testing.T, ca testCA, res Result) {
	t.Helper()
	certs, err := certutil.ParseCertsPEM(res.Data[KeyCert])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	for _, name := range testCfg.DNSNames() {
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: testNow}); err != nil {
			t.Errorf("renewed certificate for %s: %v", name, err)
		}
	}
	if want := testNow.Add(testCfg.Validity); !certs[0].NotAfter.Equal(want) || !res.NotAfter.Equal(want) {
		t.Errorf("NotAfter %s (result %s), want %s", certs[0].NotAfter, res.NotAfter, want)
	}
	if got := string(res.Data[KeyCertExpiry]); got != testNow.Add(testCfg.Validity).Format(time.RFC3339) {
		t.Errorf("tls.expiry %q", got)
	}
	if _, err := tlsKeyPair(res.Data[KeyCert], res.Data[KeyKey]); err != nil {
		t.Errorf("certificate and key do not match: %v", err)
	}
}

func TestRenewNeverOutlivesTheCA(t *testing.T) {
	ca := newTestCA(t, 100*24*time.Hour)
	res, err := Renew(secretData(t, ca, 10*24*time.Hour, nil), testCfg, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("renewed certificate expires %s, the CA %s", res.NotAfter, ca.cert.NotAfter)
	}
}

func TestRenewerCheck(t *testing.T) {
	ca := newTestCA(t, 3650*24*time.Hour)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "capop-webhook-tls", Namespace: "ops", ResourceVersion: "1"},
		Data: secretData(t, ca, 30*24*time.Hour, nil)}
	t.Run("renews and writes with the read resourceVersion", func(t *testing.T) {
		client := fake.NewClientset(secret.DeepCopy())
		r := NewRenewer(client, secret.Name, testCfg)
		r.Now = func() time.Time { return testNow }
		if err := r.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := client.CoreV1().Secrets("ops").Get(context.Background(), secret.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Data[KeyCert]) == string(secret.Data[KeyCert]) {
			t.Fatal("the Secret still holds the expiring certificate")
		}
		// A second check finds nothing to do.
		client.ClearActions()
		if err := r.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, a := range client.Actions() {
			if a.GetVerb() != "get" {
				t.Errorf("second check did %s", a.GetVerb())
			}
		}
	})
	t.Run("a conflict is left to the replica that won", func(t *testing.T) {
		client := fake.NewClientset(secret.DeepCopy())
		client.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, conflictError()
		})
		r := NewRenewer(client, secret.Name, testCfg)
		r.Now = func() time.Time { return testNow }
		if err := r.Check(context.Background()); err != nil {
			t.Fatalf("conflict reported as error: %v", err)
		}
	})
	t.Run("a missing Secret is an error", func(t *testing.T) {
		r := NewRenewer(fake.NewClientset(), secret.Name, testCfg)
		if err := r.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "capop-webhook-tls") {
			t.Fatalf("error %v", err)
		}
	})
}
