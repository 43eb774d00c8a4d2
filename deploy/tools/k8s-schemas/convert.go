// Package main turns the Kubernetes OpenAPI definitions and CustomResourceDefinitions
// into standalone, strict JSON schemas named the way kubeconform looks them up
// (`{{ .ResourceKind }}{{ .KindSuffix }}.json`, e.g. statefulset-apps-v1.json), so the
// chart can be validated with no network access.
package main

import (
	"fmt"
	"sort"
	"strings"
)

type node = map[string]any

const refPrefix = "#/definitions/"

// Definitions whose Go types marshal to more than one JSON type.
var specialDefinitions = map[string]node{
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": intOrString(),
	"io.k8s.apimachinery.pkg.api.resource.Quantity":   {"oneOf": []any{node{"type": "string"}, node{"type": "number"}}},
}

func intOrString() node {
	return node{"oneOf": []any{node{"type": "string"}, node{"type": "integer"}}}
}

// SchemaFileName mirrors kubeconform's lookup name for a kind and apiVersion.
func SchemaFileName(kind, group, version string) string {
	name := strings.ToLower(kind)
	if group != "" {
		name += "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return name + "-" + strings.ToLower(version) + ".json"
}

func apiVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

// Strict copies a schema node: objects with properties refuse unknown fields (as the
// API server does), int-or-string formats accept both types, descriptions and
// x-kubernetes-* annotations are dropped to keep the files small.
func Strict(in node) node {
	if in["format"] == "int-or-string" || in["x-kubernetes-int-or-string"] == true {
		return intOrString()
	}
	out := node{}
	for key, value := range in {
		if key == "description" || strings.HasPrefix(key, "x-") {
			continue
		}
		out[key] = strictValue(key, value)
	}
	_, hasProperties := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	if hasProperties && !hasAdditional && in["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	return out
}

func strictValue(key string, value any) any {
	switch key {
	case "properties", "patternProperties", "definitions":
		return strictEach(value)
	case "items", "additionalProperties", "not", "allOf", "anyOf", "oneOf":
		return strictSchemaOrList(value)
	}
	return value
}

func strictEach(value any) any {
	m, ok := value.(node)
	if !ok {
		return value
	}
	out := node{}
	for name, child := range m {
		out[name] = strictSchemaOrList(child)
	}
	return out
}

func strictSchemaOrList(value any) any {
	switch v := value.(type) {
	case node:
		return Strict(v)
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = strictSchemaOrList(item)
		}
		return out
	}
	return value
}

// KubernetesSchemas builds one schema per group/version/kind found in the swagger
// definitions (x-kubernetes-group-version-kind), each with the definitions it references.
func KubernetesSchemas(definitions node) (map[string]node, error) {
	converted := map[string]node{}
	for name, raw := range definitions {
		def, ok := raw.(node)
		if !ok {
			return nil, fmt.Errorf("definition %s is not an object", name)
		}
		if special, ok := specialDefinitions[name]; ok {
			converted[name] = special
		} else {
			converted[name] = Strict(def)
		}
	}
	files := map[string]node{}
	for _, name := range sortedKeys(definitions) {
		for _, gvk := range groupVersionKinds(definitions[name].(node)) {
			root := withKindEnums(converted[name], gvk)
			root["definitions"] = referencedDefinitions(root, converted)
			files[SchemaFileName(gvk.kind, gvk.group, gvk.version)] = root
		}
	}
	return files, nil
}

type groupVersionKind struct{ group, version, kind string }

func groupVersionKinds(def node) []groupVersionKind {
	list, _ := def["x-kubernetes-group-version-kind"].([]any)
	var out []groupVersionKind
	for _, item := range list {
		m, _ := item.(node)
		group, _ := m["group"].(string)
		version, _ := m["version"].(string)
		kind, _ := m["kind"].(string)
		if version != "" && kind != "" {
			out = append(out, groupVersionKind{group, version, kind})
		}
	}
	return out
}

// withKindEnums pins apiVersion and kind, so a manifest cannot borrow another kind's schema.
func withKindEnums(schema node, gvk groupVersionKind) node {
	root := node{}
	for k, v := range schema {
		root[k] = v
	}
	props, _ := schema["properties"].(node)
	pinned := node{}
	for k, v := range props {
		pinned[k] = v
	}
	pinned["apiVersion"] = node{"type": "string", "enum": []any{apiVersion(gvk.group, gvk.version)}}
	pinned["kind"] = node{"type": "string", "enum": []any{gvk.kind}}
	root["properties"] = pinned
	return root
}

// referencedDefinitions is the closure of the `#/definitions/...` references under root.
func referencedDefinitions(root node, all map[string]node) node {
	found := node{}
	pending := collectRefs(root, nil)
	for len(pending) > 0 {
		name := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		if _, seen := found[name]; seen {
			continue
		}
		def, ok := all[name]
		if !ok {
			continue
		}
		found[name] = def
		pending = collectRefs(def, pending)
	}
	return found
}

func collectRefs(value any, acc []string) []string {
	switch v := value.(type) {
	case node:
		for key, child := range v {
			if ref, ok := child.(string); ok && key == "$ref" && strings.HasPrefix(ref, refPrefix) {
				acc = append(acc, strings.TrimPrefix(ref, refPrefix))
			} else {
				acc = collectRefs(child, acc)
			}
		}
	case []any:
		for _, item := range v {
			acc = collectRefs(item, acc)
		}
	}
	return acc
}

// CRDSchemas builds one schema per served version of a CustomResourceDefinition.
func CRDSchemas(crd node) (map[string]node, error) {
	spec, _ := crd["spec"].(node)
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(node)
	kind, _ := names["kind"].(string)
	versions, _ := spec["versions"].([]any)
	if group == "" || kind == "" || len(versions) == 0 {
		return nil, fmt.Errorf("not a CustomResourceDefinition with spec.group, spec.names.kind and spec.versions")
	}
	files := map[string]node{}
	for _, raw := range versions {
		version, _ := raw.(node)
		name, _ := version["name"].(string)
		schema, _ := version["schema"].(node)
		openAPI, ok := schema["openAPIV3Schema"].(node)
		if !ok || name == "" {
			return nil, fmt.Errorf("%s: version without a name or an openAPIV3Schema", kind)
		}
		files[SchemaFileName(kind, group, name)] = withKindEnums(Strict(openAPI), groupVersionKind{group, name, kind})
	}
	return files, nil
}

func sortedKeys(m node) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
