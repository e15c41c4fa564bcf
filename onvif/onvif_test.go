package onvif

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testOptions() Options {
	return Options{
		Manufacturer: "ipcamd", Model: "TestCam", FirmwareVersion: "1.0", SerialNumber: "SN1", HardwareID: "hw1",
		Profiles: []Profile{
			{Token: "main", Name: "Main", Width: 1280, Height: 720, FPS: 25, BitrateKbps: 1000, GOP: 50, Path: "/main",
				MulticastAddress: netip.MustParseAddr("239.0.0.1"), MulticastPort: 5000, MulticastTTL: 16},
			{Token: "sub", Name: "Sub", Width: 640, Height: 360, FPS: 25, BitrateKbps: 500, GOP: 50, Path: "/sub"},
		},
		RTSPPort: 8554,
		Now:      func() time.Time { return testNow },
		Interfaces: func() ([]net.Interface, error) {
			return nil, nil
		},
	}
}

// authOptions adds one user "admin" with password "pw" (WS-Security) and
// a fake HTTP Digest check that accepts "Digest ok".
func authOptions() Options {
	o := testOptions()
	o.PasswordLookup = func(u string) (string, bool) { return "pw", u == "admin" }
	o.Authenticate = func(r *http.Request) (string, bool, []string) {
		if r.Header.Get("Authorization") == "Digest ok" {
			return "admin", true, nil
		}
		return "", false, []string{`Digest realm="ipcamd", nonce="x", qop="auth"`}
	}
	return o
}

func newServer(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readReq(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withToken fills the PLACEHOLDER_ fields of a request with a digest for
// password.
func withToken(body, password, nonce, created string) string {
	h := sha1.New()
	h.Write([]byte(nonce))
	h.Write([]byte(created))
	h.Write([]byte(password))
	return strings.NewReplacer(
		"PLACEHOLDER_DIGEST", base64.StdEncoding.EncodeToString(h.Sum(nil)),
		"PLACEHOLDER_NONCE", base64.StdEncoding.EncodeToString([]byte(nonce)),
		"PLACEHOLDER_CREATED", created).Replace(body)
}

type result struct {
	code int
	hdr  http.Header
	body string
	root *node // the Body's first child
	ver  int
}

func do(t testing.TB, s *Server, path, body string, hdr ...string) result {
	t.Helper()
	r := httptest.NewRequest("POST", "http://192.0.2.10:8080"+path, strings.NewReader(body))
	la := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 8080}
	r = r.WithContext(contextWithLocal(r, la))
	r.Header.Set("Content-Type", "application/xml")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	res := result{code: w.Code, hdr: w.Header(), body: w.Body.String()}
	env, err := parseEnvelope(w.Body.Bytes())
	if err != nil {
		t.Fatalf("reply does not parse: %v\n%s", err, res.body)
	}
	res.root, res.ver = &env.Op, env.Version
	return res
}

// path walks children by local name in the ONVIF namespaces.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		ns, local, _ := strings.Cut(name, ":")
		n = n.child(map[string]string{"tds": NSDevice, "trt": NSMedia, "tt": NSSchema, "env": NSSOAP12}[ns], local)
	}
	return n
}

func envelopeFor(op string) string {
	return `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>` + op + `</e:Body></e:Envelope>`
}

