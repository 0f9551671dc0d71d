// Package nodns stands in for github.com/go-acme/lego/v5/providers/dns in the airkube build of Traefik:
// that package links every DNS-01 provider of lego, and the Go module proxy reachable here refuses the SDKs of
// a dozen of them (HTTP 403). scripts/build-go.sh points pkg/provider/acme at this package instead, so an ACME
// DNS challenge fails with this error; HTTP-01/TLS-ALPN-01, the Ingress and Gateway API providers are untouched.
package nodns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName refuses every provider name: none is compiled in.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("ACME DNS challenge provider %q: no DNS-01 provider is compiled into this Traefik build (airkube: lego's DNS providers need modules the Go proxy refuses)", name)
}
