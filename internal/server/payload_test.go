package server

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeSaaS(t *testing.T) {
	valid := `{"subscriptionGUID":"g1","subscribedTenantId":"t1","subscribedSubdomain":"sub","globalAccountGUID":"ga",
		"providerSubaccountId":"ps","subscriptionAppName":"app","subscriptionParams":{"subscriptionDomain":"d.example.com"},"eventType":"CREATE"}`
	tests := map[string]struct {
		body      string
		forDelete bool
		want      subscription
		// wantErr is a substring of the 400 message.
		wantErr string
	}{
		"valid with unknown fields": {
			body: valid,
			want: subscription{kind: kindSaaS, guid: "g1", tenantID: "t1", subdomain: "sub", accounts: []string{"ps", "ga"}, appName: "app", domain: "d.example.com"},
		},
		"only the global account": {
			body: `{"subscriptionGUID":"g1","subscribedTenantId":"t1","subscribedSubdomain":"s","globalAccountGUID":"ga","subscriptionAppName":"app"}`,
			want: subscription{kind: kindSaaS, guid: "g1", tenantID: "t1", subdomain: "s", accounts: []string{"ga"}, appName: "app"},
		},
		"delete needs only the tenant": {
			body: `{"subscribedTenantId":"t1"}`, forDelete: true,
			want: subscription{kind: kindSaaS, tenantID: "t1"},
		},
		"wrong type":           {body: `{"subscribedTenantId":42}`, wantErr: "field subscribedTenantId: expected string, got JSON number"},
		"wrong nested type":    {body: strings.Replace(valid, `"d.example.com"`, `true`, 1), wantErr: "field subscriptionParams.subscriptionDomain"},
		"params not an object": {body: strings.Replace(valid, `{"subscriptionDomain":"d.example.com"}`, `"x"`, 1), wantErr: "field subscriptionParams"},
		"missing tenant":       {body: `{"subscriptionGUID":"g"}`, wantErr: "missing field subscribedTenantId"},
		"missing subdomain":    {body: strings.Replace(valid, `"subscribedSubdomain":"sub",`, "", 1), wantErr: "missing field subscribedSubdomain"},
		"missing accounts": {
			body:    `{"subscriptionGUID":"g1","subscribedTenantId":"t1","subscribedSubdomain":"s","subscriptionAppName":"app"}`,
			wantErr: "missing field providerSubaccountId or globalAccountGUID",
		},
		"null tenant":         {body: `{"subscribedTenantId":null}`, forDelete: true, wantErr: "missing field subscribedTenantId"},
		"invalid label value": {body: `{"subscribedTenantId":"a/b"}`, forDelete: true, wantErr: "field subscribedTenantId:"},
		// Subdomains become host names: https://<subdomain>.<domain>.
		"wildcard subdomain":   {body: strings.Replace(valid, `"sub"`, `"*"`, 1), wantErr: `field subscribedSubdomain: "*" is invalid`},
		"subdomain with a dot": {body: strings.Replace(valid, `"sub"`, `"evil.attacker"`, 1), wantErr: `field subscribedSubdomain: "evil.attacker" is invalid`},
		"subdomain with a slash": {
			body: strings.Replace(valid, `"sub"`, `"a/b"`, 1), wantErr: `field subscribedSubdomain: "a/b" is invalid`,
		},
		"upper-case subdomain": {body: strings.Replace(valid, `"sub"`, `"Sub"`, 1), wantErr: "a lowercase RFC 1123 label"},
		"array":                {body: `[]`, wantErr: "must be a JSON object"},
		"empty":                {body: ``, wantErr: "empty"},
		"syntax":               {body: `{"a":`, wantErr: "malformed JSON"},
		"trailing data":        {body: valid + `{}`, wantErr: "unexpected data"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decodeSaaS([]byte(tc.body), tc.forDelete)
			if tc.wantErr != "" {
				assertBadRequest(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("decodeSaaS: %v", err)
			}
			got.raw = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decodeSaaS = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeSMS(t *testing.T) {
	valid := `{"subscriber":{"subscriptionGUID":"g1","app_tid":"t1","subaccountSubdomain":"sub","globalAccountId":"ga"},
		"rootApplication":{"providerSubaccountId":"ps","appName":"app","subscriptionParams":{"subscriptionDomain":"d"}}}`
	tests := map[string]struct {
		body    string
		want    subscription
		wantErr string
	}{
		"valid": {
			body: valid,
			want: subscription{kind: kindSMS, guid: "g1", tenantID: "t1", subdomain: "sub", accounts: []string{"ps", "ga"}, appName: "app", domain: "d"},
		},
		"subscriber not an object": {body: `{"subscriber":"x"}`, wantErr: "field subscriber: expected"},
		"wrong nested type":        {body: strings.Replace(valid, `"t1"`, `[1]`, 1), wantErr: "field subscriber.app_tid"},
		"missing app name":         {body: strings.Replace(valid, `"appName":"app",`, "", 1), wantErr: "missing field rootApplication.appName"},
		"missing tenant":           {body: strings.Replace(valid, `"app_tid":"t1",`, "", 1), wantErr: "missing field subscriber.app_tid"},
		"wildcard subdomain":       {body: strings.Replace(valid, `"sub"`, `"*"`, 1), wantErr: `field subscriber.subaccountSubdomain: "*" is invalid`},
		"dotted subdomain":         {body: strings.Replace(valid, `"sub"`, `"a.b"`, 1), wantErr: `field subscriber.subaccountSubdomain: "a.b" is invalid`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decodeSMS([]byte(tc.body))
			if tc.wantErr != "" {
				assertBadRequest(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("decodeSMS: %v", err)
			}
			got.raw = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decodeSMS = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func assertBadRequest(t *testing.T, err error, want string) {
	t.Helper()
	var se *statusError
	if !errors.As(err, &se) || se.code != http.StatusBadRequest {
		t.Fatalf("error %v, want a 400", err)
	}
	if !strings.Contains(se.message, want) {
		t.Fatalf("message %q, want it to contain %q", se.message, want)
	}
}

func TestCheckCallbackPath(t *testing.T) {
	tests := map[string]struct {
		path string
		ok   bool
	}{
		"none":            {"", true},
		"path":            {"/saas-manager/v1/subscription-callback/123/result", true},
		"absolute URL":    {"https://evil.example.com/x", false},
		"scheme-relative": {"//evil.example.com/x", false},
		"userinfo":        {"/@evil.example.com", false},
		"relative":        {"x/y", false},
		"newline":         {"/a\r\nHost: x", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := checkCallbackPath(tc.path); (err == nil) != tc.ok {
				t.Fatalf("checkCallbackPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
			}
		})
	}
}

func TestMillis(t *testing.T) {
	tests := map[string]struct {
		value  any
		path   []string
		want   time.Duration
		wantOK bool
	}{
		"JSON string with string": {`{"callbackTimeoutMillis":"300000"}`, []string{"callbackTimeoutMillis"}, 5 * time.Minute, true},
		"JSON string with number": {`{"callbackTimeoutMillis":60000}`, []string{"callbackTimeoutMillis"}, time.Minute, true},
		"object, nested":          {map[string]any{"subscriptionCallbacks": map[string]any{"async": map[string]any{"timeoutInMillis": 1000.0}}}, []string{"subscriptionCallbacks", "async", "timeoutInMillis"}, time.Second, true},
		"nested JSON string":      {`{"subscriptionCallbacks":{"async":{"timeoutInMillis":"2000"}}}`, []string{"subscriptionCallbacks", "async", "timeoutInMillis"}, 2 * time.Second, true},
		"missing":                 {`{}`, []string{"callbackTimeoutMillis"}, 0, false},
		"not JSON":                {`nope`, []string{"callbackTimeoutMillis"}, 0, false},
		"not a number":            {`{"callbackTimeoutMillis":"soon"}`, []string{"callbackTimeoutMillis"}, 0, false},
		"absent credential":       {nil, []string{"callbackTimeoutMillis"}, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ms, ok := millis(tc.value, tc.path)
			if ok != tc.wantOK || time.Duration(ms)*time.Millisecond != tc.want {
				t.Fatalf("millis = %d, %v; want %v, %v", ms, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestAutoDependency(t *testing.T) {
	tests := map[string]struct {
		class, plan string
		creds       map[string]any
		want        bool
	}{
		"destination":         {"destination", "lite", nil, true},
		"connectivity":        {"connectivity", "", nil, true},
		"auditlog oauth2":     {"auditlog", "oauth2", nil, true},
		"auditlog standard":   {"auditlog", "standard", nil, false},
		"saas enabled bool":   {"html5-apps-repo", "", map[string]any{"saasregistryenabled": true}, true},
		"saas enabled string": {"x", "", map[string]any{"saasregistryenabled": "true"}, true},
		"saas disabled":       {"x", "", map[string]any{"saasregistryenabled": false}, false},
		"plain service":       {"xsuaa", "application", map[string]any{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := autoDependency(tc.class, tc.plan, tc.creds); got != tc.want {
				t.Fatalf("autoDependency = %v, want %v", got, tc.want)
			}
		})
	}
}