func TestReplayedRequests(t *testing.T) {
	s := newServer(t, testOptions())
	created := testNow.Format(time.RFC3339)
	tests := []struct {
		file, path string
		code       int
		check      func(t *testing.T, r result)
	}{
		{"zeep_GetSystemDateAndTime.xml", DevicePath, 200, func(t *testing.T, r result) {
			sdt := r.root.path("tds:SystemDateAndTime")
			if got := sdt.path("tt:UTCDateTime", "tt:Date", "tt:Year").text(); got != "2026" {
				t.Errorf("year %q", got)
			}
			if got := sdt.path("tt:UTCDateTime", "tt:Time", "tt:Hour").text(); got != "12" {
				t.Errorf("hour %q", got)
			}
			if got := sdt.path("tt:TimeZone", "tt:TZ").text(); got != "UTC0" {
				t.Errorf("TZ %q", got)
			}
		}},
		{"agsh_GetSystemDateAndTime.xml", DevicePath, 200, func(t *testing.T, r result) {
			if r.root.XMLName != xmlName(NSDevice, "GetSystemDateAndTimeResponse") {
				t.Errorf("reply %v", r.root.XMLName)
			}
		}},
		{"ha_GetCapabilities.xml", DevicePath, 200, func(t *testing.T, r result) {
			c := r.root.path("tds:Capabilities")
			if got := c.path("tt:Media", "tt:XAddr").text(); got != "http://192.0.2.10:8080/onvif/media_service" {
				t.Errorf("media XAddr %q", got)
			}
			if got := c.path("tt:Media", "tt:StreamingCapabilities", "tt:RTP_RTSP_TCP").text(); got != "true" {
				t.Errorf("RTP_RTSP_TCP %q", got)
			}
			for _, n := range []string{"tt:Device", "tt:Events", "tt:Imaging"} {
				if !strings.HasPrefix(c.path(n, "tt:XAddr").text(), "http://192.0.2.10:8080/onvif/") {
					t.Errorf("%s XAddr missing", n)
				}
			}
		}},
		{"soap11_GetDeviceInformation.xml", DevicePath, 200, func(t *testing.T, r result) {
			if r.ver != 11 || r.hdr.Get("Content-Type") != "text/xml; charset=utf-8" {
				t.Errorf("version %d, type %q", r.ver, r.hdr.Get("Content-Type"))
			}
			if got := r.root.path("tds:SerialNumber").text(); got != "SN1" {
				t.Errorf("serial %q", got)
			}
		}},
		{"tds_GetStreamUri_sub.xml", MediaPath, 200, func(t *testing.T, r result) {
			if got := r.root.path("trt:MediaUri", "tt:Uri").text(); got != "rtsp://192.0.2.10:8554/sub" {
				t.Errorf("uri %q", got)
			}
			if got := r.root.path("trt:MediaUri", "tt:Timeout").text(); got != "PT0S" {
				t.Errorf("timeout %q", got)
			}
		}},
		{"agsh_GetStreamUri_wsse.xml", MediaPath, 200, func(t *testing.T, r result) {
			if got := r.root.path("trt:MediaUri", "tt:Uri").text(); got != "rtsp://192.0.2.10:8554/main" {
				t.Errorf("uri %q", got)
			}
		}},
		{"zeep_GetProfiles_wsse.xml", DevicePath, 200, func(t *testing.T, r result) {
			ps := r.root.Nodes
			if len(ps) != 2 {
				t.Fatalf("%d profiles", len(ps))
			}
			vec := ps[0].path("tt:VideoEncoderConfiguration")
			want := []string{"Name", "UseCount", "Encoding", "Resolution", "Quality", "RateControl", "H264", "Multicast", "SessionTimeout"}
			var got []string
			for _, k := range vec.Nodes {
				got = append(got, k.XMLName.Local)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("VEC children %v, want %v", got, want)
			}
			if v := vec.path("tt:RateControl", "tt:BitrateLimit").text(); v != "1000" {
				t.Errorf("BitrateLimit %q", v)
			}
			if v := vec.path("tt:Multicast", "tt:Address", "tt:IPv4Address").text(); v != "239.0.0.1" {
				t.Errorf("multicast %q", v)
			}
			if v := ps[1].path("tt:VideoEncoderConfiguration", "tt:Resolution", "tt:Width").text(); v != "640" {
				t.Errorf("sub width %q", v)
			}
			if ps[0].attr("token") != "main" || ps[0].path("tt:VideoSourceConfiguration", "tt:SourceToken").text() != videoSourceToken {
				t.Errorf("profile 0 %+v", ps[0].Attrs)
			}
		}},
		{"synology_CreateProfile.xml", MediaPath, 400, func(t *testing.T, r result) {
			checkFault(t, r, "Receiver", "MaxNVTProfiles")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := withToken(readReq(t, tt.file), "pw", "nonce-"+tt.file, created)
			r := do(t, s, tt.path, body)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d\n%s", r.code, tt.code, r.body)
			}
			if r.ver == 12 && r.hdr.Get("Content-Type") != "application/soap+xml; charset=utf-8" {
				t.Errorf("Content-Type %q", r.hdr.Get("Content-Type"))
			}
			tt.check(t, r)
		})
	}
}

