package main

import (
	"reflect"
	"testing"
)

// The precedence helm-controller applies to valuesFrom and values: references in order, a later
// one overriding an earlier one, targetPath values typed as with `--set`, and spec.values on top,
// except where a targetPath lands inside a map spec.values also sets: MergeMaps shares that map,
// so the targetPath value wins there (auth.port below), as it does in helm-controller itself.
func TestMergeValuesOrder(t *testing.T) {
	layers := []valuesLayer{
		{Source: "ConfigMap/base", Data: "replicas: 1\nimage: {tag: a, repo: r}\n"},
		{Source: "Secret/override", Data: "image: {tag: b}\n"},
		{Source: "Secret/pw", Data: "42", TargetPath: "auth.port"},
		{Source: "Secret/flag", Data: "true", TargetPath: "auth.enabled"},
		{Source: "Secret/lit", Data: "a,b", TargetPath: "auth.list", Literal: true},
	}
	got, err := mergeValues(layers, map[string]any{"replicas": 3, "auth": map[string]any{"port": 99}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"replicas": 3,
		"image":    map[string]any{"tag": "b", "repo": "r"},
		"auth":     map[string]any{"port": int64(42), "enabled": true, "list": "a,b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestMergeValuesBadDocument(t *testing.T) {
	_, err := mergeValues([]valuesLayer{{Source: "ConfigMap/x", Data: "- a list"}}, nil)
	if err == nil {
		t.Fatal("a values document that is not a map must fail")
	}
}
