package discovery

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

const probeTmpl = `<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">
<s:Header><a:MessageID>%ID%</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>
<s:Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery">%BODY%</Probe></s:Body></s:Envelope>`

func probe(id, body string) []byte {
	return []byte(strings.NewReplacer("%ID%", id, "%BODY%", body).Replace(probeTmpl))
}

func TestParseMatchTypes(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"empty", ``, true},
		{"empty types", `<Types/>`, true},
		{"dn prefix", `<Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter</Types>`, true},
		{"other prefix", `<Types xmlns:x="http://www.onvif.org/ver10/network/wsdl">x:NetworkVideoTransmitter</Types>`, true},
		{"tds device", `<Types xmlns:tds="http://www.onvif.org/ver10/device/wsdl">tds:Device</Types>`, true},
		{"default ns", `<Types xmlns="http://www.onvif.org/ver10/device/wsdl">Device</Types>`, true},
		{"prefix declared on envelope-level ancestor", `<d:Types xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:q="http://www.onvif.org/ver10/network/wsdl">q:NetworkVideoTransmitter</d:Types>`, true},
		{"windows wsdp", `<Types xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof">wsdp:Device</Types>`, false},
		{"right prefix wrong ns", `<Types xmlns:dn="http://example.com/other">dn:NetworkVideoTransmitter</Types>`, false},
		{"undeclared prefix", `<Types>dn:NetworkVideoTransmitter</Types>`, false},
		{"any of two", `<Types xmlns:w="http://schemas.xmlsoap.org/ws/2006/02/devprof" xmlns:t="http://www.onvif.org/ver10/device/wsdl">w:Device t:Device</Types>`, true},
		{"wrong local", `<Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:Device</Types>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMessage(probe("urn:uuid:1", tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != kindProbe || m.MessageID != "urn:uuid:1" {
				t.Fatalf("parsed %+v", m)
			}
			if got := matchTypes(m.Types, m.Unresolved); got != tt.want {
				t.Errorf("matchTypes(%v, %d) = %v, want %v", m.Types, m.Unresolved, got, tt.want)
			}
		})
	}
}

func TestMatchScopes(t *testing.T) {
	ours := []string{
		"onvif://www.onvif.org/Profile/Streaming",
		"onvif://www.onvif.org/type/video_encoder",
		"onvif://www.onvif.org/name/ipcamd",
	}
	tests := []struct {
		req     []string
		matchBy string
		want    bool
	}{
		{nil, "", true},
		{[]string{"onvif://www.onvif.org/Profile/Streaming"}, "", true},
		{[]string{"onvif://www.onvif.org/Profile"}, "", true},
		{[]string{"onvif://www.onvif.org/"}, "", true},
		{[]string{"ONVIF://WWW.ONVIF.ORG/type"}, "", true},
		{[]string{"onvif://www.onvif.org/profile/Streaming"}, "", false}, // path is case-sensitive
		{[]string{"onvif://www.onvif.org/Prof"}, "", false},              // segment-wise, not string prefix
		{[]string{"onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/name/other"}, "", false},
		{[]string{"onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/name"}, MatchByRFC3986, true},
		{[]string{"onvif://www.onvif.org/Profile/Streaming?x"}, "", false},
		{[]string{"onvif://example.com/Profile/Streaming"}, "", false},
		{[]string{"onvif://www.onvif.org/Profile/Streaming"}, MatchByStrcmp0, true},
		{[]string{"onvif://www.onvif.org/Profile"}, MatchByStrcmp0, false},
		{[]string{"onvif://www.onvif.org/Profile"}, "http://example.com/unknown", false},
	}
	for _, tt := range tests {
		if got := matchScopes(tt.req, tt.matchBy, ours); got != tt.want {
			t.Errorf("matchScopes(%q, %q) = %v, want %v", tt.req, tt.matchBy, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    kind
		id      string
		scopes  []string
		matchBy string
		addr    string
		wantErr bool
	}{
		{name: "probe with scopes",
			in:   string(probe("uuid:abc", `<Scopes MatchBy="http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0"> onvif://a/b  onvif://c </Scopes>`)),
			kind: kindProbe, id: "uuid:abc", scopes: []string{"onvif://a/b", "onvif://c"}, matchBy: MatchByStrcmp0},
		{name: "soap 1.1 probe",
			in:   `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header><w:MessageID>m1</w:MessageID></e:Header><e:Body><d:Probe/></e:Body></e:Envelope>`,
			kind: kindProbe, id: "m1"},
		{name: "resolve",
			in:   `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:MessageID>r1</a:MessageID></s:Header><s:Body><d:Resolve><a:EndpointReference><a:Address>urn:uuid:X</a:Address></a:EndpointReference></d:Resolve></s:Body></s:Envelope>`,
			kind: kindResolve, id: "r1", addr: "urn:uuid:X"},
		{name: "probe in wrong namespace is other",
			in:   `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Probe xmlns="urn:x"/></s:Body></s:Envelope>`,
			kind: kindOther},
		{name: "MessageID in 2005/08 addressing is not ours",
			in:   `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:MessageID>x</a:MessageID></s:Header><s:Body><d:Probe/></s:Body></s:Envelope>`,
			kind: kindProbe, id: ""},
		{name: "not an envelope", in: `<Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"/>`, wantErr: true},
		{name: "truncated", in: string(probe("x", ""))[:200], wantErr: true},
		{name: "garbage", in: "\x00\x01hello", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMessage([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tt.kind || m.MessageID != tt.id || m.MatchBy != tt.matchBy || m.Address != tt.addr ||
				strings.Join(m.Scopes, "|") != strings.Join(tt.scopes, "|") {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func TestSeenCache(t *testing.T) {
	c := newSeenCache(2)
	steps := []struct {
		id   string
		want bool
	}{
		{"a", true}, {"a", false}, {"b", true}, {"a", false}, {"c", true}, // evicts a
		{"b", false}, {"a", true}, {"c", false},
	}
	for i, s := range steps {
		if got := c.add(s.id); got != s.want {
			t.Errorf("step %d: add(%q) = %v, want %v", i, s.id, got, s.want)
		}
	}
	if len(c.set) > 2 {
		t.Errorf("cache holds %d IDs, want at most 2", len(c.set))
	}
}

func TestEndpointUUID(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:5e:10:00:01")
	a, b := EndpointUUID(mac), EndpointUUID(mac)
	if a != b {
		t.Fatalf("EndpointUUID not stable: %s, %s", a, b)
	}
	other, _ := net.ParseMAC("02:00:5e:10:00:02")
	if EndpointUUID(other) == a {
		t.Fatal("different MACs give the same UUID")
	}
	if len(a) != 36 || a[14] != '5' || !strings.ContainsAny(a[19:20], "89ab") {
		t.Errorf("EndpointUUID = %s, want a version-5 RFC 4122 UUID", a)
	}
	if r := randomUUID(); len(r) != 36 || r[14] != '4' || r == randomUUID() {
		t.Errorf("randomUUID = %s", r)
	}
}

// reply is a namespace-aware view of a ProbeMatches or ResolveMatches.
type reply struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		MessageID string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		RelatesTo string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing RelatesTo"`
		To        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
		Action    string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		Seq       struct {
			InstanceID    string `xml:"InstanceId,attr"`
			MessageNumber string `xml:"MessageNumber,attr"`
		} `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery AppSequence"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Probe struct {
			Match []replyMatch `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery ProbeMatch"`
		} `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery ProbeMatches"`
		Resolve struct {
			Match []replyMatch `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery ResolveMatch"`
		} `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery ResolveMatches"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

type replyMatch struct {
	XMLName xml.Name
	EPR     struct {
		Address string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Address"`
	} `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing EndpointReference"`
	Types           string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery Types"`
	Scopes          string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery Scopes"`
	XAddrs          string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery XAddrs"`
	MetadataVersion string `xml:"http://schemas.xmlsoap.org/ws/2005/04/discovery MetadataVersion"`
}

// parseReply parses a reply namespace-aware, and returns the prefixes the
// envelope declares, to resolve the QNames of d:Types with.
func parseReply(t *testing.T, b []byte) (reply, map[string]string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	envPrefixes := map[string]string{}
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("reply is not XML: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Space == "xmlns" {
					envPrefixes[a.Name.Local] = a.Value
				}
			}
			break
		}
	}
	var r reply
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply does not parse: %v\n%s", err, b)
	}
	return r, envPrefixes
}

