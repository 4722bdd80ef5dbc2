// Package postrender is helm-controller v1.6.4's internal/postrender, copied unchanged (Apache
// 2.0, headers kept) because Go does not allow importing another module's internal package. It
// is what helm-controller runs on every chart it renders: spec.postRenderers (kustomize patches
// and images), spec.commonMetadata, and the origin labels helm.toolkit.fluxcd.io/name and
// /namespace on every object. Helm stores the post-rendered manifest, so a preview without it
// would see those labels removed from every object. Update it with helm-controller's version.
package postrender