func checkFault(t *testing.T, r result, code, sub string) {
	t.Helper()
	if r.root.XMLName != xmlName(NSSOAP12, "Fault") {
		t.Fatalf("not a fault: %s", r.body)
	}
	if got := r.root.path("env:Code", "env:Value").text(); got != "env:"+code {
		t.Errorf("code %q, want env:%s", got, code)
	}
	var subs []string
	for n := r.root.path("env:Code", "env:Subcode"); n != nil; n = n.path("env:Subcode") {
		subs = append(subs, n.path("env:Value").text())
	}
	found := false
	for _, s := range subs {
		found = found || s == "ter:"+sub
	}
	if !found {
		t.Errorf("subcodes %v, want ter:%s", subs, sub)
	}
	if !strings.Contains(r.body, `xmlns:ter="http://www.onvif.org/ver10/error"`) {
		t.Error("ter prefix not declared")
	}
}

func TestFaults(t *testing.T) {
	s := newServer(t, testOptions())
	r := do(t, s, DevicePath, envelopeFor(`<x:GetUsers xmlns:x="http://www.onvif.org/ver10/device/wsdl"/>`))
	if r.code != 500 {
		t.Errorf("unknown op: status %d", r.code)
	}
	checkFault(t, r, "Receiver", "ActionNotSupported")
	if !strings.Contains(r.root.path("env:Reason", "env:Text").text(), "not implemented") {
		t.Errorf("reason %q", r.root.path("env:Reason", "env:Text").text())
	}
	// Prefix is irrelevant, namespace is: a GetSystemDateAndTime in another namespace is unknown.
	r = do(t, s, DevicePath, envelopeFor(`<tds:GetSystemDateAndTime xmlns:tds="urn:other"/>`))
	checkFault(t, r, "Receiver", "ActionNotSupported")
	// Imaging GetStatus (no focus motor) is not implemented.
	r = do(t, s, ImagingPath, envelopeFor(`<GetStatus xmlns="http://www.onvif.org/ver20/imaging/wsdl"><VideoSourceToken>VideoSource_1</VideoSourceToken></GetStatus>`))
	checkFault(t, r, "Receiver", "ActionNotSupported")
	// Unknown mustUnderstand header.
	r = do(t, s, DevicePath, `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header><x:Foo xmlns:x="urn:x" e:mustUnderstand="true"/></e:Header><e:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></e:Body></e:Envelope>`)
	if got := r.root.path("env:Code", "env:Value").text(); got != "env:MustUnderstand" {
		t.Errorf("mustUnderstand: code %q", got)
	}
	// Malformed XML.
	r = do(t, s, DevicePath, `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><x>`)
	if r.code != 400 {
		t.Errorf("malformed: status %d", r.code)
	}
	// Not SOAP.
	r = do(t, s, DevicePath, `<Envelope xmlns="urn:x"><Body/></Envelope>`)
	if got := r.root.path("env:Code", "env:Value").text(); got != "env:VersionMismatch" {
		t.Errorf("version: code %q", got)
	}
	// Unknown profile.
	r = do(t, s, MediaPath, envelopeFor(`<GetProfile xmlns="http://www.onvif.org/ver10/media/wsdl"><ProfileToken>nope</ProfileToken></GetProfile>`))
	checkFault(t, r, "Sender", "NoProfile")
	// Too big.
	r = do(t, s, DevicePath, envelopeFor(`<GetHostname xmlns="http://www.onvif.org/ver10/device/wsdl">`+strings.Repeat(" ", MaxBody)+`</GetHostname>`))
	if r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: status %d", r.code)
	}
	// Paths and methods.
	for _, p := range []string{"/onvif/devices", "/onvif/device_service/x"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", p, strings.NewReader(envelopeFor(""))))
		if w.Code != 404 {
			t.Errorf("%s: status %d", p, w.Code)
		}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", DevicePath, nil))
	if w.Code != 405 {
		t.Errorf("GET: status %d", w.Code)
	}
}

