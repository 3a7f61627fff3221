package threescaletest

import (
	"errors"
	"fmt"
	"strings"
)

// This file re-implements the part of Rack's nested query parser
// (Rack::QueryParser#parse_nested_query, Rack 3.1) that apisonator relies
// on: "a[b][c]=v" builds nested hashes, "a[]=v" arrays, a key without "="
// yields nil, duplicate keys keep their first position and the last value.

const (
	paramsLimit    = 4096    // Rack's default params_limit
	bytesizeLimit  = 4194304 // Rack's default bytesize_limit
	paramDepthMax  = 32      // Rack's default param_depth_limit
	syntaxErrorMsg = "request contains syntax errors, should not be repeated without modification"
)

// A parameter value is one of: string, nil (key given without "="), *phash
// or *parray.
type pvalue = any

// phash is an insertion-ordered hash, like a Ruby Hash.
type phash struct {
	keys []string
	m    map[string]pvalue
}

type parray struct{ elems []pvalue }

func newHash() *phash { return &phash{m: map[string]pvalue{}} }

func (h *phash) get(k string) (pvalue, bool) {
	if h == nil {
		return nil, false
	}
	v, ok := h.m[k]
	return v, ok
}

func (h *phash) set(k string, v pvalue) {
	if _, ok := h.m[k]; !ok {
		h.keys = append(h.keys, k)
	}
	h.m[k] = v
}

func (h *phash) len() int {
	if h == nil {
		return 0
	}
	return len(h.keys)
}

// str returns the value of k if it is a string.
func (h *phash) str(k string) (string, bool) {
	v, _ := h.get(k)
	s, ok := v.(string)
	return s, ok
}

// merge copies the top-level entries of o into h (Hash#merge: o wins).
func (h *phash) merge(o *phash) {
	for _, k := range o.keys {
		h.set(k, o.m[k])
	}
}

// paramError is a Rack parsing failure; it always renders as bad_request
// with a body, even with no_body.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

var errTypeMismatch = errors.New("parameter type mismatch")

// parseNested parses a query string or form body.
func parseNested(qs string) (*phash, error) {
	params := newHash()
	if qs == "" {
		return params, nil
	}
	if len(qs) > bytesizeLimit {
		return nil, &paramError{"total query size exceeds limit (4194304)"}
	}
	if n := strings.Count(qs, "&"); n >= paramsLimit {
		return nil, &paramError{fmt.Sprintf("total number of query parameters (%d) exceeds limit (%d)", n+1, paramsLimit)}
	}
	for i, p := range strings.Split(qs, "&") {
		if i > 0 {
			p = strings.TrimLeft(p, " ") // Rack splits on /& */
		}
		if p == "" {
			continue
		}
		rawK, rawV, hasEq := strings.Cut(p, "=")
		k, err := unescape(rawK)
		if err != nil {
			return nil, err
		}
		var v pvalue
		if hasEq {
			s, err := unescape(rawV)
			if err != nil {
				return nil, err
			}
			v = s
		}
		if err := addParam(params, k, v); err != nil {
			return nil, err
		}
	}
	return params, nil
}

// addParam stores one decoded name/value pair into params.
func addParam(params *phash, name string, v pvalue) error {
	if _, err := normalize(params, name, v, 0); err != nil {
		return &paramError{syntaxErrorMsg}
	}
	return nil
}

// unescape is URI.decode_www_form_component: "+" is a space, "%XY" a byte,
// and a malformed escape is an error.
func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", &paramError{"Invalid query parameters: invalid %-encoding"}
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", &paramError{"Invalid query parameters: invalid %-encoding"}
			}
			b = append(b, hi<<4|lo)
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// normalize is Rack's _normalize_params. It returns the (possibly new)
// container to store at the parent's key.
func normalize(params *phash, name string, v pvalue, depth int) (pvalue, error) {
	if depth >= paramDepthMax {
		return nil, errTypeMismatch
	}
	var k, after string
	switch {
	case depth == 0:
		if i := strings.IndexByte(name[min(1, len(name)):], '['); name != "" && i >= 0 {
			k, after = name[:i+1], name[i+1:]
		} else {
			k = name
		}
	case strings.HasPrefix(name, "[]"):
		k, after = "[]", name[2:]
	case strings.HasPrefix(name, "[") && strings.IndexByte(name[1:], ']') >= 0:
		i := strings.IndexByte(name[1:], ']') + 1
		k, after = name[1:i], name[i+1:]
	default:
		k = name
	}
	if k == "" {
		return params, nil
	}
	switch {
	case after == "":
		if k == "[]" && depth != 0 {
			return &parray{elems: []pvalue{v}}, nil
		}
		params.set(k, v)
	case after == "[":
		params.set(name, v)
	case after == "[]":
		arr, err := arrayAt(params, k)
		if err != nil {
			return nil, err
		}
		arr.elems = append(arr.elems, v)
	case strings.HasPrefix(after, "[]"):
		childKey := after[2:]
		if len(after) > 4 && after[2] == '[' && strings.HasSuffix(after, "]") {
			if ck := after[3 : len(after)-1]; ck != "" && !strings.ContainsAny(ck, "[]") {
				childKey = ck
			}
		}
		arr, err := arrayAt(params, k)
		if err != nil {
			return nil, err
		}
		if n := len(arr.elems); n > 0 {
			if last, ok := arr.elems[n-1].(*phash); ok {
				if _, has := last.get(childKey); !has {
					_, err := normalize(last, childKey, v, depth+1)
					return params, err
				}
			}
		}
		child, err := normalize(newHash(), childKey, v, depth+1)
		if err != nil {
			return nil, err
		}
		arr.elems = append(arr.elems, child)
	default:
		cur, ok := params.get(k)
		if !ok || cur == nil {
			cur = newHash()
			params.set(k, cur)
		}
		h, isHash := cur.(*phash)
		if !isHash {
			return nil, errTypeMismatch
		}
		nv, err := normalize(h, after, v, depth+1)
		if err != nil {
			return nil, err
		}
		params.set(k, nv)
	}
	return params, nil
}

func arrayAt(params *phash, k string) (*parray, error) {
	cur, ok := params.get(k)
	if !ok || cur == nil {
		arr := &parray{}
		params.set(k, arr)
		return arr, nil
	}
	arr, isArr := cur.(*parray)
	if !isArr {
		return nil, errTypeMismatch
	}
	return arr, nil
}
