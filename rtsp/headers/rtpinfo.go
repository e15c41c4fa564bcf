package headers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RTPInfoEntry describes one stream in an RTP-Info header.
type RTPInfoEntry struct {
	// URL is the stream URL, the "url" parameter.
	URL string
	// SeqNum is the "seq" parameter: the sequence number of the first
	// packet sent after the request, or nil when absent.
	SeqNum *uint16
	// Timestamp is the "rtptime" parameter: the RTP timestamp matching the
	// start of the Range, or nil when absent.
	Timestamp *uint32
}

// RTPInfo is the value of an RTP-Info header (RFC 2326 §12.33): one entry
// per stream.
type RTPInfo []RTPInfoEntry

// Unmarshal parses an RTP-Info header value such as
// "url=rtsp://h/main/trackID=0;seq=12345;rtptime=2890844526", or a
// comma-separated list of such entries. As in RFC 7826 and gortsplib, a
// comma separates entries only when "url=" follows it, so URLs may contain
// commas; a URL may also be double-quoted, in which case it may contain ";"
// and ",". Every entry needs a url; unknown parameters are ignored. On error
// r is left unchanged.
func (r *RTPInfo) Unmarshal(v string) error {
	info, err := parseRTPInfo(v)
	if err != nil {
		return fmt.Errorf("rtsp: malformed RTP-Info header %q: %w", clip(v), err)
	}
	*r = info
	return nil
}

// startsWithURL reports whether s, after leading whitespace, starts with
// "url=".
func startsWithURL(s string) bool {
	s = strings.TrimLeft(s, " \t")
	return len(s) >= 4 && strings.EqualFold(s[:4], "url=")
}

func parseRTPInfo(v string) (RTPInfo, error) {
	entries, err := splitOutsideQuotes(v, ',', startsWithURL)
	if err != nil {
		return nil, err
	}
	info := make(RTPInfo, 0, len(entries))
	for _, entry := range entries {
		e, err := parseRTPInfoEntry(entry)
		if err != nil {
			return nil, err
		}
		info = append(info, e)
	}
	return info, nil
}

func parseRTPInfoEntry(s string) (RTPInfoEntry, error) {
	var e RTPInfoEntry
	params, err := splitOutsideQuotes(s, ';', always)
	if err != nil {
		return e, err
	}
	hasURL := false
	for _, p := range params {
		key, val, hasValue := cutParam(p)
		if key == "" && !hasValue {
			continue
		}
		val, err := unquote(val)
		if err != nil {
			return e, fmt.Errorf("parameter %q: %w", key, err)
		}
		switch key {
		case "url":
			if !isURL(val) {
				return e, fmt.Errorf("invalid url %q", val)
			}
			e.URL = val
			hasURL = true
		case "seq":
			n, err := parseUint(val, 1<<16-1)
			if err != nil {
				return e, fmt.Errorf("seq: %w", err)
			}
			seq := uint16(n)
			e.SeqNum = &seq
		case "rtptime":
			n, err := parseUint(val, 1<<32-1)
			if err != nil {
				return e, fmt.Errorf("rtptime: %w", err)
			}
			ts := uint32(n)
			e.Timestamp = &ts
		}
	}
	if !hasURL {
		return e, errors.New("entry without url")
	}
	return e, nil
}

// isURL reports whether u is non-empty and free of whitespace, control
// characters and double quotes.
func isURL(u string) bool {
	if u == "" {
		return false
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c == 0x7f || c == '"' {
			return false
		}
	}
	return true
}

// Marshal formats r as an RTP-Info header value: entries separated by ","
// and each written as "url=URL;seq=N;rtptime=T", omitting absent
// parameters. A URL containing ";" or "," is double-quoted. URLs must not
// contain whitespace, control characters or double quotes, which Unmarshal
// never returns.
func (r RTPInfo) Marshal() string {
	b := make([]byte, 0, 80*len(r))
	for i, e := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "url="...)
		if strings.ContainsAny(e.URL, ";,") {
			b = append(b, '"')
			b = append(b, e.URL...)
			b = append(b, '"')
		} else {
			b = append(b, e.URL...)
		}
		if e.SeqNum != nil {
			b = append(b, ";seq="...)
			b = strconv.AppendUint(b, uint64(*e.SeqNum), 10)
		}
		if e.Timestamp != nil {
			b = append(b, ";rtptime="...)
			b = strconv.AppendUint(b, uint64(*e.Timestamp), 10)
		}
	}
	return string(b)
}
