package onvif

import (
	"errors"
	"strings"
	"testing"
)

// setVECBody is a SetVideoEncoderConfiguration as ONVIF Device Manager
// sends it: the whole configuration, changed values among the old ones.
func setVECBody(token, w, h, fps, kbps, gov, profile string) string {
	return envelopeFor(`<SetVideoEncoderConfiguration xmlns="http://www.onvif.org/ver10/media/wsdl">` +
		`<Configuration token="` + token + `"><Name xmlns="http://www.onvif.org/ver10/schema">x</Name>` +
		`<UseCount xmlns="http://www.onvif.org/ver10/schema">1</UseCount>` +
		`<Encoding xmlns="http://www.onvif.org/ver10/schema">H264</Encoding>` +
		`<Resolution xmlns="http://www.onvif.org/ver10/schema"><Width>` + w + `</Width><Height>` + h + `</Height></Resolution>` +
		`<Quality xmlns="http://www.onvif.org/ver10/schema">5</Quality>` +
		`<RateControl xmlns="http://www.onvif.org/ver10/schema"><FrameRateLimit>` + fps + `</FrameRateLimit>` +
		`<EncodingInterval>1</EncodingInterval><BitrateLimit>` + kbps + `</BitrateLimit></RateControl>` +
		`<H264 xmlns="http://www.onvif.org/ver10/schema"><GovLength>` + gov + `</GovLength><H264Profile>` + profile + `</H264Profile></H264>` +
		`<Multicast xmlns="http://www.onvif.org/ver10/schema"><Address><Type>IPv4</Type><IPv4Address>0.0.0.0</IPv4Address></Address>` +
		`<Port>0</Port><TTL>0</TTL><AutoStart>false</AutoStart></Multicast>` +
		`<SessionTimeout xmlns="http://www.onvif.org/ver10/schema">PT60S</SessionTimeout></Configuration>` +
		`<ForcePersistence>true</ForcePersistence></SetVideoEncoderConfiguration>`)
}

