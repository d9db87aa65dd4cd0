// Package payload reads the subscription requests of the SAP SaaS provisioning service
// (saas-registry) and the Subscription Manager (SMS): the size-limited body, the two JSON
// payloads with a 400 naming the field for every wrong type or missing value, and the
// callback-path header. Nothing here reads the cluster.
package payload

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

	"github.com/capstan-io/capstan/internal/server/httperr"
)

// Service kinds: who calls and how it authenticates.
const (
	KindSaaS = "saas"
	KindSMS  = "sms"
)

// HeaderStatusCallback carries the callback path of an asynchronous operation.
const HeaderStatusCallback = "STATUS_CALLBACK"

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

// Subscription is what the server needs of either payload.
type Subscription struct {
	// Kind is KindSaaS or KindSMS.
	Kind      string
	GUID      string
	TenantID  string
	Subdomain string
	// Accounts identify the application, tried in order (provider subaccount, then global
	// account; spec section 0.1).
	Accounts []string
	AppName  string
	// Domain is the subscription domain the caller asks for, if any.
	Domain string
	// Raw is the payload as received, stored in the tenant's subscription-context Secret.
	Raw []byte
}

// ReadBody reads the (size-limited) body; an oversized body is a 413.
func ReadBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, httperr.New(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit), err)
		}
		return nil, httperr.BadRequest("reading the request body: %v", err)
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
			return httperr.BadRequest("field %s: expected %s, got JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		case errors.As(err, &typeErr):
			return httperr.BadRequest("the payload must be a JSON object, got JSON %s", typeErr.Value)
		case errors.As(err, &syntaxErr):
			return httperr.BadRequest("malformed JSON at byte %d: %v", syntaxErr.Offset, err)
		case errors.Is(err, io.EOF):
			return httperr.BadRequest("the payload is empty")
		default:
			return httperr.BadRequest("malformed JSON: %v", err)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return httperr.BadRequest("unexpected data after the JSON object")
	}
	return nil
}

// Field is a decoded string field with its JSON path, for validation.
type Field struct {
	Path  string
	Value string
	// Check, when set, validates the value (LabelValue, DNSLabel).
	Check func(string) []string
}

// Checks of field values.
var (
	// LabelValue: the value becomes a Kubernetes label value.
	LabelValue = validation.IsValidLabelValue
	// DNSLabel: the value becomes the first label of a host name (https://<subdomain>.<domain>)
	// and of the tenant's routing, so it must be one lower-case DNS label: no wildcard, dots,
	// slashes or upper case.
	DNSLabel = validation.IsDNS1123Label
)

// Require checks that fields are present and pass their checks.
func Require(fields ...Field) error {
	for _, f := range fields {
		if strings.TrimSpace(f.Value) == "" {
			return httperr.BadRequest("missing field %s", f.Path)
		}
		if f.Check != nil {
			if errs := f.Check(f.Value); len(errs) > 0 {
				return httperr.BadRequest("field %s: %q is invalid: %s", f.Path, f.Value, strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

// DecodeSaaS decodes and validates a SaaS payload. Deletion needs only the tenant id.
func DecodeSaaS(data []byte, forDelete bool) (Subscription, error) {
	var p saasPayload
	if err := decodeStrict(data, &p); err != nil {
		return Subscription{}, err
	}
	fields := []Field{{"subscribedTenantId", p.SubscribedTenantID, LabelValue}}
	if !forDelete {
		fields = append(fields,
			Field{"subscriptionGUID", p.SubscriptionGUID, LabelValue},
			Field{"subscribedSubdomain", p.SubscribedSubdomain, DNSLabel},
			Field{"subscriptionAppName", p.SubscriptionAppName, nil},
		)
	}
	if err := Require(fields...); err != nil {
		return Subscription{}, err
	}
	if !forDelete && p.ProviderSubaccountID == "" && p.GlobalAccountGUID == "" {
		return Subscription{}, httperr.BadRequest("missing field providerSubaccountId or globalAccountGUID")
	}
	sub := Subscription{
		Kind: KindSaaS, GUID: p.SubscriptionGUID, TenantID: p.SubscribedTenantID,
		Subdomain: p.SubscribedSubdomain, AppName: p.SubscriptionAppName, Raw: data,
		Accounts: NonEmpty(p.ProviderSubaccountID, p.GlobalAccountGUID),
	}
	if p.SubscriptionParams != nil {
		sub.Domain = p.SubscriptionParams.SubscriptionDomain
	}
	return sub, nil
}

// DecodeSMS decodes and validates an SMS subscription payload.
func DecodeSMS(data []byte) (Subscription, error) {
	var p smsPayload
	if err := decodeStrict(data, &p); err != nil {
		return Subscription{}, err
	}
	err := Require(
		Field{"subscriber.app_tid", p.Subscriber.AppTID, LabelValue},
		Field{"subscriber.subscriptionGUID", p.Subscriber.SubscriptionGUID, LabelValue},
		Field{"subscriber.subaccountSubdomain", p.Subscriber.SubaccountSubdomain, DNSLabel},
		Field{"rootApplication.appName", p.RootApplication.AppName, nil},
	)
	if err != nil {
		return Subscription{}, err
	}
	if p.RootApplication.ProviderSubaccountID == "" && p.Subscriber.GlobalAccountID == "" {
		return Subscription{}, httperr.BadRequest("missing field rootApplication.providerSubaccountId or subscriber.globalAccountId")
	}
	sub := Subscription{
		Kind: KindSMS, GUID: p.Subscriber.SubscriptionGUID, TenantID: p.Subscriber.AppTID,
		Subdomain: p.Subscriber.SubaccountSubdomain, AppName: p.RootApplication.AppName, Raw: data,
		Accounts: NonEmpty(p.RootApplication.ProviderSubaccountID, p.Subscriber.GlobalAccountID),
	}
	if p.RootApplication.SubscriptionParams != nil {
		sub.Domain = p.RootApplication.SubscriptionParams.SubscriptionDomain
	}
	return sub, nil
}

// NonEmpty returns the non-empty values in order, without duplicates.
func NonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// CheckCallbackPath accepts only a path: the token is sent to the service URL from the
// credentials plus this path, so the header must not be able to redirect it to another host.
func CheckCallbackPath(path string) error {
	if path == "" {
		return nil
	}
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.ContainsAny(path, "\\@#\r\n\t ") || len(path) > 2048 {
		return httperr.BadRequest("header %s must be a URL path", HeaderStatusCallback)
	}
	return nil
}
