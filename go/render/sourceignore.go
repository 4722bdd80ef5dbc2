package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
)

// applySourceIgnore removes from a checked-out tree what source-controller leaves out of a
// GitRepository's artifact, so the build sees the files kustomize-controller sees: the
// .sourceignore files in the tree and the GitRepository's spec.ignore, or, when neither gives a
// pattern, Flux's default exclusions (VCS files, CI folders, images and archives). Anything not
// a regular file (a symlink) is left out too, as the archive skips it. This is
// source-controller's reconcileArtifact and storage.SourceIgnoreFilter, with removal in place
// of archiving.
func applySourceIgnore(root string, ignore *string) error {
	domain := strings.Split(root, string(filepath.Separator))
	ps, err := sourceignore.LoadIgnorePatterns(root, domain)
	if err != nil {
		return fmt.Errorf("failed to load source ignore patterns from repository: %w", err)
	}
	if ignore != nil {
		ps = append(ps, sourceignore.ReadPatterns(strings.NewReader(*ignore), domain)...)
	}
	matcher := sourceignore.NewDefaultMatcher(ps, domain)
	if len(ps) > 0 {
		matcher = sourceignore.NewMatcher(append(sourceignore.VCSPatterns(domain), ps...))
	}
	var drop []string
	err = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		if !fi.Mode().IsRegular() || matcher.Match(strings.Split(p, string(filepath.Separator)), false) {
			drop = append(drop, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range drop {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