func TestAuth(t *testing.T) {
	s := newServer(t, authOptions())
	created := testNow.Format(time.RFC3339)
	profiles := readReq(t, "zeep_GetProfiles_wsse.xml")
	sdtWithToken := strings.Replace(profiles, `<ns0:GetProfiles xmlns:ns0="http://www.onvif.org/ver10/media/wsdl"/>`,
		`<ns0:GetSystemDateAndTime xmlns:ns0="http://www.onvif.org/ver10/device/wsdl"/>`, 1)
	noHeader := envelopeFor(`<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>`)
	tests := []struct {
		name   string
		body   string
		hdr    []string
		code   int
		fault  string
		digest bool // expects a WWW-Authenticate challenge
	}{
		{"no credentials", noHeader, nil, 401, "NotAuthorized", true},
		{"good digest token", withToken(profiles, "pw", "n1", created), nil, 200, "", false},
		{"replayed nonce", withToken(profiles, "pw", "n1", created), nil, 400, "NotAuthorized", false},
		{"wrong password", withToken(profiles, "bad", "n2", created), nil, 400, "NotAuthorized", false},
		{"unknown user", strings.Replace(withToken(profiles, "pw", "n3", created), ">admin<", ">bob<", 1), nil, 400, "NotAuthorized", false},
		{"created too old", withToken(profiles, "pw", "n4", testNow.Add(-6*time.Minute).Format(time.RFC3339)), nil, 400, "NotAuthorized", false},
		{"created in future", withToken(profiles, "pw", "n5", testNow.Add(6*time.Minute).Format(time.RFC3339)), nil, 400, "NotAuthorized", false},
		{"skew within window, fractional Z", withToken(profiles, "pw", "n6", testNow.Add(4*time.Minute).Format("2006-01-02T15:04:05.000Z")), nil, 200, "", false},
		{"zeep +00:00 Created", withToken(profiles, "pw", "n7", "2026-11-25T12:00:00+00:00"), nil, 200, "", false},
		{"agsh mustUnderstand", withToken(readReq(t, "agsh_GetStreamUri_wsse.xml"), "pw", "n8", created), nil, 200, "", false},
		{"digest header", noHeader, []string{"Authorization", "Digest ok"}, 200, "", false},
		{"bad digest header", noHeader, []string{"Authorization", "Digest bad"}, 401, "NotAuthorized", true},
		{"pre-auth with wrong token", withToken(sdtWithToken, "bad", "n9", created), nil, 200, "", false},
		{"pre-auth GetCapabilities", readReq(t, "ha_GetCapabilities.xml"), nil, 200, "", false},
		{"unauthenticated CreateProfile", readReq(t, "synology_CreateProfile.xml"), nil, 400, "MaxNVTProfiles", false},
		{"PasswordText", strings.Replace(withToken(profiles, "pw", "n10", created), "#PasswordDigest\">"+digestOf("pw", "n10", created), "#PasswordText\">pw", 1), nil, 200, "", false},
		{"no nonce", strings.NewReplacer("<wsse:Nonce", "<wsse:X", "</wsse:Nonce", "</wsse:X").Replace(withToken(profiles, "pw", "n11", created)), nil, 400, "NotAuthorized", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s, MediaPath, tt.body, tt.hdr...)
			if r.code != tt.code {
				t.Fatalf("status %d, want %d\n%s", r.code, tt.code, r.body)
			}
			if tt.fault != "" {
				code := "Sender"
				if tt.fault == "MaxNVTProfiles" {
					code = "Receiver"
				}
				checkFault(t, r, code, tt.fault)
			}
			if got := r.hdr.Get("WWW-Authenticate") != ""; got != tt.digest {
				t.Errorf("challenge %v, want %v", r.hdr.Values("WWW-Authenticate"), tt.digest)
			}
		})
	}
}