// qnames resolves a d:Types value against prefixes.
func qnames(s string, prefixes map[string]string) []xml.Name {
	var out []xml.Name
	for _, q := range strings.Fields(s) {
		prefix, local, _ := strings.Cut(q, ":")
		out = append(out, xml.Name{Space: prefixes[prefix], Local: local})
	}
	return out
}

func newTestResponder(t *testing.T) *Responder {
	t.Helper()
	mac, _ := net.ParseMAC("02:00:5e:10:00:01")
	r, err := New(Options{
		Name: "ip cam", Hardware: "arm64", Location: "lab", MAC: mac, XAddrPort: 8080,
		Interfaces: []string{"lo"}, ListenAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReply(t *testing.T) {
	r := newTestResponder(t)
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal("no loopback interface lo:", err)
	}
	tests := []struct {
		name      string
		in        []byte
		dst       net.IP
		wantMatch bool
		multicast bool
		resolve   bool
	}{
		{name: "multicast probe", in: probe("uuid:WCF-style", `<Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter</Types>`),
			dst: net.ParseIP(GroupAddr), wantMatch: true, multicast: true},
		{name: "unicast probe", in: probe("urn:uuid:u1", ""), dst: net.IPv4(127, 0, 0, 1), wantMatch: true},
		{name: "repeat", in: probe("urn:uuid:u1", ""), dst: net.IPv4(127, 0, 0, 1)},
		{name: "non-matching scope", in: probe("urn:uuid:u2", `<Scopes>onvif://www.onvif.org/name/other</Scopes>`), dst: net.IPv4(127, 0, 0, 1)},
		{name: "matching scope", in: probe("urn:uuid:u3", `<Scopes>onvif://www.onvif.org/name/ip%20cam onvif://www.onvif.org/location</Scopes>`), dst: net.IPv4(127, 0, 0, 1), wantMatch: true},
		{name: "resolve", in: []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:MessageID>urn:uuid:r1</a:MessageID></s:Header><s:Body><d:Resolve><a:EndpointReference><a:Address>` + strings.ToUpper(r.EndpointReference()) + `</a:Address></a:EndpointReference></d:Resolve></s:Body></s:Envelope>`),
			dst: net.ParseIP(GroupAddr), wantMatch: true, multicast: true, resolve: true},
		{name: "resolve other", in: []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header><a:MessageID>urn:uuid:r2</a:MessageID></s:Header><s:Body><d:Resolve><a:EndpointReference><a:Address>urn:uuid:other</a:Address></a:EndpointReference></d:Resolve></s:Body></s:Envelope>`),
			dst: net.ParseIP(GroupAddr)},
	}
	ids := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, mc := r.handle(tt.in, src, lo.Index, tt.dst)
			if !tt.wantMatch {
				if b != nil {
					t.Fatalf("unexpected reply:\n%s", b)
				}
				return
			}
			if b == nil {
				t.Fatal("no reply")
			}
			if mc != tt.multicast {
				t.Errorf("multicast = %v, want %v", mc, tt.multicast)
			}
			m, _ := parseMessage(tt.in)
			rep, prefixes := parseReply(t, b)
			if rep.Header.RelatesTo != m.MessageID {
				t.Errorf("RelatesTo = %q, want %q", rep.Header.RelatesTo, m.MessageID)
			}
			if !strings.HasPrefix(rep.Header.MessageID, "urn:uuid:") || ids[rep.Header.MessageID] {
				t.Errorf("MessageID %q is not a fresh urn:uuid", rep.Header.MessageID)
			}
			ids[rep.Header.MessageID] = true
			if rep.Header.To != toAnonymous || rep.Header.Seq.InstanceID == "" || rep.Header.Seq.MessageNumber == "" {
				t.Errorf("header: %+v", rep)
			}
			ms, action := rep.Body.Probe.Match, NSDiscovery+"/ProbeMatches"
			if tt.resolve {
				ms, action = rep.Body.Resolve.Match, NSDiscovery+"/ResolveMatches"
			}
			if rep.Header.Action != action || len(ms) != 1 {
				t.Fatalf("action %q with %d matches, want %q with 1\n%s", rep.Header.Action, len(ms), action, b)
			}
			pm := ms[0]
			if pm.EPR.Address != r.EndpointReference() || !strings.HasPrefix(pm.EPR.Address, "urn:uuid:") {
				t.Errorf("EPR = %q, want %q", pm.EPR.Address, r.EndpointReference())
			}
			if pm.XAddrs != "http://127.0.0.1:8080/onvif/device_service" {
				t.Errorf("XAddrs = %q", pm.XAddrs)
			}
			if pm.MetadataVersion != "1" {
				t.Errorf("MetadataVersion = %q", pm.MetadataVersion)
			}
			if types := qnames(pm.Types, prefixes); len(types) != 2 || types[0] != deviceTypes[0] || types[1] != deviceTypes[1] {
				t.Errorf("Types = %q resolve to %v, want %v", pm.Types, types, deviceTypes)
			}
			for _, s := range []string{
				"onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/type/video_encoder",
				"onvif://www.onvif.org/name/ip%20cam", "onvif://www.onvif.org/hardware/arm64",
				"onvif://www.onvif.org/location/lab", "onvif://www.onvif.org/mac/02:00:5e:10:00:01",
			} {
				if !strings.Contains(" "+pm.Scopes+" ", " "+s+" ") {
					t.Errorf("Scopes %q lack %q", pm.Scopes, s)
				}
			}
		})
	}
}

