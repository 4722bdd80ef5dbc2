package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	generator "github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// kustomizeRequest names a checked-out source tree, the Kustomization's path inside it and the
// Kustomization object itself. postBuild.substituteFrom must already be resolved by the caller
// into postBuild.substitute (ConfigMap and Secret data first, inline values overriding them, as
// kustomize-controller loads them); the helper has no cluster access.
type kustomizeRequest struct {
	Root          string         `json:"root"`
	Path          string         `json:"path"`
	Kustomization map[string]any `json:"kustomization"`
	// Ignore is the GitRepository's spec.ignore; with the tree's .sourceignore files it decides
	// which files the artifact, and so the build, leaves out (the helper removes them from Root).
	Ignore *string `json:"ignore,omitempty"`
	// SparseCheckout is the GitRepository's spec.sparseCheckout: only those folders are in the
	// artifact.
	SparseCheckout []string `json:"sparseCheckout,omitempty"`
	// StrictSubstitutions mirrors kustomize-controller's StrictPostBuildSubstitutions gate.
	StrictSubstitutions bool `json:"strictSubstitutions,omitempty"`
}

func renderKustomize(r kustomizeRequest) (string, error) {
	if r.Root == "" || r.Kustomization == nil {
		return "", errors.New("kustomize: root and kustomization are required")
	}
	root, err := filepath.Abs(r.Root)
	if err != nil {
		return "", err
	}
	dirPath, err := securePath(root, r.Path)
	if err != nil {
		return "", err
	}
	if err := prepareSourceTree(root, r.Ignore, r.SparseCheckout); err != nil {
		return "", err
	}
	if _, err := os.Stat(dirPath); err != nil {
		return "", fmt.Errorf("kustomize: path %q not found in the source", r.Path)
	}
	u := unstructured.Unstructured{Object: r.Kustomization}
	// What kustomize-controller's generate step does: merge namespace, patches, images and
	// the rest of the Kustomization's spec into (or create) the folder's kustomization.yaml.
	if _, err := generator.NewGenerator(root, u).WriteFile(dirPath); err != nil {
		return "", fmt.Errorf("kustomize: generating kustomization.yaml: %w", err)
	}
	m, err := generator.SecureBuild(root, dirPath, false)
	if err != nil {
		return "", fmt.Errorf("kustomize build failed: %w", err)
	}
	_, hasPostBuild, _ := unstructured.NestedMap(u.Object, "spec", "postBuild")
	strategy, _, _ := unstructured.NestedString(u.Object, "spec", "postBuild", "substituteStrategy")
	for _, res := range m.Resources() {
		if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
			return "", fmt.Errorf("failed to decode Kubernetes apiVersion, kind and name from: %v", res.String())
		}
		if !hasPostBuild {
			continue
		}
		// Dry-run mode skips the cluster lookups of substituteFrom; the caller resolved them.
		out, err := generator.SubstituteVariables(context.Background(), nil, u, res,
			generator.SubstituteWithDryRun(true),
			generator.SubstituteWithStrict(r.StrictSubstitutions),
			generator.SubstituteWithAlways(strategy == "Always"))
		if err != nil {
			return "", fmt.Errorf("post build failed for '%s/%s': %w", res.GetGvk(), res.GetName(), err)
		}
		if out != nil {
			if _, err := m.Replace(res); err != nil {
				return "", err
			}
		}
	}
	yml, err := m.AsYaml()
	if err != nil {
		return "", fmt.Errorf("kustomize build failed: %w", err)
	}
	return string(yml), nil
}

// securePath joins path under root and refuses one that leaves it.
func securePath(root, path string) (string, error) {
	joined := filepath.Join(root, path)
	rel, err := filepath.Rel(root, joined)
	if err != nil || rel == ".." || (len(rel) > 2 && rel[:3] == "../") {
		return "", fmt.Errorf("kustomize: path %q leaves the source root", path)
	}
	return joined, nil
}
