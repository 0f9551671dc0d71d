// Package ext is Traefik's (empty) extension of the dynamic configuration: dynamic.HTTPConfiguration and
// dynamic.Router embed these structs inline; the open-source build adds no fields.
package ext

// HTTP extends dynamic.HTTPConfiguration.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}
