// kubeadm v1.34 for airkube's kind node image (tools/airkube/cluster/kind_node_image.py), built from the same
// pinned k8s.io/kubernetes module as the multi-call binary in ../kube, so the two share the Go build cache.
package main

import (
	"os"

	"k8s.io/kubernetes/cmd/kubeadm/app"
)

func main() {
	if err := app.Run(); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}
