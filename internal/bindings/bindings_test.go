package bindings

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/capstan-io/capstan/examples"
)

// secretData reads a binding Secret of the examples the way the API server stores it.
func secretData(t *testing.T, path string) map[string][]byte {
	t.Helper()
	var s corev1.Secret
	if err := yaml.UnmarshalStrict(examples.MustRead(path), &s); err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for k, v := range s.StringData {
		data[k] = []byte(v)
	}
	return data
}

func TestVCAPServicesMatchesPublishedExample(t *testing.T) {
	xsuaa, err := Entry(Service{Name: "app-uaa", Class: "xsuaa"}, secretData(t, "bindings/xsuaa-with-metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	saas, err := Entry(Service{Name: "app-saas-registry", Class: "saas-registry"}, secretData(t, "bindings/saas-registry-plain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := VCAPServices(map[string][]map[string]any{"xsuaa": {xsuaa}, "saas-registry": {saas}})
	if err != nil {
		t.Fatal(err)
	}
	var gotJSON, wantJSON any
	if err := json.Unmarshal([]byte(got), &gotJSON); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(examples.MustRead("bindings/expected-vcap-services.json"), &wantJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotJSON, wantJSON) {
		t.Fatalf("VCAP_SERVICES differs from the published example:\ngot  %s", got)
	}
}

func TestEntryFromMetadata(t *testing.T) {
	tests := map[string]struct {
		data    map[string]string
		want    string // JSON of the entry
		wantErr string
	}{
		"source name and label default": {
			data: map[string]string{
				".metadata": `{"metaDataProperties":[{"name":"plan","sourceName":"the-plan","format":"text"}],"credentialProperties":[{"name":"port","format":"json"}]}`,
				"the-plan":  "lite", "port": "8080",
			},
			want: `{"plan":"lite","label":"hana","name":"svc","credentials":{"port":8080}}`,
		},
		"container credentials stop processing": {
			data: map[string]string{
				".metadata": `{"credentialProperties":[{"name":"a","format":"text"},{"name":"all","format":"json","container":true},{"name":"b","format":"text"}]}`,
				"a":         "1", "all": `{"x":"y"}`, "b": "2",
			},
			want: `{"label":"hana","name":"svc","credentials":{"x":"y"}}`,
		},
		"container metadata replaces and continues": {
			data: map[string]string{
				".metadata": `{"metaDataProperties":[{"name":"m","format":"json","container":true},{"name":"plan","format":"text"}]}`,
				"m":         `{"label":"custom","instance_name":"inst"}`, "plan": "p",
			},
			want: `{"label":"custom","instance_name":"inst","plan":"p","name":"inst","credentials":{}}`,
		},
		"missing keys are skipped": {
			data: map[string]string{".metadata": `{"credentialProperties":[{"name":"gone","format":"text"}]}`},
			want: `{"label":"hana","name":"svc","credentials":{}}`,
		},
		"bad json property": {
			data:    map[string]string{".metadata": `{"credentialProperties":[{"name":"n","format":"json"}]}`, "n": "{"},
			wantErr: `property "n": value is not JSON`,
		},
		"bad metadata": {
			data:    map[string]string{".metadata": `[`},
			wantErr: `key ".metadata" is not valid`,
		},
		"plain credentials": {
			data: map[string]string{"credentials": `{"url":"u"}`},
			want: `{"credentials":{"url":"u"},"label":"hana","name":"svc","instance_name":"svc","tags":["hana"]}`,
		},
		"no known key": {
			data:    map[string]string{"password": "x"},
			wantErr: `has neither a ".metadata" nor a "credentials" key`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := map[string][]byte{}
			for k, v := range tc.data {
				data[k] = []byte(v)
			}
			got, err := Entry(Service{Name: "svc", Class: "hana"}, data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("expected error %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			var gotMap map[string]any
			_ = json.Unmarshal(gotJSON, &gotMap)
			if !reflect.DeepEqual(gotMap, want) {
				t.Fatalf("got %s, want %s", gotJSON, tc.want)
			}
		})
	}
}
