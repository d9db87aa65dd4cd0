package payload

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/capstan-io/capstan/internal/server/httperr"
)

func TestDecodeSaaS(t *testing.T) {
	valid := `{"subscriptionGUID":"g1","subscribedTenantId":"t1","subscribedSubdomain":"sub","globalAccountGUID":"ga",
		"providerSubaccountId":"ps","subscriptionAppName":"app","subscriptionParams":{"subscriptionDomain":"d.example.com"},"eventType":"CREATE"}`
	tests := map[string]struct {
		body      string
		forDelete bool
		want      Subscription
		// wantErr is a substring of the 400 message.
		wantErr string
	}{
		"valid with unknown fields": {
			body: valid,
			want: Subscription{Kind: KindSaaS, GUID: "g1", TenantID: "t1", Subdomain: "sub", Accounts: []string{"ps", "ga"}, AppName: "app", Domain: "d.example.com"},
		},
		"only the global account": {
			body: `{"subscriptionGUID":"g1","subscribedTenantId":"t1","subscribedSubdomain":"s","globalAccountGUID":"ga","subscriptionAppName":"app"}`,
			want: Subscription{Kind: KindSaaS, GUID: "g1", TenantID: "t1", Subdomain: "s", Accounts: []string{"ga"}, AppName: "app"},
		},
		"delete needs only the tenant": {
			body: `{"subscribedTenantId":"t1"}`, forDelete: true,
			want: Subscription{Kind: KindSaaS, TenantID: "t1"},
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
			got, err := DecodeSaaS([]byte(tc.body), tc.forDelete)
			if tc.wantErr != "" {
				assertBadRequest(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("DecodeSaaS: %v", err)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeSaaS = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeSMS(t *testing.T) {
	valid := `{"subscriber":{"subscriptionGUID":"g1","app_tid":"t1","subaccountSubdomain":"sub","globalAccountId":"ga"},
		"rootApplication":{"providerSubaccountId":"ps","appName":"app","subscriptionParams":{"subscriptionDomain":"d"}}}`
	tests := map[string]struct {
		body    string
		want    Subscription
		wantErr string
	}{
		"valid": {
			body: valid,
			want: Subscription{Kind: KindSMS, GUID: "g1", TenantID: "t1", Subdomain: "sub", Accounts: []string{"ps", "ga"}, AppName: "app", Domain: "d"},
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
			got, err := DecodeSMS([]byte(tc.body))
			if tc.wantErr != "" {
				assertBadRequest(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("DecodeSMS: %v", err)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeSMS = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func assertBadRequest(t *testing.T, err error, want string) {
	t.Helper()
	var se *httperr.Error
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Fatalf("error %v, want a 400", err)
	}
	if !strings.Contains(se.Message, want) {
		t.Fatalf("message %q, want it to contain %q", se.Message, want)
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
			if err := CheckCallbackPath(tc.path); (err == nil) != tc.ok {
				t.Fatalf("CheckCallbackPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
			}
		})
	}
}
