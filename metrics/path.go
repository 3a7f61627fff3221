package metrics

import (
	"path"
	"strings"
)

// normalizePath returns p as nginx's $uri would be: dot-segments resolved
// and duplicate slashes merged, a trailing slash kept, and a final "." or
// ".." segment leaving a trailing slash ("/a/b/." is "/a/b/", "/a/b/.." is
// "/a/"). The common clean path is returned as is, without allocating.
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] == '/' && !needsClean(p) {
		return p
	}
	c := path.Clean("/" + p)
	dir := strings.HasSuffix(p, "/") || strings.HasSuffix("/"+p, "/.") || strings.HasSuffix("/"+p, "/..")
	if dir && c != "/" {
		c += "/"
	}
	return c
}

func needsClean(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' || i+1 == len(p) {
			continue
		}
		switch rest := p[i+1:]; {
		case rest[0] == '/':
			return true
		case rest[0] == '.' && (len(rest) == 1 || rest[1] == '/'):
			return true
		case strings.HasPrefix(rest, "..") && (len(rest) == 2 || rest[2] == '/'):
			return true
		}
	}
	return false
}
