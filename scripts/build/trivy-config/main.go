// trivy-config: Trivy's own Kubernetes misconfiguration scanner with its embedded checks (trivy-checks), without
// the CLI. The full `trivy` binary links the vulnerability DB, the image, SBOM, cloud and plugin code, and takes
// ~12 minutes to build on two cores; this wrapper links only pkg/iac, so `make setup` can build it for `make test`.
//
// Usage: trivy-config <dir>
// Scans every file under <dir> as Kubernetes YAML/JSON, offline (embedded checks and libraries only, no update,
// no telemetry), and prints the failures in the shape of `trivy config --format json`: Results[].Target and
// Results[].Misconfigurations[] with ID, AVDID, Title, Message, Severity and Status "FAIL".
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/kubernetes"
)

type misconf struct {
	ID       string
	AVDID    string
	Title    string
	Message  string
	Severity string
	Status   string
}

type result struct {
	Target            string
	Misconfigurations []misconf
}

func run(root string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	rs := rego.NewScanner(rego.WithEmbeddedPolicies(true), rego.WithEmbeddedLibraries(true))
	if err := rs.LoadPolicies(nil); err != nil {
		return fmt.Errorf("load embedded checks: %w", err)
	}
	scanner := kubernetes.NewScanner(rego.WithRegoScanner(rs))
	results, err := scanner.ScanFS(context.Background(), os.DirFS(abs), ".")
	if err != nil {
		return fmt.Errorf("scan %s: %w", root, err)
	}
	byTarget := map[string][]misconf{}
	for _, r := range results.GetFailed() {
		flat := r.Flatten()
		byTarget[flat.Location.Filename] = append(byTarget[flat.Location.Filename], misconf{
			ID: r.Rule().ID, AVDID: r.Rule().AVDID, Title: r.Rule().Summary, Message: flat.Description,
			Severity: string(flat.Severity), Status: "FAIL",
		})
	}
	out := struct{ Results []result }{Results: []result{}}
	for target, ms := range byTarget {
		sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
		out.Results = append(out.Results, result{Target: filepath.ToSlash(target), Misconfigurations: ms})
	}
	sort.Slice(out.Results, func(i, j int) bool { return out.Results[i].Target < out.Results[j].Target })
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: trivy-config <dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-config:", err)
		os.Exit(1)
	}
}
