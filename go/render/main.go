// Command cairn-render renders what Flux would apply for an app at a target version, with the
// engines Flux itself uses: Helm's action package (client-only install, as `helm template`) for
// HelmReleases and fluxcd/pkg/kustomize (the generator, build and post-build substitution of
// kustomize-controller) for Kustomizations. It reads one JSON request on stdin and writes one
// JSON answer on stdout, so the controller never parses templates itself.
//
// It never talks to a cluster or the network: the controller fetches the chart and the Git
// tree, resolves valuesFrom and substituteFrom, and hands over files and plain data.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// request is one render job: exactly one of Helm and Kustomize is set.
type request struct {
	Helm      *helmRequest      `json:"helm,omitempty"`
	Kustomize *kustomizeRequest `json:"kustomize,omitempty"`
}

// answer carries the rendered multi-document YAML, or the reason it could not be rendered.
type answer struct {
	Manifest string `json:"manifest,omitempty"`
	Error    string `json:"error,omitempty"`
}

// version is set at build time (-X main.version) to the engine versions, for --version.
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println(version)
		return
	}
	out := json.NewEncoder(os.Stdout)
	manifest, err := run(os.Stdin)
	if err != nil {
		// A render failure is an answer, not a crash: exit 0 with the message so the caller
		// can tell a chart that does not render from a helper that does not run.
		_ = out.Encode(answer{Error: err.Error()})
		return
	}
	if err := out.Encode(answer{Manifest: manifest}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(in io.Reader) (string, error) {
	var req request
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", fmt.Errorf("reading the request: %w", err)
	}
	switch {
	case req.Helm != nil && req.Kustomize == nil:
		return renderHelm(*req.Helm)
	case req.Kustomize != nil && req.Helm == nil:
		return renderKustomize(*req.Kustomize)
	default:
		return "", errors.New("the request must set exactly one of helm and kustomize")
	}
}
