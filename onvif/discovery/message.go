package discovery

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strings"
)

// Namespaces of the messages (ONVIF Core §7, WS-Discovery 2005/04).
const (
	NSSOAP12     = "http://www.w3.org/2003/05/soap-envelope"
	NSSOAP11     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NSDiscovery  = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
	NSNetwork    = "http://www.onvif.org/ver10/network/wsdl"
	NSDevice     = "http://www.onvif.org/ver10/device/wsdl"

	// MatchByRFC3986 is the default scope matching rule.
	MatchByRFC3986 = NSDiscovery + "/rfc3986"
	// MatchByStrcmp0 compares scopes as plain strings.
	MatchByStrcmp0 = NSDiscovery + "/strcmp0"

	toDiscovery = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
	toAnonymous = NSAddressing + "/role/anonymous"
)

// deviceTypes are the types this responder implements.
var deviceTypes = []xml.Name{
	{Space: NSNetwork, Local: "NetworkVideoTransmitter"},
	{Space: NSDevice, Local: "Device"},
}

// kind is the kind of a parsed discovery message.
type kind int

const (
	kindOther kind = iota
	kindProbe
	kindResolve
)

// message is what the responder needs of an incoming SOAP message.
type message struct {
	Kind      kind
	MessageID string
	// Types are the requested types of a Probe, resolved to namespace
	// URIs; Unresolved counts QNames whose prefix was not declared.
	Types      []xml.Name
	Unresolved int
	// Scopes of a Probe, and their MatchBy rule ("" for the default).
	Scopes  []string
	MatchBy string
	// Address is the endpoint reference a Resolve asks for.
	Address string
}

// Limits on what the parser accepts.
const (
	maxDepth  = 32
	maxTokens = 4096
	maxItems  = 64
)

var errMalformed = errors.New("discovery: malformed message")

// parseMessage parses a SOAP envelope namespace-aware: elements are
// recognised by namespace URI, never by prefix, and QNames in d:Types are
// resolved against the xmlns declarations in scope.
func parseMessage(data []byte) (message, error) {
	var m message
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// path holds the element names from the root down; scopes the
	// prefix-to-namespace maps declared at each level.
	var path []xml.Name
	var scopes []map[string]string
	var text strings.Builder
	sawEnvelope := false
	for n := 0; ; n++ {
		if n > maxTokens {
			return m, errMalformed
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, errMalformed
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) >= maxDepth {
				return m, errMalformed
			}
			ns := map[string]string{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					ns[""] = a.Value
				}
			}
			path = append(path, t.Name)
			scopes = append(scopes, ns)
			text.Reset()
			if len(path) == 1 {
				if t.Name.Local != "Envelope" || (t.Name.Space != NSSOAP12 && t.Name.Space != NSSOAP11) {
					return m, errMalformed
				}
				sawEnvelope = true
			}
			if len(path) == 3 && isBody(path) && t.Name.Space == NSDiscovery {
				switch t.Name.Local {
				case "Probe":
					m.Kind = kindProbe
				case "Resolve":
					m.Kind = kindResolve
				}
			}
			if len(path) == 4 && m.Kind == kindProbe && isBody(path) && t.Name == (xml.Name{Space: NSDiscovery, Local: "Scopes"}) {
				for _, a := range t.Attr {
					if a.Name.Space == "" && a.Name.Local == "MatchBy" {
						m.MatchBy = strings.TrimSpace(a.Value)
					}
				}
			}
		case xml.CharData:
			if text.Len()+len(t) > len(data) {
				return m, errMalformed
			}
			text.Write(t)
		case xml.EndElement:
			if len(path) == 0 {
				return m, errMalformed
			}
			s := strings.TrimSpace(text.String())
			switch {
			case len(path) == 3 && isHeader(path) && t.Name == (xml.Name{Space: NSAddressing, Local: "MessageID"}):
				m.MessageID = s
			case len(path) == 4 && isBody(path) && m.Kind == kindProbe && t.Name == (xml.Name{Space: NSDiscovery, Local: "Types"}):
				for _, q := range strings.Fields(s) {
					if len(m.Types)+m.Unresolved >= maxItems {
						return m, errMalformed
					}
					if name, ok := resolveQName(q, scopes); ok {
						m.Types = append(m.Types, name)
					} else {
						m.Unresolved++
					}
				}
			case len(path) == 4 && isBody(path) && m.Kind == kindProbe && t.Name == (xml.Name{Space: NSDiscovery, Local: "Scopes"}):
				m.Scopes = strings.Fields(s)
				if len(m.Scopes) > maxItems {
					return m, errMalformed
				}
			case len(path) == 5 && isBody(path) && m.Kind == kindResolve &&
				path[3] == (xml.Name{Space: NSAddressing, Local: "EndpointReference"}) &&
				t.Name == (xml.Name{Space: NSAddressing, Local: "Address"}):
				m.Address = s
			}
			path = path[:len(path)-1]
			scopes = scopes[:len(scopes)-1]
			text.Reset()
		}
	}
	if !sawEnvelope || len(path) != 0 {
		return m, errMalformed
	}
	return m, nil
}

func isBody(path []xml.Name) bool {
	return len(path) >= 2 && path[1].Local == "Body" && path[1].Space == path[0].Space
}

