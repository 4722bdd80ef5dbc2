package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/chartutil"
	"helm.sh/helm/v4/pkg/action"
	ci "helm.sh/helm/v4/pkg/chart"
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
	// SourceRoot is set for a chart folder in a Git tree: the tree ChartPath lies in. What the
	// GitRepository's artifact leaves out (Ignore, .sourceignore files, symlinks) is removed from
	// it first, and ValuesFiles are paths in it, as for source-controller's local chart builder.
	SourceRoot     string   `json:"sourceRoot,omitempty"`
	Ignore         *string  `json:"ignore,omitempty"`
	SparseCheckout []string `json:"sparseCheckout,omitempty"`
	// ValuesFiles is the HelmRelease's spec.chart.spec.valuesFiles: merged in order, they
	// replace the chart's default values, as source-controller packages the chart.
	ValuesFiles              []string `json:"valuesFiles,omitempty"`
	IgnoreMissingValuesFiles bool     `json:"ignoreMissingValuesFiles,omitempty"`
	// VersionMetadata is the SemVer build metadata Flux sets on the chart's version before
	// Helm renders it: source-controller's (the HelmChart's generation when valuesFiles are set)
	// or helm-controller's (an OCIRepository artifact's digest), as a template may print it.
	VersionMetadata string `json:"versionMetadata,omitempty"`
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
	if r.SourceRoot != "" {
		root, err := filepath.Abs(r.SourceRoot)
		if err != nil {
			return "", err
		}
		chartPath, err := filepath.Abs(r.ChartPath)
		if err != nil || (chartPath != root && !strings.HasPrefix(chartPath, root+string(filepath.Separator))) {
			return "", errors.New("helm: chartPath must lie inside sourceRoot")
		}
		if err := prepareSourceTree(root, r.Ignore, r.SparseCheckout); err != nil {
			return "", fmt.Errorf("helm: %w", err)
		}
	}
	chrt, err := loader.Load(r.ChartPath)
	if err != nil {
		return "", fmt.Errorf("helm: loading the chart: %w", err)
	}
	if r.VersionMetadata != "" {
		ver, err := semver.NewVersion(chrt.Metadata.Version)
		if err != nil {
			return "", fmt.Errorf("helm: the chart version %s is not SemVer: %w", chrt.Metadata.Version, err)
		}
		if *ver, err = ver.SetMetadata(r.VersionMetadata); err != nil {
			return "", fmt.Errorf("helm: versionMetadata %q: %w", r.VersionMetadata, err)
		}
		chrt.Metadata.Version = ver.String()
	}
	if len(r.ValuesFiles) > 0 {
		var merged map[string]any
		if r.SourceRoot != "" {
			merged, err = mergeFileValues(r.SourceRoot, r.ValuesFiles, r.IgnoreMissingValuesFiles)
		} else {
			merged, err = mergeChartValues(chrt, r.ValuesFiles, r.IgnoreMissingValuesFiles)
		}
		if err != nil {
			return "", fmt.Errorf("helm: valuesFiles: %w", err)
		}
		chrt.Values = merged
	}
	// source-controller builds a chart folder's dependencies into charts/ from their
	// repositories; the preview does not download them, so a chart missing one is refused
	// rather than rendered without it.
	if reqs := chrt.Metadata.Dependencies; len(reqs) > 0 {
		deps := make([]ci.Dependency, 0, len(reqs))
		for _, d := range reqs {
			deps = append(deps, d)
		}
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return "", fmt.Errorf("helm: %w", err)
		}
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
