package auth

// airkube build of Traefik: Traefik's fork github.com/containous/go-http-auth (refused by the Go module proxy) has
// a CheckSecret that upstream github.com/abbot/go-http-auth v0.4.0 lacks. scripts/build-go.sh copies this file
// into pkg/middlewares/auth and points basicAuth.checkSecret at it. The htpasswd formats Traefik documents:
// MD5 ($apr1$, $1$), SHA1 ({SHA}), bcrypt ($2a$, $2b$, $2y$); anything else is refused.

import (
	"crypto/sha1" //nolint:gosec // {SHA} htpasswd entries are SHA-1 by definition
	"crypto/subtle"
	"encoding/base64"
	"strings"

	goauth "github.com/abbot/go-http-auth"
	"golang.org/x/crypto/bcrypt"
)

func checkSecret(password, secret string) bool {
	switch {
	case strings.HasPrefix(secret, "{SHA}"):
		sum := sha1.Sum([]byte(password)) //nolint:gosec
		return subtle.ConstantTimeCompare([]byte(secret[5:]), []byte(base64.StdEncoding.EncodeToString(sum[:]))) == 1
	case strings.HasPrefix(secret, "$apr1$"), strings.HasPrefix(secret, "$1$"):
		parts := strings.SplitN(secret, "$", 4)
		if len(parts) != 4 {
			return false
		}
		magic := "$" + parts[1] + "$"
		return subtle.ConstantTimeCompare([]byte(secret), goauth.MD5Crypt([]byte(password), []byte(parts[2]), []byte(magic))) == 1
	case strings.HasPrefix(secret, "$2"):
		return bcrypt.CompareHashAndPassword([]byte(secret), []byte(password)) == nil
	default:
		return false
	}
}
