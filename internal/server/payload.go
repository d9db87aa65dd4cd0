package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Service kinds: who calls and how it authenticates.
const (
	kindSaaS = "saas"
	kindSMS  = "sms"
)

// subscriptionParams are the subscription parameters the server reads.
type subscriptionParams struct {
	SubscriptionDomain string `json:"subscriptionDomain"`
}

// saasPayload is the SaaS provisioning service's subscription payload. Fields not listed here
// are allowed and ignored; the listed ones must have the right JSON type.
type saasPayload struct {
	SubscriptionGUID     string              `json:"subscriptionGUID"`
	SubscribedTenantID   string              `json:"subscribedTenantId"`
	SubscribedSubdomain  string              `json:"subscribedSubdomain"`
	GlobalAccountGUID    string              `json:"globalAccountGUID"`
	ProviderSubaccountID string              `json:"providerSubaccountId"`
	SubscriptionAppName  string              `json:"subscriptionAppName"`
	SubscriptionParams   *subscriptionParams `json:"subscriptionParams"`
}

// smsPayload is the Subscription Manager's subscription payload.
type smsPayload struct {
	Subscriber struct {
		SubscriptionGUID    string `json:"subscriptionGUID"`
		AppTID              string `json:"app_tid"`
		SubaccountSubdomain string `json:"subaccountSubdomain"`
		GlobalAccountID     string `json:"globalAccountId"`
	} `json:"subscriber"`
	RootApplication struct {
		ProviderSubaccountID string              `json:"providerSubaccountId"`
		AppName              string              `json:"appName"`
		SubscriptionParams   *subscriptionParams `json:"subscriptionParams"`
	} `json:"rootApplication"`
}

// subscription is what the server needs of either payload.
type subscription struct {
	kind      string
	guid      string
	tenantID  string
	subdomain string
	// accounts identify the application, tried in order (provider subaccount, then global
	// account; spec section 0.1).
	accounts []string
	appName  string
	domain   string
	// raw is the payload as received, stored in the tenant's subscription-context Secret.
	raw []byte
}

// badRequest formats a 400 error.
func badRequest(format string, args ...any) error {
	return fail(http.StatusBadRequest, fmt.Sprintf(format, args...), nil)
}

// readBody reads the (size-limited) body; an oversized body is a 413.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit), err)
		}
		return nil, badRequest("reading the request body: %v", err)
	}
	return data, nil
}

// decodeStrict decodes one JSON object into v. A wrong type names the field; trailing data
// is refused. Unknown fields are allowed: the services send many the server does not need.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return badRequest("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		case errors.As(err, &typeErr):
			return badRequest("the payload must be a JSON object, got JSON %s", typeErr.Value)
		case errors.As(err, &syntaxErr):
			return badRequest("malformed JSON at byte %d: %v", syntaxErr.Offset, err)
		case errors.Is(err, io.EOF):
			return badRequest("the payload is empty")
		default:
			return badRequest("malformed JSON: %v", err)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("unexpected data after the JSON object")
	}
	return nil
}

// field is a decoded string field with its JSON path, for validation.
type field struct {
	path  string
	value string
	// check, when set, validates the value (label values, DNS labels).
	check func(string) []string
}

// Checks of field values.
var (
	// labelValue: the value becomes a Kubernetes label value.
	labelValue = validation.IsValidLabelValue
	// dnsLabel: the value becomes the first label of a host name (https://<subdomain>.<domain>)
	// and of the tenant's routing, so it must be one lower-case DNS label: no wildcard, dots,
	// slashes or upper case.
	dnsLabel = validation.IsDNS1123Label
)

// require checks that fields are present and pass their checks.
func require(fields ...field) error {
	for _, f := range fields {
		if strings.TrimSpace(f.value) == "" {
			return badRequest("missing field %s", f.path)
		}
		if f.check != nil {
			if errs := f.check(f.value); len(errs) > 0 {
				return badRequest("field %s: %q is invalid: %s", f.path, f.value, strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

// decodeSaaS decodes and validates a SaaS payload. Deletion needs only the tenant id.
func decodeSaaS(data []byte, forDelete bool) (subscription, error) {
	var p saasPayload
	if err := decodeStrict(data, &p); err != nil {
		return subscription{}, err
	}
	fields := []field{{"subscribedTenantId", p.SubscribedTenantID, labelValue}}
	if !forDelete {
		fields = append(fields,
			field{"subscriptionGUID", p.SubscriptionGUID, labelValue},
			field{"subscribedSubdomain", p.SubscribedSubdomain, dnsLabel},
			field{"subscriptionAppName", p.SubscriptionAppName, nil},
		)
	}
	if err := require(fields...); err != nil {
		return subscription{}, err
	}
	if !forDelete && p.ProviderSubaccountID == "" && p.GlobalAccountGUID == "" {
		return subscription{}, badRequest("missing field providerSubaccountId or globalAccountGUID")
	}
	sub := subscription{
		kind: kindSaaS, guid: p.SubscriptionGUID, tenantID: p.SubscribedTenantID,
		subdomain: p.SubscribedSubdomain, appName: p.SubscriptionAppName, raw: data,
		accounts: nonEmpty(p.ProviderSubaccountID, p.GlobalAccountGUID),
	}
	if p.SubscriptionParams != nil {
		sub.domain = p.SubscriptionParams.SubscriptionDomain
	}
	return sub, nil
}

// decodeSMS decodes and validates an SMS subscription payload.
func decodeSMS(data []byte) (subscription, error) {
	var p smsPayload
	if err := decodeStrict(data, &p); err != nil {
		return subscription{}, err
	}
	err := require(
		field{"subscriber.app_tid", p.Subscriber.AppTID, labelValue},
		field{"subscriber.subscriptionGUID", p.Subscriber.SubscriptionGUID, labelValue},
		field{"subscriber.subaccountSubdomain", p.Subscriber.SubaccountSubdomain, dnsLabel},
		field{"rootApplication.appName", p.RootApplication.AppName, nil},
	)
	if err != nil {
		return subscription{}, err
	}
	if p.RootApplication.ProviderSubaccountID == "" && p.Subscriber.GlobalAccountID == "" {
		return subscription{}, badRequest("missing field rootApplication.providerSubaccountId or subscriber.globalAccountId")
	}
	sub := subscription{
		kind: kindSMS, guid: p.Subscriber.SubscriptionGUID, tenantID: p.Subscriber.AppTID,
		subdomain: p.Subscriber.SubaccountSubdomain, appName: p.RootApplication.AppName, raw: data,
		accounts: nonEmpty(p.RootApplication.ProviderSubaccountID, p.Subscriber.GlobalAccountID),
	}
	if p.RootApplication.SubscriptionParams != nil {
		sub.domain = p.RootApplication.SubscriptionParams.SubscriptionDomain
	}
	return sub, nil
}

// nonEmpty returns the non-empty values in order, without duplicates.
func nonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// checkCallbackPath accepts only a path: the token is sent to the service URL from the
// credentials plus this path, so the header must not be able to redirect it to another host.
func checkCallbackPath(path string) error {
	if path == "" {
		return nil
	}
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.ContainsAny(path, "\\@#\r\n\t ") || len(path) > 2048 {
		return badRequest("header %s must be a URL path", headerStatusCallback)
	}
	return nil
}
