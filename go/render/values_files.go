package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/pkg/chartutil"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"sigs.k8s.io/yaml"
)

// The values files of a HelmRelease's spec.chart.spec.valuesFiles, merged as source-controller
// v1.9.1 does before it packages the chart (internal/helm/chart, mergeChartValues for a chart
// from a repository and mergeFileValues for a chart folder in a source tree): in order, each
// one merged over the ones before; "values.yaml" of a packaged chart is its default values; a
// missing file is an error unless ignoreMissingValuesFiles. The result replaces the chart's
// default values.

// mergeChartValues reads the files from the chart itself (a chart from a HelmRepository).
func mergeChartValues(chrt *chartv2.Chart, paths []string, ignoreMissing bool) (map[string]any, error) {
	merged := map[string]any{}
	for _, p := range paths {
		name := filepath.Clean(p)
		if name == "values.yaml" {
			merged = chartutil.MergeMaps(merged, chrt.Values)
			continue
		}
		var data []byte
		for _, f := range chrt.Files {
			if f.Name == name {
				data = f.Data
				break
			}
		}
		if data == nil {
			if ignoreMissing {
				continue
			}
			return nil, fmt.Errorf("no values file found at path '%s'", p)
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("unmarshaling values from '%s' failed: %w", p, err)
		}
		merged = chartutil.MergeMaps(merged, values)
	}
	return merged, nil
}

// mergeFileValues reads the files from the source tree (a chart folder of a GitRepository);
// a path cannot leave the tree.
func mergeFileValues(root string, paths []string, ignoreMissing bool) (map[string]any, error) {
	merged := map[string]any{}
	for _, p := range paths {
		full := filepath.Join(root, filepath.Clean(string(filepath.Separator)+p))
		fi, err := os.Lstat(full)
		switch {
		case err != nil && ignoreMissing && os.IsNotExist(err):
			continue
		case err != nil, !fi.Mode().IsRegular():
			return nil, fmt.Errorf("no values file found at path '%s' (reference '%s')",
				strings.TrimPrefix(full, root), p)
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("could not read values from file '%s': %w", p, err)
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("unmarshaling values from '%s' failed: %w", p, err)
		}
		merged = chartutil.MergeMaps(merged, values)
	}
	return merged, nil
}
