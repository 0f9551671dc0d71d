// etcd server built from its Go module (the Debian package ships 3.4, older than Kubernetes 1.34 supports).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
