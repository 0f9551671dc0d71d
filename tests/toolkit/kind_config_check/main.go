// kind-config-check: strict-decodes kind cluster config files into kind's own v1alpha4 types.
// Unknown or mistyped fields fail, exactly as `kind create cluster --config` would reject them.
// Usage: kind-config-check FILE... ; exit 0 when every file decodes, 1 otherwise.
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func check(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	if cfg.Kind != "Cluster" || cfg.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return fmt.Errorf("kind/apiVersion must be Cluster / kind.x-k8s.io/v1alpha4, got %q / %q", cfg.Kind, cfg.APIVersion)
	}
	v1alpha4.SetDefaultsCluster(&cfg)
	for i, n := range cfg.Nodes {
		if n.Role != v1alpha4.ControlPlaneRole && n.Role != v1alpha4.WorkerRole {
			return fmt.Errorf("nodes[%d].role %q is neither control-plane nor worker", i, n.Role)
		}
		for j, m := range n.ExtraMounts {
			if m.HostPath == "" || m.ContainerPath == "" {
				return fmt.Errorf("nodes[%d].extraMounts[%d]: hostPath and containerPath are required", i, j)
			}
		}
		for j, p := range n.ExtraPortMappings {
			if p.ContainerPort <= 0 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
				return fmt.Errorf("nodes[%d].extraPortMappings[%d]: port out of range", i, j)
			}
		}
	}
	out, _ := yaml.Marshal(cfg)
	fmt.Printf("--- %s\n%s", path, out)
	return nil
}

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
