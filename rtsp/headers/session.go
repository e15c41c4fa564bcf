package headers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Session is the value of a Session header (RFC 2326 §12.37).
type Session struct {
	// ID is the session identifier: one or more alphanumerics or the
	// characters "$-_.+".
	ID string
	// Timeout is the "timeout" parameter in seconds, or nil when absent.
	Timeout *uint
}

// Unmarshal parses a Session header value such as "12345678" or
// "12345678;timeout=60". Whitespace around the parameters is allowed and
// unknown parameters are ignored. On error s is left unchanged.
func (s *Session) Unmarshal(v string) error {
	ss, err := parseSession(v)
	if err != nil {
		return fmt.Errorf("rtsp: malformed Session header %q: %w", clip(v), err)
	}
	*s = ss
	return nil
}

func parseSession(v string) (Session, error) {
	var s Session
	params := strings.Split(v, ";")
	s.ID = strings.TrimSpace(params[0])
	if s.ID == "" {
		return s, errors.New("empty session identifier")
	}
	if !isSessionID(s.ID) {
		return s, errors.New("invalid character in session identifier")
	}
	for _, p := range params[1:] {
		key, val, hasValue := cutParam(p)
		switch {
		case key == "" && !hasValue:
			continue
		case key == "timeout":
			n, err := parseUint(val, 1<<32-1)
			if err != nil {
				return s, fmt.Errorf("timeout: %w", err)
			}
			t := uint(n)
			s.Timeout = &t
		}
	}
	return s, nil
}

// isSessionID reports whether id consists of the characters RFC 2326
// allows in a session identifier.
func isSessionID(id string) bool {
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '$', c == '-', c == '_', c == '.', c == '+':
		default:
			return false
		}
	}
	return true
}

// Marshal formats s as a Session header value, such as "12345678" or
// "12345678;timeout=60". It does not validate ID.
func (s Session) Marshal() string {
	if s.Timeout == nil {
		return s.ID
	}
	return s.ID + ";timeout=" + strconv.FormatUint(uint64(*s.Timeout), 10)
}
