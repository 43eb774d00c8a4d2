package main

import (
	"strings"
	"testing"
)

func TestConvertSplitsDocumentsAndSkipsEmptyOnes(t *testing.T) {
	in := "---\n# Source: a.yaml\nkind: A\nspec: {port: \"7400\", replicas: 1}\n---\n# only a comment\n---\nkind: B\n"
	docs, err := Convert([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || string(docs[0]) != `{"kind":"A","spec":{"port":"7400","replicas":1}}` || string(docs[1]) != `{"kind":"B"}` {
		t.Fatalf("docs = %s", docs)
	}
}

func TestConvertRefusesDuplicateKeys(t *testing.T) {
	_, err := Convert([]byte("kind: A\nkind: B\n"))
	if err == nil || !strings.Contains(err.Error(), "document 0") {
		t.Fatalf("err = %v", err)
	}
}