func TestSetVideoEncoderConfiguration(t *testing.T) {
	var applied []Profile
	o := testOptions()
	o.Profiles[0].Resolutions = []Resolution{{1920, 1080}, {1280, 720}, {640, 360}}
	o.Profiles[0].MaxFPS, o.Profiles[0].MaxGOP, o.Profiles[0].MaxBitrateKbps = 30, 300, 8000
	o.SetVideoEncoder = func(p Profile) error {
		if p.Width == 640 {
			return errors.New("the main stream must be larger than the sub stream")
		}
		applied = append(applied, p)
		return nil
	}
	s := newServer(t, o)
	vec := func() (w, h, fps, kbps, gov string) {
		r := do(t, s, MediaPath, envelopeFor(`<GetVideoEncoderConfiguration xmlns="http://www.onvif.org/ver10/media/wsdl"><ConfigurationToken>VideoEncoder_main</ConfigurationToken></GetVideoEncoderConfiguration>`))
		c := r.root.path("trt:Configuration")
		return c.path("tt:Resolution", "tt:Width").text(), c.path("tt:Resolution", "tt:Height").text(),
			c.path("tt:RateControl", "tt:FrameRateLimit").text(), c.path("tt:RateControl", "tt:BitrateLimit").text(),
			c.path("tt:H264", "tt:GovLength").text()
	}
	tests := []struct {
		name                 string
		body                 string
		sub                  string // fault subcode; "" for success
		w, h, fps, kbps, gov string // settings afterwards
		calls                int    // SetVideoEncoder calls so far
	}{
		{"unchanged", setVECBody("VideoEncoder_main", "1280", "720", "25", "1000", "50", "Baseline"), "", "1280", "720", "25", "1000", "50", 0},
		{"change all", setVECBody("VideoEncoder_main", "1920", "1080", "15", "4000", "30", "Baseline"), "", "1920", "1080", "15", "4000", "30", 1},
		{"bitrate clamped", setVECBody("VideoEncoder_main", "1920", "1080", "15", "99999", "30", "Baseline"), "", "1920", "1080", "15", "8000", "30", 2},
		{"unknown token", setVECBody("VideoEncoder_nope", "1920", "1080", "15", "4000", "30", "Baseline"), "NoConfig", "1920", "1080", "15", "8000", "30", 2},
		{"unavailable size", setVECBody("VideoEncoder_main", "1000", "1000", "15", "4000", "30", "Baseline"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"fps too high", setVECBody("VideoEncoder_main", "1920", "1080", "60", "4000", "30", "Baseline"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"gov too long", setVECBody("VideoEncoder_main", "1920", "1080", "15", "4000", "301", "Baseline"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"profile", setVECBody("VideoEncoder_main", "1920", "1080", "15", "4000", "30", "High"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"not a number", setVECBody("VideoEncoder_main", "wide", "1080", "15", "4000", "30", "Baseline"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"zero", setVECBody("VideoEncoder_main", "1920", "1080", "0", "4000", "30", "Baseline"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"refused by the device", setVECBody("VideoEncoder_main", "640", "360", "15", "4000", "30", "Baseline"), "ConfigModify", "1920", "1080", "15", "8000", "30", 2},
		{"partial", envelopeFor(`<SetVideoEncoderConfiguration xmlns="http://www.onvif.org/ver10/media/wsdl"><Configuration token="VideoEncoder_main"><RateControl xmlns="http://www.onvif.org/ver10/schema"><BitrateLimit>2000</BitrateLimit></RateControl></Configuration><ForcePersistence>true</ForcePersistence></SetVideoEncoderConfiguration>`),
			"", "1920", "1080", "15", "2000", "30", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s, MediaPath, tt.body)
			if tt.sub != "" {
				if r.code != 400 {
					t.Errorf("status %d, want 400", r.code)
				}
				checkFault(t, r, "Sender", tt.sub)
			} else if r.code != 200 || r.root.XMLName != xmlName(NSMedia, "SetVideoEncoderConfigurationResponse") {
				t.Fatalf("status %d\n%s", r.code, r.body)
			}
			w, h, fps, kbps, gov := vec()
			if got, want := strings.Join([]string{w, h, fps, kbps, gov}, " "), strings.Join([]string{tt.w, tt.h, tt.fps, tt.kbps, tt.gov}, " "); got != want {
				t.Errorf("settings %s, want %s", got, want)
			}
			if len(applied) != tt.calls {
				t.Errorf("SetVideoEncoder called %d times, want %d", len(applied), tt.calls)
			}
		})
	}
	if p := applied[len(applied)-1]; p.Token != "main" || p.Path != "/main" || p.BitrateKbps != 2000 {
		t.Errorf("last applied %+v", p)
	}
	// The profile and the video source follow the new size.
	r := do(t, s, MediaPath, envelopeFor(`<GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/>`))
	if got := r.root.path("trt:Profiles", "tt:VideoSourceConfiguration", "tt:Bounds").attr("width"); got != "1920" {
		t.Errorf("video source bounds width %q after the change", got)
	}
}

func TestSetVideoEncoderConfigurationFixed(t *testing.T) {
	s := newServer(t, testOptions()) // no SetVideoEncoder
	r := do(t, s, MediaPath, setVECBody("VideoEncoder_main", "1280", "720", "25", "1000", "50", "Baseline"))
	if r.code != 200 {
		t.Errorf("unchanged settings refused: %d\n%s", r.code, r.body)
	}
	r = do(t, s, MediaPath, setVECBody("VideoEncoder_main", "1280", "720", "20", "1000", "50", "Baseline"))
	checkFault(t, r, "Sender", "ConfigModify")
	if !strings.Contains(r.body, "fixed") {
		t.Errorf("reason does not say why:\n%s", r.body)
	}
}

func TestVideoEncoderOptions(t *testing.T) {
	o := testOptions()
	o.Profiles[0].Resolutions = []Resolution{{1920, 1080}, {1280, 720}}
	o.Profiles[0].MaxFPS, o.Profiles[0].MaxBitrateKbps = 30, 8000
	s := newServer(t, o)
	r := do(t, s, MediaPath, envelopeFor(`<GetVideoEncoderConfigurationOptions xmlns="http://www.onvif.org/ver10/media/wsdl"><ProfileToken>main</ProfileToken></GetVideoEncoderConfigurationOptions>`))
	h := r.root.path("trt:Options", "tt:H264")
	var sizes []string
	for _, k := range h.Nodes {
		if k := &k; k.XMLName.Local == "ResolutionsAvailable" {
			sizes = append(sizes, k.path("tt:Width").text()+"x"+k.path("tt:Height").text())
		}
	}
	if got := strings.Join(sizes, " "); got != "1920x1080 1280x720" {
		t.Errorf("resolutions %q", got)
	}
	if got := h.path("tt:FrameRateRange", "tt:Max").text(); got != "30" {
		t.Errorf("max frame rate %q", got)
	}
	br := r.root.path("trt:Options", "tt:Extension", "tt:H264", "tt:BitrateRange")
	if br.path("tt:Min").text() != "64" || br.path("tt:Max").text() != "8000" {
		t.Errorf("bitrate range %q..%q", br.path("tt:Min").text(), br.path("tt:Max").text())
	}
}
