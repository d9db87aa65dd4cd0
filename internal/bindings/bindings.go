// Package bindings turns SAP BTP service binding Secrets into VCAP_SERVICES entries.
//
// A binding Secret comes in one of two forms:
//   - a `credentials` key holding the credentials as one JSON object;
//   - one key per property plus a `.metadata` key that says which keys are metadata (top-level
//     entry fields) and which are credentials, and whether each value is text or JSON.
package bindings

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Keys of a binding Secret.
const (
	// MetadataKey holds the property description of the per-property form.
	MetadataKey = ".metadata"
	// CredentialsKey holds the credentials JSON of the single-key form.
	CredentialsKey = "credentials"
)

// Service identifies the service instance a binding belongs to.
type Service struct {
	// Name of the service instance.
	Name string
	// Class is the service offering, the key of the entry in VCAP_SERVICES.
	Class string
}

// property describes one key of a per-property binding Secret.
type property struct {
	Name       string `json:"name"`
	SourceName string `json:"sourceName"`
	Format     string `json:"format"`
	Container  bool   `json:"container"`
}

// metadata is the content of the `.metadata` key.
type metadata struct {
	MetaDataProperties   []property `json:"metaDataProperties"`
	CredentialProperties []property `json:"credentialProperties"`
}

// Entry builds the VCAP_SERVICES entry of one service from its binding Secret's data.
func Entry(svc Service, data map[string][]byte) (map[string]any, error) {
	if raw, ok := data[MetadataKey]; ok {
		return entryFromMetadata(svc, raw, data)
	}
	raw, ok := data[CredentialsKey]
	if !ok {
		return nil, fmt.Errorf("binding of service %q has neither a %q nor a %q key", svc.Name, MetadataKey, CredentialsKey)
	}
	var creds any
	if err := json.Unmarshal(raw, &creds); err != nil {
		return nil, fmt.Errorf("binding of service %q: key %q is not JSON: %w", svc.Name, CredentialsKey, err)
	}
	return map[string]any{
		"credentials":   creds,
		"label":         svc.Class,
		"name":          svc.Name,
		"instance_name": svc.Name,
		"tags":          []any{svc.Class},
	}, nil
}

// Credentials returns only the credentials of a binding, decoded into a map.
func Credentials(svc Service, data map[string][]byte) (map[string]any, error) {
	entry, err := Entry(svc, data)
	if err != nil {
		return nil, err
	}
	creds, ok := entry["credentials"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("binding of service %q: credentials are not a JSON object", svc.Name)
	}
	return creds, nil
}

// entryFromMetadata builds an entry from the per-property form.
func entryFromMetadata(svc Service, raw []byte, data map[string][]byte) (map[string]any, error) {
	var md metadata
	if err := json.Unmarshal(raw, &md); err != nil {
		return nil, fmt.Errorf("binding of service %q: key %q is not valid: %w", svc.Name, MetadataKey, err)
	}
	entry, err := collect(svc, md.MetaDataProperties, data, false)
	if err != nil {
		return nil, err
	}
	creds, err := collect(svc, md.CredentialProperties, data, true)
	if err != nil {
		return nil, err
	}
	entry["credentials"] = creds
	if _, ok := entry["label"]; !ok {
		entry["label"] = svc.Class
	}
	name := svc.Name
	if instance, ok := entry["instance_name"].(string); ok && instance != "" {
		name = instance
	}
	entry["name"] = name
	return entry, nil
}

// collect reads the described properties into a map. A JSON property marked as container
// replaces the whole map with its (object) value; for credentials nothing after it is read.
func collect(svc Service, props []property, data map[string][]byte, stopAtContainer bool) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range props {
		key := p.SourceName
		if key == "" {
			key = p.Name
		}
		raw, ok := data[key]
		if !ok {
			continue
		}
		value, err := decode(p.Format, raw)
		if err != nil {
			return nil, fmt.Errorf("binding of service %q: property %q: %w", svc.Name, p.Name, err)
		}
		if p.Container && p.Format == "json" {
			obj, ok := value.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("binding of service %q: container property %q is not a JSON object", svc.Name, p.Name)
			}
			out = obj
			if stopAtContainer {
				break
			}
			continue
		}
		out[p.Name] = value
	}
	return out, nil
}

// decode turns a raw property value into its JSON value.
func decode(format string, raw []byte) (any, error) {
	if format != "json" {
		return string(raw), nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("value is not JSON: %w", err)
	}
	return v, nil
}

// VCAPServices renders the VCAP_SERVICES JSON for entries grouped by class. Classes are
// written in sorted order and entries in the order given, so equal input gives equal output.
func VCAPServices(entries map[string][]map[string]any) (string, error) {
	classes := make([]string, 0, len(entries))
	for class := range entries {
		classes = append(classes, class)
	}
	sort.Strings(classes)
	out := make(map[string][]map[string]any, len(entries))
	for _, class := range classes {
		out[class] = entries[class]
	}
	data, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	return string(data), nil
}
