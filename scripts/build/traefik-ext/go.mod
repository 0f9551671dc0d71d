// The extension point that Traefik's go.mod replaces with ./pkg/config/dynamic/ext: a nested module, so it is not
// in the github.com/traefik/traefik/v3 module zip. scripts/build-go.sh traefik copies this directory there.
module github.com/traefik/traefik/dynamic/ext

go 1.24
