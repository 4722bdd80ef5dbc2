package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/fluxcd/pkg/sourceignore"
)

// prepareSourceTree leaves in a checked-out tree only what a GitRepository's artifact holds:
// the sparse checkout first (a clone has nothing else), then the ignore rules.
func prepareSourceTree(root string, ignore *string, sparse []string) error {
	if err := applySparseCheckout(root, sparse); err != nil {
		return err
	}
	return applySourceIgnore(root, ignore)
}

// applySparseCheckout removes the files a sparse clone leaves out. source-controller v1.9.1
// trims a leading "./" from each spec.sparseCheckout entry and hands them to go-git v5.19.1,
// which checks out a file when its slash-separated path starts with an entry (a plain string
// prefix, Index.SkipUnless); then it refuses an entry that does not exist in the tree.
func applySparseCheckout(root string, sparse []string) error {
	if len(sparse) == 0 {
		return nil
	}
	prefixes := make([]string, len(sparse))
	for i, p := range sparse {
		prefixes[i] = strings.TrimPrefix(p, "./")
		full, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return fmt.Errorf("sparse checkout dir '%s' cannot be resolved: %w", p, err)
		}
		if _, err := os.Lstat(full); err != nil {
			return fmt.Errorf("sparse checkout dir '%s' does not exist in repository", p)
		}
	}
	return removeFiles(root, func(p string, _ os.FileInfo) (bool, error) {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return false, err
		}
		rel = filepath.ToSlash(rel)
		for _, prefix := range prefixes {
			if strings.HasPrefix(rel, prefix) {
				return false, nil
			}
		}
		return true, nil
	})
}

// removeFiles removes every file (anything but a folder) under root that drop selects.
func removeFiles(root string, drop func(p string, fi os.FileInfo) (bool, error)) error {
	var gone []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		d, err := drop(p, fi)
		if d {
			gone = append(gone, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, p := range gone {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

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
	return removeFiles(root, func(p string, fi os.FileInfo) (bool, error) {
		return !fi.Mode().IsRegular() || matcher.Match(strings.Split(p, string(filepath.Separator)), false), nil
	})
}
