package main

import (
	"errors"
	"fmt"
	"strings"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/chartutil"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"

	"cairn.dev/render/postrender"
)

// helmRequest names a chart archive on disk and the inputs helm-controller passes to Helm.
type helmRequest struct {
	ChartPath   string `json:"chartPath"`
	ReleaseName string `json:"releaseName"`
	Namespace   string `json:"namespace"`
	KubeVersion string `json:"kubeVersion,omitempty"`
	// ValuesFrom holds the HelmRelease's valuesFrom references, resolved by the caller in
	// helm-controller's order (optional ones that are missing already left out).
	ValuesFrom []valuesLayer `json:"valuesFrom,omitempty"`
	// Values is the HelmRelease's spec.values.
	Values map[string]any `json:"values,omitempty"`
	// IncludeCRDs renders the chart's crds/ folder too; Helm storage keeps those out of the
	// release manifest, so a comparison with a stored release leaves it false.
	IncludeCRDs bool `json:"includeCRDs,omitempty"`
	// HelmRelease names the HelmRelease and carries its post-render settings; with it the
	// manifest is post-rendered as helm-controller does (its origin labels always).
	HelmRelease *helmReleaseRef `json:"helmRelease,omitempty"`
}

// helmReleaseRef is what helm-controller's post-renderers read of a HelmRelease.
type helmReleaseRef struct {
	Name           string             `json:"name"`
	Namespace      string             `json:"namespace"`
	PostRenderers  []v2.PostRenderer  `json:"postRenderers,omitempty"`
	CommonMetadata *v2.CommonMetadata `json:"commonMetadata,omitempty"`
}

func renderHelm(r helmRequest) (string, error) {
	if r.ChartPath == "" || r.ReleaseName == "" || r.Namespace == "" {
		return "", errors.New("helm: chartPath, releaseName and namespace are required")
	}
	chrt, err := loader.Load(r.ChartPath)
	if err != nil {
		return "", fmt.Errorf("helm: loading the chart: %w", err)
	}
	install := action.NewInstall(action.NewConfiguration())
	// Client-only: what `helm template --is-upgrade` does, with no cluster access.
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = r.ReleaseName
	install.Namespace = r.Namespace
	install.Replace = true
	install.IsUpgrade = true
	install.IncludeCRDs = r.IncludeCRDs
	install.DisableOpenAPIValidation = true
	if hr := r.HelmRelease; hr != nil {
		obj := &v2.HelmRelease{}
		obj.Name = hr.Name
		obj.Namespace = hr.Namespace
		obj.Spec.PostRenderers = hr.PostRenderers
		obj.Spec.CommonMetadata = hr.CommonMetadata
		install.PostRenderer = postrender.BuildPostRenderers(obj)
	}
	if r.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(r.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("helm: kubeVersion %q: %w", r.KubeVersion, err)
		}
		install.KubeVersion = kv
	}
	values, err := mergeValues(r.ValuesFrom, r.Values)
	if err != nil {
		return "", err
	}
	rel, err := install.Run(chrt, values)
	if err != nil {
		return "", fmt.Errorf("helm: rendering %s: %w", chrt.Name(), err)
	}
	v1, ok := rel.(*release.Release)
	if !ok {
		return "", fmt.Errorf("helm: unexpected release type %T", rel)
	}
	return strings.TrimSpace(v1.Manifest) + "\n", nil
}

// valuesLayer is one resolved valuesFrom reference: either a whole values document (Data is
// YAML) or, with TargetPath, one value set at that path as `--set` (or `--set-literal`) would.
type valuesLayer struct {
	Source     string `json:"source"`
	Data       string `json:"data"`
	TargetPath string `json:"targetPath,omitempty"`
	Literal    bool   `json:"literal,omitempty"`
}

// mergeValues is helm-controller's ChartValuesFromReferences after its lookups, with the same
// fluxcd/pkg/chartutil and Helm functions, so value parsing (strvals type inference, YAML) and
// merge precedence match it exactly: each reference in order, then spec.values on top.
func mergeValues(layers []valuesLayer, values map[string]any) (map[string]any, error) {
	if values == nil {
		values = map[string]any{}
	}
	result := common.Values{}
	for _, layer := range layers {
		if layer.TargetPath != "" {
			result = chartutil.MergeMaps(result, values)
			merge := chartutil.ReplacePathValue
			if layer.Literal {
				merge = chartutil.ReplacePathLiteralValue
			}
			if err := merge(result, layer.TargetPath, layer.Data); err != nil {
				return nil, fmt.Errorf("helm: valuesFrom %s at targetPath %q: %w", layer.Source, layer.TargetPath, err)
			}
			continue
		}
		doc, err := common.ReadValues([]byte(layer.Data))
		if err != nil {
			return nil, fmt.Errorf("helm: valuesFrom %s is not a values document: %w", layer.Source, err)
		}
		result = chartutil.MergeMaps(result, doc)
	}
	return chartutil.MergeMaps(result, values), nil
}
