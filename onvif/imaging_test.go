package onvif

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// zeepImaging is a body as python3-zeep sends it: ns0/ns1 prefixes.
func zeepImaging(op, inner string) string {
	return `<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Body><ns0:` + op +
		` xmlns:ns0="http://www.onvif.org/ver20/imaging/wsdl">` + inner + `</ns0:` + op + `></soap-env:Body></soap-env:Envelope>`
}

// npmImaging is a body as the npm onvif package sends it: unprefixed,
// default namespaces.
func npmImaging(op, inner string) string {
	return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header/>` +
		`<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><` + op +
		` xmlns="http://www.onvif.org/ver20/imaging/wsdl">` + inner + `</` + op + `></s:Body></s:Envelope>`
}

// settings reads GetImagingSettings namespace-aware: the tt children of
// timg:ImagingSettings in order, with their text.
func settings(t *testing.T, s *Server, hdr ...string) [][2]string {
	t.Helper()
	r := do(t, s, ImagingPath, zeepImaging("GetImagingSettings", `<ns0:VideoSourceToken>VideoSource_1</ns0:VideoSourceToken>`), hdr...)
	if r.code != 200 || r.root.XMLName != xmlName(NSImg, "GetImagingSettingsResponse") {
		t.Fatalf("GetImagingSettings: %d\n%s", r.code, r.body)
	}
	is := r.root.child(NSImg, "ImagingSettings")
	if is == nil {
		t.Fatalf("no timg:ImagingSettings:\n%s", r.body)
	}
	var out [][2]string
	for _, k := range is.Nodes {
		if k.XMLName.Space != NSSchema {
			t.Errorf("setting %v not in tt", k.XMLName)
		}
		out = append(out, [2]string{k.XMLName.Local, k.text()})
	}
	return out
}

func TestImagingSettings(t *testing.T) {
	s := newServer(t, testOptions())
	want := [][2]string{{"Brightness", "50"}, {"ColorSaturation", "50"}, {"Contrast", "50"}, {"IrCutFilter", "AUTO"}, {"Sharpness", "50"}}
	if got := settings(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("initial settings %v, want %v", got, want)
	}

	// zeep: IrCutFilter only (Home Assistant's IR lamp switch).
	r := do(t, s, ImagingPath, zeepImaging("SetImagingSettings",
		`<ns0:VideoSourceToken>VideoSource_1</ns0:VideoSourceToken><ns0:ImagingSettings><ns1:IrCutFilter xmlns:ns1="http://www.onvif.org/ver10/schema">OFF</ns1:IrCutFilter></ns0:ImagingSettings>`))
	if r.code != 200 || r.root.XMLName != xmlName(NSImg, "SetImagingSettingsResponse") || len(r.root.Nodes) != 0 {
		t.Fatalf("SetImagingSettings: %d\n%s", r.code, r.body)
	}
	want[3][1] = "OFF"
	if got := settings(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after OFF: %v, want %v", got, want)
	}

	// npm: partial levels and ForcePersistence, IR cut untouched; sent to
	// the device path (dispatch is by namespace).
	r = do(t, s, DevicePath, npmImaging("SetImagingSettings",
		`<VideoSourceToken>VideoSource_1</VideoSourceToken><ImagingSettings><Brightness xmlns="http://www.onvif.org/ver10/schema">70.5</Brightness><Sharpness xmlns="http://www.onvif.org/ver10/schema">10</Sharpness></ImagingSettings><ForcePersistence>true</ForcePersistence>`),
		"Content-Type", `application/soap+xml;charset=utf-8;action="http://www.onvif.org/ver20/imaging/wsdl/SetImagingSettings"`)
	if r.code != 200 {
		t.Fatalf("npm SetImagingSettings: %d\n%s", r.code, r.body)
	}
	want[0][1], want[4][1] = "70.5", "10"
	if got := settings(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after partial set: %v, want %v", got, want)
	}

	// Invalid values change nothing, even the valid parts of the request.
	for _, bad := range []string{
		`<IrCutFilter xmlns="http://www.onvif.org/ver10/schema">MAYBE</IrCutFilter>`,
		`<IrCutFilter xmlns="http://www.onvif.org/ver10/schema">on</IrCutFilter>`,
		`<Brightness xmlns="http://www.onvif.org/ver10/schema">101</Brightness><IrCutFilter xmlns="http://www.onvif.org/ver10/schema">ON</IrCutFilter>`,
		`<Contrast xmlns="http://www.onvif.org/ver10/schema">x</Contrast>`,
	} {
		r = do(t, s, ImagingPath, npmImaging("SetImagingSettings", `<VideoSourceToken>VideoSource_1</VideoSourceToken><ImagingSettings>`+bad+`</ImagingSettings>`))
		if r.code != 400 {
			t.Errorf("%s: status %d", bad, r.code)
		}
		checkSubcodes(t, r, "Sender", "InvalidArgVal", "SettingsInvalid")
	}
	if got := settings(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after invalid sets: %v, want %v", got, want)
	}

	// Unknown source.
	for _, body := range []string{
		zeepImaging("GetImagingSettings", `<ns0:VideoSourceToken>nope</ns0:VideoSourceToken>`),
		zeepImaging("GetOptions", `<ns0:VideoSourceToken>nope</ns0:VideoSourceToken>`),
		zeepImaging("SetImagingSettings", `<ns0:VideoSourceToken>nope</ns0:VideoSourceToken><ns0:ImagingSettings/>`),
	} {
		r = do(t, s, ImagingPath, body)
		if r.code != 400 {
			t.Errorf("unknown source: status %d", r.code)
		}
		checkSubcodes(t, r, "Sender", "InvalidArgVal", "NoSource")
	}

	// No focus motor.
	for _, op := range []string{"GetStatus", "GetMoveOptions", "Move", "Stop"} {
		r = do(t, s, ImagingPath, zeepImaging(op, `<ns0:VideoSourceToken>VideoSource_1</ns0:VideoSourceToken>`))
		checkFault(t, r, "Receiver", "ActionNotSupported")
	}
}

func TestImagingOptionsAndCaps(t *testing.T) {
	s := newServer(t, testOptions())
	r := do(t, s, ImagingPath, npmImaging("GetOptions", `<VideoSourceToken>VideoSource_1</VideoSourceToken>`))
	io := r.root.child(NSImg, "ImagingOptions")
	if r.code != 200 || io == nil {
		t.Fatalf("GetOptions: %d\n%s", r.code, r.body)
	}
	var names, modes []string
	for _, k := range io.Nodes {
		names = append(names, k.XMLName.Local)
		if k.XMLName.Local == "IrCutFilterModes" {
			modes = append(modes, k.text())
		} else if k.child(NSSchema, "Min").text() != "0" || k.child(NSSchema, "Max").text() != "100" {
			t.Errorf("%s range: %s", k.XMLName.Local, r.body)
		}
	}
	wantNames := []string{"Brightness", "ColorSaturation", "Contrast", "IrCutFilterModes", "IrCutFilterModes", "IrCutFilterModes", "Sharpness"}
	if !reflect.DeepEqual(names, wantNames) || !reflect.DeepEqual(modes, []string{"ON", "OFF", "AUTO"}) {
		t.Errorf("options %v %v", names, modes)
	}

	r = do(t, s, ImagingPath, zeepImaging("GetServiceCapabilities", ""))
	if c := r.root.child(NSImg, "Capabilities"); r.code != 200 || c == nil || c.attr("ImageStabilization") != "false" {
		t.Errorf("GetServiceCapabilities: %d\n%s", r.code, r.body)
	}

	// Listed in GetServices (with its capabilities) and GetCapabilities.
	r = do(t, s, DevicePath, envelopeFor(`<GetServices xmlns="http://www.onvif.org/ver10/device/wsdl"><IncludeCapability>true</IncludeCapability></GetServices>`))
	found := false
	for _, sv := range r.root.Nodes {
		if sv.child(NSDevice, "Namespace").text() == NSImg {
			found = sv.child(NSDevice, "XAddr").text() == "http://192.0.2.10:8080"+ImagingPath &&
				sv.child(NSDevice, "Capabilities").child(NSImg, "Capabilities") != nil
		}
	}
	if !found {
		t.Errorf("GetServices without a complete imaging entry:\n%s", r.body)
	}
	r = do(t, s, DevicePath, envelopeFor(`<GetCapabilities xmlns="http://www.onvif.org/ver10/device/wsdl"><Category>Imaging</Category></GetCapabilities>`))
	if got := r.root.path("tds:Capabilities", "tt:Imaging", "tt:XAddr").text(); got != "http://192.0.2.10:8080"+ImagingPath {
		t.Errorf("GetCapabilities Imaging XAddr %q", got)
	}
}

type fakeIR struct {
	modes []string
	err   error
}

func (f *fakeIR) IrCut() string {
	if len(f.modes) == 0 {
		return IrCutOn
	}
	return f.modes[len(f.modes)-1]
}

func (f *fakeIR) SetIrCut(m string) error {
	if f.err != nil {
		return f.err
	}
	f.modes = append(f.modes, m)
	return nil
}

func setIR(mode string) string {
	return npmImaging("SetImagingSettings", `<VideoSourceToken>VideoSource_1</VideoSourceToken><ImagingSettings><IrCutFilter xmlns="http://www.onvif.org/ver10/schema">`+mode+`</IrCutFilter></ImagingSettings>`)
}

func TestImagingBackendAndAuth(t *testing.T) {
	ir := &fakeIR{}
	o := authOptions()
	o.Imaging = ir
	admin := true
	o.IsAdmin = func(string) bool { return admin }
	s := newServer(t, o)
	ok := []string{"Authorization", "Digest ok"}

	if got := settings(t, s, ok...); got[3] != [2]string{"IrCutFilter", "ON"} {
		t.Errorf("backend mode not reported: %v", got)
	}
	// Reads need credentials, GetServiceCapabilities does not.
	r := do(t, s, ImagingPath, zeepImaging("GetImagingSettings", `<ns0:VideoSourceToken>VideoSource_1</ns0:VideoSourceToken>`))
	if r.code != 401 {
		t.Errorf("unauthenticated read: %d", r.code)
	}
	if r = do(t, s, ImagingPath, zeepImaging("GetServiceCapabilities", "")); r.code != 200 {
		t.Errorf("GetServiceCapabilities is PRE_AUTH: %d", r.code)
	}

	if r = do(t, s, ImagingPath, setIR("OFF"), ok...); r.code != 200 {
		t.Fatalf("admin set: %d\n%s", r.code, r.body)
	}
	// The same mode again does not touch the board.
	do(t, s, ImagingPath, setIR("OFF"), ok...)
	if !reflect.DeepEqual(ir.modes, []string{"OFF"}) {
		t.Errorf("backend calls %v", ir.modes)
	}

	admin = false
	r = do(t, s, ImagingPath, setIR("AUTO"), ok...)
	if r.code != http.StatusForbidden {
		t.Errorf("viewer set: %d", r.code)
	}
	checkFault(t, r, "Sender", "NotAuthorized")
	if len(ir.modes) != 1 {
		t.Errorf("viewer changed the mode: %v", ir.modes)
	}

	admin = true
	ir.err = errors.New("gpio busy")
	r = do(t, s, ImagingPath, setIR("AUTO"), ok...)
	if r.code != 500 || strings.Contains(r.body, "gpio") {
		t.Errorf("backend failure: %d\n%s", r.code, r.body)
	}
	checkSubcodes(t, r, "Receiver")
}

// checkSubcodes checks a SOAP 1.2 fault's code and its whole subcode chain.
func checkSubcodes(t *testing.T, r result, code string, subs ...string) {
	t.Helper()
	if r.root.XMLName != xmlName(NSSOAP12, "Fault") {
		t.Fatalf("not a fault: %s", r.body)
	}
	if got := r.root.path("env:Code", "env:Value").text(); got != "env:"+code {
		t.Errorf("code %q, want env:%s", got, code)
	}
	var got, want []string
	for n := r.root.path("env:Code", "env:Subcode"); n != nil; n = n.path("env:Subcode") {
		got = append(got, n.path("env:Value").text())
	}
	for _, s := range subs {
		want = append(want, "ter:"+s)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("subcodes %v, want %v\n%s", got, want, r.body)
	}
}
