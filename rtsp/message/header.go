package message

import (
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// A Header represents the header fields of an RTSP message.
//
// The keys are canonical header names as returned by CanonicalHeaderKey. The
// methods canonicalise the key they are given; code that indexes the map
// directly must do so itself.
type Header map[string][]string

// CanonicalHeaderKey returns the canonical form of the header name s. RTSP
// header names are case-insensitive; the canonical form is that of
// textproto.CanonicalMIMEHeaderKey ("content-type" becomes "Content-Type")
// except for the names RTSP spells differently, such as "CSeq", "RTP-Info"
// and "WWW-Authenticate". A name that contains a space or an invalid byte is
// returned unchanged.
func CanonicalHeaderKey(s string) string {
	k := textproto.CanonicalMIMEHeaderKey(s)
	switch k {
	case "Cseq":
		return "CSeq"
	case "Rtp-Info":
		return "RTP-Info"
	case "Www-Authenticate":
		return "WWW-Authenticate"
	case "Rtcp-Interval":
		return "RTCP-Interval"
	case "Keymgmt":
		return "KeyMgmt"
	}
	return k
}

// Get returns the first value associated with key, or "" if there is none.
func (h Header) Get(key string) string {
	if v := h[CanonicalHeaderKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns all values associated with key, in the order they were
// added. The returned slice is not a copy.
func (h Header) Values(key string) []string {
	return h[CanonicalHeaderKey(key)]
}

// Set replaces any existing values associated with key by the single value.
func (h Header) Set(key, value string) {
	h[CanonicalHeaderKey(key)] = []string{value}
}

// Add appends value to the values associated with key.
func (h Header) Add(key, value string) {
	k := CanonicalHeaderKey(key)
	h[k] = append(h[k], value)
}

// Del deletes the values associated with key.
func (h Header) Del(key string) {
	delete(h, CanonicalHeaderKey(key))
}

// Clone returns a deep copy of h, or nil if h is nil.
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	c := make(Header, len(h))
	for k, v := range h {
		c[k] = slices.Clone(v)
	}
	return c
}

// appendHeader appends the header fields of h to b in wire format: CSeq
// first, then the other fields sorted by name, each value on its own line.
// Content-Length is never taken from h; when body is not empty a
// Content-Length field giving its length is written after the others. CR
// and LF bytes in names and values are replaced by spaces so that a value
// cannot inject header fields. The blank line ending the header is appended
// too.
func appendHeader(b []byte, h Header, body []byte) []byte {
	for _, v := range h["CSeq"] {
		b = appendField(b, "CSeq", v)
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "CSeq" && k != "Content-Length" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b = appendField(b, k, v)
		}
	}
	if len(body) > 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

func appendField(b []byte, k, v string) []byte {
	b = appendSanitized(b, k)
	b = append(b, ": "...)
	b = appendSanitized(b, v)
	return append(b, "\r\n"...)
}

// appendSanitized appends s to b with CR and LF replaced by spaces.
func appendSanitized(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "\r\n") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
