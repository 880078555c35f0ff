package server

import (
	"net/http"
	"path"
	"strings"
)

// cleanPaths sends requests whose path is not clean ("//", "/a/../") to the
// protocol server, which refuses them in ECS's JSON error shape; ServeMux
// alone would answer them with a plain-text 307 redirect, which no AWS
// client expects. One trailing slash is clean: the console lives at
// /console/.
func cleanPaths(proto, mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "" || p[0] != '/' || cleanPath(p) != p {
			proto.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func cleanPath(p string) string {
	c := path.Clean(p)
	if c != "/" && strings.HasSuffix(p, "/") {
		c += "/"
	}
	return c
}
