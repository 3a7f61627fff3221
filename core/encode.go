package core

import (
	"slices"
	"strconv"
)

// appendParam appends "&key=value" (no '&' when b is empty), both
// query-escaped exactly as url.Values.Encode does.
func appendParam(b []byte, key, value string) []byte {
	if len(b) > 0 {
		b = append(b, '&')
	}
	b = appendEscaped(b, key)
	b = append(b, '=')
	return appendEscaped(b, value)
}

const upperhex = "0123456789ABCDEF"

// appendEscaped is url.QueryEscape without the intermediate string.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~':
			b = append(b, ch)
		case ch == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperhex[ch>>4], upperhex[ch&15])
		}
	}
	return b
}

func appendServiceParams(b []byte, s Service) []byte {
	if s.ProviderKey != "" {
		b = appendParam(b, "provider_key", s.ProviderKey)
	} else {
		b = appendParam(b, "service_token", s.Token)
	}
	if s.ID != "" {
		b = appendParam(b, "service_id", s.ID)
	}
	return b
}

// appendCredentialParams encodes app credentials under prefix ("" for auth
// calls, "transactions[i]" for report). oauth endpoints and report never get
// a user_key/app_key mismatch because Credentials cannot hold both.
func appendCredentialParams(b []byte, c Credentials, withRedirect bool) []byte {
	switch c.kind {
	case KindUserKey:
		b = appendParam(b, "user_key", c.userKey)
	case KindAppID, KindOAuth:
		b = appendParam(b, "app_id", c.appID)
		if c.hasAppKey {
			b = appendParam(b, "app_key", c.appKey)
		}
		if withRedirect && c.redirect != "" {
			name := "redirect_url"
			if c.redirectURI {
				name = "redirect_uri"
			}
			b = appendParam(b, name, c.redirect)
		}
	}
	return b
}

// appendUsage encodes u as prefix[metric]=value in metric-name order.
func appendUsage(b []byte, prefix string, u Usage) []byte {
	if len(u) == 0 {
		return b
	}
	var arr [8]string
	names := arr[:0]
	for k := range u {
		names = append(names, k)
	}
	slices.Sort(names)
	var num [20]byte
	for _, k := range names {
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = appendEscaped(b, prefix)
		b = append(b, "%5B"...)
		b = appendEscaped(b, k)
		b = append(b, "%5D="...)
		b = append(b, strconv.AppendInt(num[:0], u[k], 10)...)
	}
	return b
}
