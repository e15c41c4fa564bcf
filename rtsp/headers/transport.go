package headers

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrUnsupportedProfile is wrapped by the errors Transport.Unmarshal and
// ParseTransports return for a transport other than RTP/AVP or RTP/SAVP
// over UDP or TCP, such as RTP/AVPF. A server answers it with 461
// Unsupported Transport.
var ErrUnsupportedProfile = errors.New("unsupported transport profile")

// Protocol is the lower transport of an RTP/AVP transport.
type Protocol int

// Lower transports.
const (
	ProtocolUDP Protocol = iota // "RTP/AVP" or "RTP/AVP/UDP"
	ProtocolTCP                 // "RTP/AVP/TCP", interleaved on the RTSP connection
)

// String returns "UDP" or "TCP".
func (p Protocol) String() string {
	switch p {
	case ProtocolUDP:
		return "UDP"
	case ProtocolTCP:
		return "TCP"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// Profile is the RTP profile of a transport.
type Profile int

// RTP profiles.
const (
	ProfileAVP  Profile = iota // "RTP/AVP": plain RTP (RFC 3551)
	ProfileSAVP                // "RTP/SAVP": SRTP (RFC 3711), keyed by KeyMgmt
)

// String returns "AVP" or "SAVP".
func (p Profile) String() string {
	switch p {
	case ProfileAVP:
		return "AVP"
	case ProfileSAVP:
		return "SAVP"
	}
	return "Profile(" + strconv.Itoa(int(p)) + ")"
}

// Delivery is the delivery method of a transport.
type Delivery int

// Delivery methods.
const (
	DeliveryUnicast Delivery = iota
	DeliveryMulticast
)

// String returns "unicast" or "multicast".
func (d Delivery) String() string {
	switch d {
	case DeliveryUnicast:
		return "unicast"
	case DeliveryMulticast:
		return "multicast"
	}
	return "Delivery(" + strconv.Itoa(int(d)) + ")"
}

// Transport is one transport specification of a Transport header (RFC 2326
// §12.39). Optional fields are nil, or empty, when the parameter is absent.
type Transport struct {
	// Profile is the RTP profile, RTP/AVP or RTP/SAVP.
	Profile Profile
	// Protocol is the lower transport.
	Protocol Protocol
	// Delivery is the "unicast" or "multicast" parameter. RFC 2326 makes
	// multicast the default, but clients that omit it mean unicast.
	Delivery *Delivery
	// Destination is the "destination" parameter.
	Destination *netip.Addr
	// Source is the "source" parameter.
	Source *netip.Addr
	// TTL is the multicast "ttl" parameter.
	TTL *uint8
	// Ports is the multicast "port" parameter: the RTP and RTCP ports.
	Ports *[2]int
	// ClientPorts is the "client_port" parameter.
	ClientPorts *[2]int
	// ServerPorts is the "server_port" parameter.
	ServerPorts *[2]int
	// Interleaved is the "interleaved" parameter: the RTP and RTCP channels
	// for ProtocolTCP.
	Interleaved *[2]int
	// SSRC is the "ssrc" parameter.
	SSRC *uint32
	// Mode is the "mode" parameter, "PLAY" or "RECORD" ("receive" is
	// accepted as a synonym of RECORD), or "" when absent.
	Mode string
}

// Unmarshal parses a Transport header value holding a single transport
// specification; use ParseTransports for a list of alternatives. Port
// parameters accept a single number n, meaning n and n+1. Unknown
// parameters are ignored. On error t is left unchanged.
func (t *Transport) Unmarshal(v string) error {
	tr, err := parseTransport(v)
	if err != nil {
		return fmt.Errorf("rtsp: malformed Transport header %q: %w", clip(v), err)
	}
	*t = tr
	return nil
}

// ParseTransports parses a Transport header value holding a comma-separated
// list of alternative transport specifications, in the client's order of
// preference. Alternatives with a profile other than RTP/AVP and RTP/SAVP,
// such as RTP/AVPF, are skipped; if no alternative is left the error wraps
// ErrUnsupportedProfile. Any other malformed alternative fails the whole
// header. Parameter values cannot contain commas, so the RFC 7826 form
// mode="PLAY,RECORD" is not supported.
func ParseTransports(v string) ([]Transport, error) {
	var ts []Transport
	var unsupported error
	for part := range strings.SplitSeq(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		tr, err := parseTransport(part)
		switch {
		case errors.Is(err, ErrUnsupportedProfile):
			if unsupported == nil {
				unsupported = err
			}
		case err != nil:
			return nil, fmt.Errorf("rtsp: malformed Transport header %q: %w", clip(v), err)
		default:
			ts = append(ts, tr)
		}
	}
	if len(ts) == 0 {
		if unsupported == nil {
			unsupported = errors.New("no transport specification")
		}
		return nil, fmt.Errorf("rtsp: malformed Transport header %q: %w", clip(v), unsupported)
	}
	return ts, nil
}

func parseTransport(v string) (Transport, error) {
	var t Transport
	if strings.IndexByte(v, ',') >= 0 {
		return t, errors.New("more than one transport specification")
	}
	params := strings.Split(v, ";")
	switch profile := strings.TrimSpace(params[0]); {
	case strings.EqualFold(profile, "RTP/AVP"), strings.EqualFold(profile, "RTP/AVP/UDP"):
		t.Protocol = ProtocolUDP
	case strings.EqualFold(profile, "RTP/AVP/TCP"):
		t.Protocol = ProtocolTCP
	case strings.EqualFold(profile, "RTP/SAVP"), strings.EqualFold(profile, "RTP/SAVP/UDP"):
		t.Profile, t.Protocol = ProfileSAVP, ProtocolUDP
	case strings.EqualFold(profile, "RTP/SAVP/TCP"):
		t.Profile, t.Protocol = ProfileSAVP, ProtocolTCP
	case profile == "":
		return t, errors.New("missing transport protocol")
	default:
		return t, fmt.Errorf("%w %q", ErrUnsupportedProfile, profile)
	}
	for _, p := range params[1:] {
		key, val, hasValue := cutParam(p)
		if key == "" {
			if hasValue {
				return t, fmt.Errorf("parameter %q without a name", strings.TrimSpace(p))
			}
			continue // tolerate ";;" and a trailing ";"
		}
		val, err := unquote(val)
		if err != nil {
			return t, fmt.Errorf("parameter %q: %w", key, err)
		}
		switch key {
		case "unicast":
			d := DeliveryUnicast
			t.Delivery = &d
		case "multicast":
			d := DeliveryMulticast
			t.Delivery = &d
		case "destination", "source":
			if val == "" {
				continue // RFC 2326 allows a bare "destination"
			}
			a, err := parseAddr(val)
			if err != nil {
				return t, fmt.Errorf("%s: %w", key, err)
			}
			if key == "destination" {
				t.Destination = &a
			} else {
				t.Source = &a
			}
		case "ttl":
			n, err := parseUint(val, 255)
			if err != nil {
				return t, fmt.Errorf("ttl: %w", err)
			}
			ttl := uint8(n)
			t.TTL = &ttl
		case "port", "client_port", "server_port":
			pr, err := parsePair(val, 65535)
			if err != nil {
				return t, fmt.Errorf("%s: %w", key, err)
			}
			switch key {
			case "port":
				t.Ports = &pr
			case "client_port":
				t.ClientPorts = &pr
			default:
				t.ServerPorts = &pr
			}
		case "interleaved":
			pr, err := parsePair(val, 255)
			if err != nil {
				return t, fmt.Errorf("interleaved: %w", err)
			}
			t.Interleaved = &pr
		case "ssrc":
			if len(val) == 0 || len(val) > 8 {
				return t, fmt.Errorf("ssrc %q is not 1 to 8 hex digits", val)
			}
			n, err := strconv.ParseUint(val, 16, 32)
			if err != nil {
				return t, fmt.Errorf("ssrc %q is not 1 to 8 hex digits", val)
			}
			ssrc := uint32(n)
			t.SSRC = &ssrc
		case "mode":
			switch m := strings.ToUpper(val); m {
			case "PLAY", "RECORD":
				t.Mode = m
			case "RECEIVE":
				t.Mode = "RECORD"
			default:
				return t, fmt.Errorf("unsupported mode %q", val)
			}
		}
	}
	return t, nil
}

// parseAddr parses an IP address, optionally in brackets. Zones are
// rejected: they have no meaning for a remote peer.
func parseAddr(s string) (netip.Addr, error) {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("invalid IP address %q", s)
	}
	return a, nil
}

// parseUint parses a decimal number no greater than max.
func parseUint(s string, max uint64) (uint64, error) {
	if !isDigits(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, fmt.Errorf("%s is out of range 0-%d", s, max)
	}
	return n, nil
}

// parsePair parses "a-b", or "a" meaning "a-(a+1)", with both numbers no
// greater than max.
func parsePair(s string, max uint64) ([2]int, error) {
	first, second, isRange := strings.Cut(s, "-")
	a, err := parseUint(strings.TrimSpace(first), max)
	if err != nil {
		return [2]int{}, err
	}
	if !isRange {
		if a == max {
			return [2]int{}, fmt.Errorf("%d has no successor in range 0-%d", a, max)
		}
		return [2]int{int(a), int(a) + 1}, nil
	}
	second = strings.TrimSpace(second)
	if second == "" {
		return [2]int{}, fmt.Errorf("range %q must be two numbers", s)
	}
	b, err := parseUint(second, max)
	if err != nil {
		return [2]int{}, err
	}
	return [2]int{int(a), int(b)}, nil
}

// Marshal formats t as a Transport header value, such as
// "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=0000ABCD"
// or "RTP/SAVP/TCP;unicast;interleaved=0-1". Parameters appear in a fixed
// order: delivery, destination, source, port, ttl, client_port,
// server_port, interleaved, ssrc, mode. The SSRC is written as 8 upper-case
// hex digits; invalid addresses are omitted.
func (t Transport) Marshal() string {
	b := make([]byte, 0, 96)
	if t.Profile == ProfileSAVP {
		b = append(b, "RTP/SAVP"...)
	} else {
		b = append(b, "RTP/AVP"...)
	}
	if t.Protocol == ProtocolTCP {
		b = append(b, "/TCP"...)
	}
	if t.Delivery != nil {
		b = append(b, ';')
		b = append(b, t.Delivery.String()...)
	}
	if t.Destination != nil && t.Destination.IsValid() {
		b = append(b, ";destination="...)
		b = t.Destination.WithZone("").AppendTo(b)
	}
	if t.Source != nil && t.Source.IsValid() {
		b = append(b, ";source="...)
		b = t.Source.WithZone("").AppendTo(b)
	}
	b = appendPair(b, "port", t.Ports)
	if t.TTL != nil {
		b = append(b, ";ttl="...)
		b = strconv.AppendUint(b, uint64(*t.TTL), 10)
	}
	b = appendPair(b, "client_port", t.ClientPorts)
	b = appendPair(b, "server_port", t.ServerPorts)
	b = appendPair(b, "interleaved", t.Interleaved)
	if t.SSRC != nil {
		b = fmt.Appendf(b, ";ssrc=%08X", *t.SSRC)
	}
	if t.Mode != "" {
		b = append(b, ";mode="...)
		b = append(b, t.Mode...)
	}
	return string(b)
}

func appendPair(b []byte, key string, p *[2]int) []byte {
	if p == nil {
		return b
	}
	b = append(b, ';')
	b = append(b, key...)
	b = append(b, '=')
	b = strconv.AppendInt(b, int64(p[0]), 10)
	b = append(b, '-')
	return strconv.AppendInt(b, int64(p[1]), 10)
}