func isHeader(path []xml.Name) bool {
	return len(path) >= 2 && path[1].Local == "Header" && path[1].Space == path[0].Space
}

// resolveQName resolves "prefix:local" (or "local", in the default
// namespace) against the innermost declaration of the prefix.
func resolveQName(q string, scopes []map[string]string) (xml.Name, bool) {
	prefix, local, ok := strings.Cut(q, ":")
	if !ok {
		prefix, local = "", q
	}
	if local == "" || strings.Contains(local, ":") {
		return xml.Name{}, false
	}
	for i := len(scopes) - 1; i >= 0; i-- {
		if ns, ok := scopes[i][prefix]; ok {
			if ns == "" {
				return xml.Name{}, false // undeclared default namespace
			}
			return xml.Name{Space: ns, Local: local}, true
		}
	}
	return xml.Name{}, false
}

// matchTypes reports whether a Probe's types select us: an empty list
// matches, otherwise any requested type that we implement does. A QName
// with an undeclared prefix matches nothing.
func matchTypes(requested []xml.Name, unresolved int) bool {
	if len(requested) == 0 {
		return unresolved == 0
	}
	for _, r := range requested {
		for _, t := range deviceTypes {
			if r == t {
				return true
			}
		}
	}
	return false
}

// matchScopes reports whether every requested scope matches one of ours
// under the rule matchBy (empty means RFC 3986).
func matchScopes(requested []string, matchBy string, ours []string) bool {
	var match func(req, have string) bool
	switch matchBy {
	case "", MatchByRFC3986:
		match = matchRFC3986
	case MatchByStrcmp0:
		match = func(req, have string) bool { return req == have }
	default:
		return false
	}
	for _, req := range requested {
		found := false
		for _, have := range ours {
			if match(req, have) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// matchRFC3986 is the WS-Discovery RFC 3986 rule: scheme and authority
// compare case-insensitively, and the requested path must be a
// segment-wise prefix of ours. A request with a query or fragment, or with
// "." or ".." segments, matches nothing.
func matchRFC3986(req, have string) bool {
	r, err := url.Parse(req)
	if err != nil || r.Opaque != "" || r.RawQuery != "" || r.Fragment != "" || r.Scheme == "" {
		return false
	}
	h, err := url.Parse(have)
	if err != nil || h.Opaque != "" {
		return false
	}
	if !strings.EqualFold(r.Scheme, h.Scheme) || !strings.EqualFold(r.Host, h.Host) || r.User.String() != h.User.String() {
		return false
	}
	rs, hs := segments(r.EscapedPath()), segments(h.EscapedPath())
	if len(rs) > len(hs) {
		return false
	}
	for i, s := range rs {
		if s == "." || s == ".." || s != hs[i] {
			return false
		}
	}
	return true
}

func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// Outgoing messages. Element names carry their prefixes literally and the
// envelope declares every prefix, so the output is namespace-correct.

type envelope struct {
	XMLName xml.Name `xml:"s:Envelope"`
	XMLNSs  string   `xml:"xmlns:s,attr"`
	XMLNSa  string   `xml:"xmlns:a,attr"`
	XMLNSd  string   `xml:"xmlns:d,attr"`
	XMLNSdn string   `xml:"xmlns:dn,attr"`
	XMLNSt  string   `xml:"xmlns:tds,attr"`
	Header  header   `xml:"s:Header"`
	Body    body     `xml:"s:Body"`
}

type header struct {
	MessageID   string      `xml:"a:MessageID"`
	RelatesTo   string      `xml:"a:RelatesTo,omitempty"`
	To          string      `xml:"a:To"`
	Action      string      `xml:"a:Action"`
	AppSequence appSequence `xml:"d:AppSequence"`
}

type appSequence struct {
	InstanceID    uint64 `xml:"InstanceId,attr"`
	MessageNumber uint64 `xml:"MessageNumber,attr"`
}

type body struct {
	Hello          *match    `xml:"d:Hello,omitempty"`
	Bye            *match    `xml:"d:Bye,omitempty"`
	ProbeMatches   *matches  `xml:"d:ProbeMatches,omitempty"`
	ResolveMatches *resolved `xml:"d:ResolveMatches,omitempty"`
}

type matches struct {
	Match []match `xml:"d:ProbeMatch"`
}

type resolved struct {
	Match []match `xml:"d:ResolveMatch"`
}

type match struct {
	EPR             epr    `xml:"a:EndpointReference"`
	Types           string `xml:"d:Types,omitempty"`
	Scopes          string `xml:"d:Scopes,omitempty"`
	XAddrs          string `xml:"d:XAddrs,omitempty"`
	MetadataVersion uint32 `xml:"d:MetadataVersion"`
}

type epr struct {
	Address string `xml:"a:Address"`
}

// marshal renders env with every prefix declared.
func marshal(env envelope) ([]byte, error) {
	env.XMLNSs = NSSOAP12
	env.XMLNSa = NSAddressing
	env.XMLNSd = NSDiscovery
	env.XMLNSdn = NSNetwork
	env.XMLNSt = NSDevice
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(env); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// typesValue is d:Types for the prefixes marshal declares.
const typesValue = "dn:NetworkVideoTransmitter tds:Device"