func digestOf(password, nonce, created string) string {
	h := sha1.New()
	h.Write([]byte(nonce + created + password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestAdminOnly(t *testing.T) {
	o := authOptions()
	o.IsAdmin = func(string) bool { return false }
	rebooted := make(chan bool, 1)
	o.Reboot = func() { rebooted <- true }
	s := newServer(t, o)
	body := envelopeFor(`<SystemReboot xmlns="http://www.onvif.org/ver10/device/wsdl"/>`)
	if r := do(t, s, DevicePath, body, "Authorization", "Digest ok"); r.code != 403 {
		t.Errorf("viewer reboot: status %d", r.code)
	}
	o.IsAdmin = nil
	s = newServer(t, o)
	if r := do(t, s, DevicePath, body, "Authorization", "Digest ok"); r.code != 200 {
		t.Errorf("admin reboot: status %d", r.code)
	}
	select {
	case <-rebooted:
	case <-time.After(5 * time.Second):
		t.Error("Reboot not called")
	}
}

// TestAllOperations calls every implemented operation on an open server
// and checks that each answers with its Response element, and that no
// reply uses an address other than the local one.
func TestAllOperations(t *testing.T) {
	o := testOptions()
	o.Interfaces = nil // the real ones
	s := newServer(t, o)
	ops := []struct{ ns, body string }{
		{NSDevice, "<GetSystemDateAndTime/>"}, {NSDevice, "<GetDeviceInformation/>"},
		{NSDevice, "<GetCapabilities><Category>All</Category></GetCapabilities>"},
		{NSDevice, "<GetServices><IncludeCapability>true</IncludeCapability></GetServices>"},
		{NSDevice, "<GetServiceCapabilities/>"}, {NSDevice, "<GetScopes/>"}, {NSDevice, "<GetHostname/>"},
		{NSDevice, "<GetNetworkInterfaces/>"}, {NSDevice, "<GetDNS/>"}, {NSDevice, "<GetNTP/>"},
		{NSDevice, "<GetNetworkDefaultGateway/>"},
		{NSDevice, "<SetSystemDateAndTime><DateTimeType>NTP</DateTimeType><DaylightSavings>false</DaylightSavings></SetSystemDateAndTime>"},
		{NSMedia, "<GetServiceCapabilities/>"}, {NSMedia, "<GetProfiles/>"},
		{NSMedia, "<GetProfile><ProfileToken>sub</ProfileToken></GetProfile>"},
		{NSMedia, `<GetStreamUri><StreamSetup><Stream xmlns="http://www.onvif.org/ver10/schema">RTP-Multicast</Stream><Transport xmlns="http://www.onvif.org/ver10/schema"><Protocol>UDP</Protocol></Transport></StreamSetup><ProfileToken>main</ProfileToken></GetStreamUri>`},
		{NSMedia, "<GetSnapshotUri><ProfileToken>main</ProfileToken></GetSnapshotUri>"},
		{NSMedia, "<GetVideoSources/>"}, {NSMedia, "<GetVideoSourceConfigurations/>"},
		{NSMedia, "<GetVideoSourceConfiguration><ConfigurationToken>VideoSourceConfig_1</ConfigurationToken></GetVideoSourceConfiguration>"},
		{NSMedia, "<GetVideoEncoderConfigurations/>"},
		{NSMedia, "<GetVideoEncoderConfiguration><ConfigurationToken>VideoEncoder_sub</ConfigurationToken></GetVideoEncoderConfiguration>"},
		{NSMedia, "<GetVideoEncoderConfigurationOptions><ProfileToken>main</ProfileToken></GetVideoEncoderConfigurationOptions>"},
	}
	for _, op := range ops {
		name := strings.Trim(strings.Fields(strings.SplitN(op.body, ">", 2)[0])[0], "<>/")
		t.Run(name, func(t *testing.T) {
			body := strings.Replace(op.body, "<"+name, "<"+name+` xmlns="`+op.ns+`"`, 1)
			r := do(t, s, DevicePath, envelopeFor(body))
			if r.code != 200 {
				t.Fatalf("status %d: %s", r.code, r.body)
			}
			if r.root.XMLName != xmlName(op.ns, name+"Response") {
				t.Errorf("reply %v", r.root.XMLName)
			}
			for _, bad := range []string{"0.0.0.0:", "127.0.0.1", "localhost"} {
				if strings.Contains(r.body, bad) {
					t.Errorf("reply contains %q", bad)
				}
			}
			// Every prefix used is declared: a strict namespace-aware
			// decode reports none unbound.
			checkPrefixes(t, r.body)
		})
	}
}

// checkPrefixes fails if an element or attribute prefix, or a QName value
// of a fault code, is not declared.
func checkPrefixes(t *testing.T, body string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			// encoding/xml leaves an unknown prefix as the Space.
			if se.Name.Space != "" && !strings.Contains(se.Name.Space, ":") {
				t.Errorf("undeclared prefix %q on %s", se.Name.Space, se.Name.Local)
			}
		}
	}
}

func TestNetworkInterfacesRealMAC(t *testing.T) {
	o := testOptions()
	o.Interfaces = nil
	s := newServer(t, o)
	r := do(t, s, DevicePath, envelopeFor(`<GetNetworkInterfaces xmlns="http://www.onvif.org/ver10/device/wsdl"/>`))
	ifs, _ := net.Interfaces()
	want := 0
	for _, i := range ifs {
		if len(i.HardwareAddr) > 0 {
			want++
		}
	}
	if len(r.root.Nodes) != want {
		t.Errorf("%d interfaces, want %d: %s", len(r.root.Nodes), want, r.body)
	}
	for _, n := range r.root.Nodes {
		if _, err := net.ParseMAC(n.path("tt:Info", "tt:HwAddress").text()); err != nil {
			t.Errorf("bad MAC in %s", r.body)
		}
	}
}

func TestPosixTZ(t *testing.T) {
	for _, tc := range []struct {
		loc  *time.Location
		want string
	}{
		{time.UTC, "UTC0"},
		{time.FixedZone("CET", 3600), "CET-1"},
		{time.FixedZone("IST", 5*3600+1800), "IST-5:30"},
		{time.FixedZone("", -5*3600), "LOC5"},
	} {
		if got := posixTZ(testNow.In(tc.loc)); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.loc, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	o := testOptions()
	o.Profiles = nil
	if _, err := New(o); err == nil {
		t.Error("no profiles accepted")
	}
	o = testOptions()
	o.Profiles[1].Token = "main"
	if _, err := New(o); err == nil {
		t.Error("duplicate token accepted")
	}
	_ = bytes.MinRead
}

// TestEmptyBodyGetsChallenge: curl --digest first POSTs an empty body and
// expects 401 with a challenge, then sends the request with credentials.
func TestEmptyBodyGetsChallenge(t *testing.T) {
	s := newServer(t, authOptions())
	r := httptest.NewRequest("POST", "http://192.0.2.10:8080"+DevicePath, strings.NewReader(""))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Digest ") || !strings.Contains(w.Body.String(), "ter:NotAuthorized") {
		t.Errorf("empty body: %d %q\n%s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
	// With valid credentials an empty body is still malformed.
	r = httptest.NewRequest("POST", "http://192.0.2.10:8080"+DevicePath, strings.NewReader(""))
	r.Header.Set("Authorization", "Digest ok")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 400 {
		t.Errorf("empty body with credentials: %d", w.Code)
	}
	// An open device answers an empty body as malformed.
	w = httptest.NewRecorder()
	newServer(t, testOptions()).ServeHTTP(w, httptest.NewRequest("POST", "http://192.0.2.10:8080"+DevicePath, strings.NewReader("")))
	if w.Code != 400 {
		t.Errorf("open device, empty body: %d", w.Code)
	}
}

// TestParsesBounded: no more than maxParallelParses envelopes are parsed
// at once. A request that finds every slot taken waits; if its client
// goes away meanwhile it gets a Receiver fault, and once a slot frees the
// next request is served.
func TestParsesBounded(t *testing.T) {
	s := newServer(t, testOptions())
	for range maxParallelParses {
		s.parses <- struct{}{}
	}
	body := envelopeFor(`<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest("POST", "http://192.0.2.10:8080"+DevicePath, strings.NewReader(body)).WithContext(ctx)
	r = r.WithContext(contextWithLocal(r, &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 8080}))
	r.Header.Set("Content-Type", "application/soap+xml")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "waiting to be parsed") {
		t.Errorf("with every parse slot taken: %d\n%s", w.Code, w.Body.String())
	}
	<-s.parses
	if res := do(t, s, DevicePath, body); res.code != 200 {
		t.Errorf("with a slot free: %d\n%s", res.code, res.body)
	}
}
