package main

// Usage, from deploy/tools (offline apart from the Go module proxy, which serves both sources):
//
//	go run ./k8s-schemas -kubernetes v1.36.3 -prometheus-operator v0.85.0 -out DIR
//
// Sources: api/openapi-spec/swagger.json of the k8s.io/kubernetes module and the
// ServiceMonitor CRD of the prometheus-operator module, fetched with `go mod download`.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

const (
	kubernetesModule = "k8s.io/kubernetes"
	promModule       = "github.com/prometheus-operator/prometheus-operator"
	swaggerPath      = "api/openapi-spec/swagger.json"
)

var crdPaths = []string{"jsonnet/prometheus-operator/servicemonitors-crd.json"}

func main() {
	kubernetes := flag.String("kubernetes", "", "k8s.io/kubernetes module version, e.g. v1.36.3")
	prom := flag.String("prometheus-operator", "", "prometheus-operator module version, e.g. v0.85.0")
	out := flag.String("out", "", "directory to write the schemas to (replaced)")
	flag.Parse()
	if *kubernetes == "" || *prom == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*kubernetes, *prom, *out); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-schemas:", err)
		os.Exit(1)
	}
}

func run(kubernetesVersion, promVersion, out string) error {
	files, err := kubernetesFiles(kubernetesVersion)
	if err != nil {
		return err
	}
	if err := addCRDFiles(files, promVersion); err != nil {
		return err
	}
	source := fmt.Sprintf("%s@%s %s@%s\n", kubernetesModule, kubernetesVersion, promModule, promVersion)
	if err := writeDir(out, files, source); err != nil {
		return err
	}
	fmt.Printf("k8s-schemas: %d schemas in %s from %s", len(files), out, source)
	return nil
}

func kubernetesFiles(version string) (map[string]node, error) {
	dir, err := moduleDir(kubernetesModule, version)
	if err != nil {
		return nil, err
	}
	var swagger struct {
		Definitions node `json:"definitions"`
	}
	if err := readJSON(filepath.Join(dir, swaggerPath), &swagger); err != nil {
		return nil, err
	}
	return KubernetesSchemas(swagger.Definitions)
}

func addCRDFiles(files map[string]node, version string) error {
	dir, err := moduleDir(promModule, version)
	if err != nil {
		return err
	}
	for _, path := range crdPaths {
		var crd node
		if err := readJSON(filepath.Join(dir, path), &crd); err != nil {
			return err
		}
		schemas, err := CRDSchemas(crd)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for name, schema := range schemas {
			files[name] = schema
		}
	}
	return nil
}

// moduleDir downloads a module through the Go module proxy (or finds it in the module
// cache) and returns its directory. It runs outside any module so no go.mod is touched.
func moduleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	cmd.Stderr = os.Stderr
	output, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(output, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: no directory (%s)", module, version, info.Error)
	}
	return info.Dir, nil
}

func readJSON(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeDir writes every schema and a SOURCE stamp into a fresh sibling directory, then
// swaps it into place, so a reader never sees a half-written set.
func writeDir(out string, files map[string]node, source string) error {
	tmp := out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for name, schema := range files {
		data, err := json.Marshal(schema)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "SOURCE"), []byte(source), 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
