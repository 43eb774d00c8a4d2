package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

func parse(t *testing.T, text string) node {
	t.Helper()
	var n node
	if err := json.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSchemaFileNameMatchesKubeconformKindSuffix(t *testing.T) {
	cases := map[string][3]string{
		"service-v1.json":                    {"Service", "", "v1"},
		"statefulset-apps-v1.json":           {"StatefulSet", "apps", "v1"},
		"servicemonitor-monitoring-v1.json":  {"ServiceMonitor", "monitoring.coreos.com", "v1"},
		"poddisruptionbudget-policy-v1.json": {"PodDisruptionBudget", "policy", "v1"},
	}
	for want, in := range cases {
		if got := SchemaFileName(in[0], in[1], in[2]); got != want {
			t.Errorf("SchemaFileName(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestStrictRefusesUnknownFieldsButKeepsPropertyNames(t *testing.T) {
	in := parse(t, `{"description":"d","properties":{"description":{"type":"string"},
		"port":{"format":"int-or-string","type":"string"},
		"free":{"type":"object","properties":{"a":{}},"x-kubernetes-preserve-unknown-fields":true}}}`)
	want := parse(t, `{"additionalProperties":false,"properties":{"description":{"type":"string"},
		"port":{"oneOf":[{"type":"string"},{"type":"integer"}]},
		"free":{"type":"object","properties":{"a":{}}}}}`)
	if got := Strict(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("Strict = %v\nwant %v", got, want)
	}
}

func TestKubernetesSchemasEmbedReferencedDefinitionsOnly(t *testing.T) {
	defs := parse(t, `{
		"a.Thing": {"properties":{"apiVersion":{"type":"string"},"kind":{"type":"string"},"spec":{"$ref":"#/definitions/a.Spec"}},
			"x-kubernetes-group-version-kind":[{"group":"things.example.com","version":"v1","kind":"Thing"}]},
		"a.Spec": {"properties":{"size":{"$ref":"#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}}},
		"a.Unused": {"properties":{"x":{"type":"string"}}},
		"io.k8s.apimachinery.pkg.api.resource.Quantity": {"type":"string"}}`)
	files, err := KubernetesSchemas(defs)
	if err != nil {
		t.Fatal(err)
	}
	thing, ok := files["thing-things-v1.json"]
	if !ok || len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	embedded := thing["definitions"].(node)
	if _, ok := embedded["a.Unused"]; ok || len(embedded) != 2 {
		t.Fatalf("definitions = %v", embedded)
	}
	kind := thing["properties"].(node)["kind"].(node)
	if !reflect.DeepEqual(kind["enum"], []any{"Thing"}) {
		t.Fatalf("kind = %v", kind)
	}
}

func TestCRDSchemasRejectsNonCRD(t *testing.T) {
	if _, err := CRDSchemas(parse(t, `{"kind":"ConfigMap"}`)); err == nil {
		t.Fatal("want an error")
	}
}
