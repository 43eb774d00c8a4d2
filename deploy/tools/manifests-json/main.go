// Command manifests-json reads a multi-document Kubernetes YAML stream (such as the
// output of `helm template`) on stdin and writes the documents as one JSON array on
// stdout, converted exactly as kubectl does (sigs.k8s.io/yaml). Duplicate keys are an
// error; empty documents are skipped.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"

	"sigs.k8s.io/yaml"
)

var separator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

func main() {
	input, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fail(err)
	}
	docs, err := Convert(input)
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(docs); err != nil {
		fail(err)
	}
}

// Convert splits a YAML stream on `---` lines and converts every non-empty document.
func Convert(input []byte) ([]json.RawMessage, error) {
	docs := []json.RawMessage{}
	for i, part := range separator.Split(string(input), -1) {
		converted, err := yaml.YAMLToJSONStrict([]byte(part))
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if bytes.Equal(bytes.TrimSpace(converted), []byte("null")) {
			continue
		}
		docs = append(docs, converted)
	}
	return docs, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "manifests-json:", err)
	os.Exit(1)
}
