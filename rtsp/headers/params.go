package headers

import (
	"errors"
	"strings"
)

// splitOutsideQuotes splits s at each sep byte that is outside a
// double-quoted string and for which split(rest), where rest is the text
// after the separator, reports true. It fails on an unterminated quote.
func splitOutsideQuotes(s string, sep byte, split func(rest string) bool) ([]string, error) {
	var parts []string
	start := 0
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted && split(s[i+1:]):
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("unterminated quoted string")
	}
	return append(parts, s[start:]), nil
}

func always(string) bool { return true }

// cutParam splits a "key=value" parameter, trimming whitespace around both
// and lower-casing the key. It reports whether there was an "=".
func cutParam(p string) (key, value string, hasValue bool) {
	key, value, hasValue = strings.Cut(p, "=")
	return strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value), hasValue
}

// unquote removes one pair of surrounding double quotes from v, failing if
// a quote remains inside.
func unquote(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if strings.IndexByte(v, '"') >= 0 {
		return "", errors.New("misplaced double quote")
	}
	return v, nil
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s for inclusion in an error message.
func clip(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
