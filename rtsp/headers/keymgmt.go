package headers

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupportedKeyMgmt is wrapped by the error KeyMgmt.Unmarshal returns
// when the header names no key management protocol other than ones this
// package does not speak (it speaks "mikey" only).
var ErrUnsupportedKeyMgmt = errors.New("no MIKEY key management")

// KeyMgmt is the value of a KeyMgmt header (RFC 4567 §3.2): the key
// management message that keys SRTP for an RTP/SAVP transport. Only the
// MIKEY protocol ("prot=mikey") is supported.
type KeyMgmt struct {
	// URL is the "uri" parameter: the media the key is for. It may be
	// empty.
	URL string
	// Data is the "data" parameter, base64-decoded: a MIKEY message (see
	// package rtsp/mikey).
	Data []byte
}

// Unmarshal parses a KeyMgmt header value such as
// `prot=mikey;uri="rtsps://cam/main/trackID=0";data="AQAFAP..."`. A value
// may list several comma-separated specifications; the first whose
// protocol is "mikey" is taken and the others are ignored. Errors do not
// quote the value, which carries key material. On error k is left
// unchanged.
func (k *KeyMgmt) Unmarshal(v string) error {
	specs, err := splitOutsideQuotes(v, ',', always)
	if err != nil {
		return fmt.Errorf("rtsp: malformed KeyMgmt header: %w", err)
	}
	var protos []string
	for _, spec := range specs {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		km, prot, err := parseKeyMgmt(spec)
		if err != nil {
			return fmt.Errorf("rtsp: malformed KeyMgmt header: %w", err)
		}
		if prot == "mikey" {
			*k = km
			return nil
		}
		protos = append(protos, fmt.Sprintf("%q", clip(prot)))
	}
	if len(protos) == 0 {
		return errors.New("rtsp: malformed KeyMgmt header: no key management specification")
	}
	return fmt.Errorf("rtsp: malformed KeyMgmt header: %w: protocols %s", ErrUnsupportedKeyMgmt, strings.Join(protos, ", "))
}

// parseKeyMgmt parses one key-mgmt-spec and returns its protocol, lower
// case. The data and uri parameters matter only for "mikey".
func parseKeyMgmt(spec string) (KeyMgmt, string, error) {
	var k KeyMgmt
	params, err := splitOutsideQuotes(spec, ';', always)
	if err != nil {
		return k, "", err
	}
	var prot string
	var data string
	var hasProt, hasData bool
	for _, p := range params {
		key, val, hasValue := cutParam(p)
		if key == "" && !hasValue {
			continue
		}
		val, err := unquote(val)
		if err != nil {
			return k, "", fmt.Errorf("parameter %q: %w", clip(key), err)
		}
		switch key {
		case "prot":
			if hasProt {
				return k, "", errors.New("prot given twice")
			}
			prot, hasProt = strings.ToLower(val), true
		case "uri":
			k.URL = val
		case "data":
			if hasData {
				return k, "", errors.New("data given twice")
			}
			data, hasData = val, true
		}
	}
	if !hasProt || prot == "" {
		return k, "", errors.New("missing prot parameter")
	}
	if prot != "mikey" {
		return k, prot, nil
	}
	if !hasData || data == "" {
		return k, "", errors.New("missing data parameter")
	}
	k.Data, err = base64.StdEncoding.DecodeString(data)
	if err != nil {
		return k, "", errors.New("data is not base64")
	}
	if len(k.Data) == 0 {
		return k, "", errors.New("data is empty") // base64 skips line breaks
	}
	if strings.ContainsAny(k.URL, "\"\r\n") {
		return k, "", errors.New("uri holds a quote or a line break")
	}
	return k, prot, nil
}

// Marshal formats k as a KeyMgmt header value:
// `prot=mikey;uri="URL";data="BASE64"`, with the uri parameter only when
// URL is not empty. URL must not hold double quotes or line breaks.
func (k KeyMgmt) Marshal() string {
	var b strings.Builder
	b.WriteString("prot=mikey")
	if k.URL != "" {
		b.WriteString(`;uri="`)
		b.WriteString(k.URL)
		b.WriteByte('"')
	}
	b.WriteString(`;data="`)
	b.WriteString(base64.StdEncoding.EncodeToString(k.Data))
	b.WriteByte('"')
	return b.String()
}