// TestLoopback runs the responder on 127.0.0.1 and lo, and probes it
// unicast: the answer comes back at once, to the probe's source port.
func TestLoopback(t *testing.T) {
	if _, err := net.InterfaceByName("lo"); err != nil {
		t.Fatal("no loopback interface lo")
	}
	r := newTestResponder(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var addr net.Addr
	for end := time.Now().Add(5 * time.Second); addr == nil; {
		if addr = r.Addr(); addr == nil {
			if time.Now().After(end) {
				t.Fatal("responder did not start")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var eprs []string
	for i, id := range []string{"urn:uuid:loop-1", "urn:uuid:loop-2"} {
		for range 2 { // the repeat is answered once
			if _, err := c.WriteTo(probe(id, ""), addr); err != nil {
				t.Fatal(err)
			}
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 65536)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("probe %d: no answer: %v", i, err)
		}
		rep, _ := parseReply(t, buf[:n])
		if rep.Header.RelatesTo != id || len(rep.Body.Probe.Match) != 1 || rep.Body.Probe.Match[0].XAddrs != "http://127.0.0.1:8080/onvif/device_service" {
			t.Fatalf("probe %d: reply %+v", i, rep)
		}
		eprs = append(eprs, rep.Body.Probe.Match[0].EPR.Address)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := c.ReadFrom(buf); err == nil {
			t.Fatalf("probe %d answered twice:\n%s", i, buf[:n])
		}
	}
	if eprs[0] != eprs[1] {
		t.Errorf("EPR changed between probes: %q, %q", eprs[0], eprs[1])
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// FuzzProbe feeds arbitrary datagrams to the parser and the responder:
// nothing panics, and every reply is well-formed XML. The seed corpus in
// testdata/fuzz/FuzzProbe holds real probes (npm onvif, WCF, Windows).
func FuzzProbe(f *testing.F) {
	f.Add(probe("urn:uuid:1", `<Types xmlns:dn="http://www.onvif.org/ver10/network/wsdl">dn:NetworkVideoTransmitter</Types><Scopes>onvif://www.onvif.org/</Scopes>`))
	r, err := New(Options{EndpointUUID: "00000000-0000-5000-8000-000000000000", XAddrPort: 80,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMessage(data)
		if err != nil {
			return
		}
		matchTypes(m.Types, m.Unresolved)
		matchScopes(m.Scopes, m.MatchBy, r.scopes)
		if b, _ := r.handle(data, src, 0, net.IPv4(127, 0, 0, 1)); b != nil {
			var v struct{}
			if err := xml.Unmarshal(b, &v); err != nil {
				t.Fatalf("reply does not parse: %v\n%s", err, b)
			}
		}
	})
}
