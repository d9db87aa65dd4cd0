package main

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestTrimDocs(t *testing.T) {
	in := `
description: Volumes of the pod.
type: array
items:
  description: Volume represents a named volume.
  type: object
  required: [name]
  properties:
    name: {type: string, description: name of the volume}
    secret:
      description: secret represents a secret.
      type: object
      properties:
        secretName: {type: string, description: name of the secret}
        items:
          type: array
          items:
            description: Maps a key.
            type: object
            properties:
              key: {type: string, description: the key}
        labels:
          type: object
          additionalProperties: {type: string, description: a value}
    quantity:
      anyOf: [{type: integer, description: int}, {type: string}]
      x-kubernetes-int-or-string: true
`
	want := `
description: Volumes of the pod.
type: array
items:
  type: object
  required: [name]
  properties:
    name: {type: string, description: name of the volume}
    secret:
      description: secret represents a secret.
      type: object
      properties:
        secretName: {type: string}
        items:
          type: array
          items:
            type: object
            properties:
              key: {type: string}
        labels:
          type: object
          additionalProperties: {type: string}
    quantity:
      anyOf: [{type: integer}, {type: string}]
      x-kubernetes-int-or-string: true
`
	var got, exp map[string]any
	if err := yaml.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	trimDocs(got, 1)
	if !reflect.DeepEqual(got, exp) {
		g, _ := yaml.Marshal(got)
		t.Errorf("trimmed schema:\n%s\nwant:\n%s", g, want)
	}
}

func TestTrimCRDFailsOnMissingField(t *testing.T) {
	crd := map[string]any{"spec": map[string]any{"versions": []any{map[string]any{
		"schema": map[string]any{"openAPIV3Schema": map[string]any{"properties": map[string]any{}}},
	}}}}
	if err := trimCRD(crd); err == nil {
		t.Fatal("a schema without the workload definitions was accepted")
	}
}
