package onvif

import (
	"encoding/xml"
	"net/http"
	"strconv"
)

func xmlName(ns, local string) xml.Name { return xml.Name{Space: ns, Local: local} }

// Tokens of the single video source and its configuration.
const (
	videoSourceToken       = "VideoSource_1"
	videoSourceConfigToken = "VideoSourceConfig_1"
)

func vecToken(p *Profile) string { return "VideoEncoder_" + p.Token }

func (s *Server) mediaOps() {
	m := NSMedia
	s.handle(m, "GetServiceCapabilities", preAuth, func(c *call) (*el, error) {
		return e("trt:GetServiceCapabilitiesResponse", s.mediaServiceCaps()), nil
	})
	s.handle(m, "GetProfiles", read, func(c *call) (*el, error) {
		r := e("trt:GetProfilesResponse")
		for i := range s.opts.Profiles {
			r.kids = append(r.kids, s.profile("trt:Profiles", &s.opts.Profiles[i]))
		}
		return r, nil
	})
	s.handle(m, "GetProfile", read, func(c *call) (*el, error) {
		p, err := s.findProfile(c.op.child(NSMedia, "ProfileToken").text())
		if err != nil {
			return nil, err
		}
		return e("trt:GetProfileResponse", s.profile("trt:Profile", p)), nil
	})
	s.handle(m, "GetStreamUri", read, s.getStreamUri)
	s.handle(m, "GetSnapshotUri", read, func(c *call) (*el, error) {
		if _, err := s.findProfile(c.op.child(NSMedia, "ProfileToken").text()); err != nil {
			return nil, err
		}
		return e("trt:GetSnapshotUriResponse", mediaURI(c.url("http", c.port, s.opts.SnapshotPath))), nil
	})
	s.handle(m, "GetVideoSources", read, func(c *call) (*el, error) {
		p := &s.opts.Profiles[0]
		return e("trt:GetVideoSourcesResponse", e("trt:VideoSources", a("token", videoSourceToken),
			e("tt:Framerate", itoa(p.FPS)),
			e("tt:Resolution", e("tt:Width", itoa(p.Width)), e("tt:Height", itoa(p.Height))))), nil
	})
	s.handle(m, "GetVideoSourceConfigurations", read, func(c *call) (*el, error) {
		return e("trt:GetVideoSourceConfigurationsResponse", s.vsc("trt:Configurations")), nil
	})
	s.handle(m, "GetVideoSourceConfiguration", read, func(c *call) (*el, error) {
		if c.op.child(NSMedia, "ConfigurationToken").text() != videoSourceConfigToken {
			return nil, noConfig()
		}
		return e("trt:GetVideoSourceConfigurationResponse", s.vsc("trt:Configuration")), nil
	})
	s.handle(m, "GetVideoEncoderConfigurations", read, func(c *call) (*el, error) {
		r := e("trt:GetVideoEncoderConfigurationsResponse")
		for i := range s.opts.Profiles {
			r.kids = append(r.kids, s.vec("trt:Configurations", &s.opts.Profiles[i]))
		}
		return r, nil
	})
	s.handle(m, "GetVideoEncoderConfiguration", read, func(c *call) (*el, error) {
		p := s.profileByVEC(c.op.child(NSMedia, "ConfigurationToken").text())
		if p == nil {
			return nil, noConfig()
		}
		return e("trt:GetVideoEncoderConfigurationResponse", s.vec("trt:Configuration", p)), nil
	})
	s.handle(m, "GetVideoEncoderConfigurationOptions", read, s.getVECOptions)
}

func noConfig() error {
	return fault(http.StatusBadRequest, "Sender", "no such configuration", "InvalidArgVal", "NoConfig")
}

func (s *Server) mediaServiceCaps() *el {
	return e("trt:Capabilities", a("SnapshotUri", "true"), a("Rotation", "false"), a("VideoSourceMode", "false"), a("OSD", "false"),
		e("trt:ProfileCapabilities", a("MaximumNumberOfProfiles", itoa(len(s.opts.Profiles)))),
		e("trt:StreamingCapabilities", a("RTPMulticast", "true"), a("RTP_TCP", "true"), a("RTP_RTSP_TCP", "true"),
			a("NonAggregateControl", "false"), a("NoRTSPStreaming", "false")))
}

func (s *Server) findProfile(token string) (*Profile, error) {
	for i := range s.opts.Profiles {
		if s.opts.Profiles[i].Token == token {
			return &s.opts.Profiles[i], nil
		}
	}
	return nil, fault(http.StatusBadRequest, "Sender", "no such profile", "InvalidArgVal", "NoProfile")
}

func (s *Server) profileByVEC(token string) *Profile {
	for i := range s.opts.Profiles {
		if vecToken(&s.opts.Profiles[i]) == token {
			return &s.opts.Profiles[i]
		}
	}
	return nil
}

func (s *Server) profile(name string, p *Profile) *el {
	return e(name, a("token", p.Token), a("fixed", "true"),
		e("tt:Name", p.Name),
		s.vsc("tt:VideoSourceConfiguration"),
		s.vec("tt:VideoEncoderConfiguration", p))
}

func (s *Server) vsc(name string) *el {
	p := &s.opts.Profiles[0]
	return e(name, a("token", videoSourceConfigToken),
		e("tt:Name", videoSourceConfigToken),
		e("tt:UseCount", itoa(len(s.opts.Profiles))),
		e("tt:SourceToken", videoSourceToken),
		e("tt:Bounds", a("x", "0"), a("y", "0"), a("width", itoa(p.Width)), a("height", itoa(p.Height))))
}

func (s *Server) vec(name string, p *Profile) *el {
	gop := p.GOP
	if gop <= 0 {
		gop = p.FPS
	}
	maddr := "0.0.0.0"
	if p.MulticastAddress.IsValid() && p.MulticastAddress.Is4() {
		maddr = p.MulticastAddress.String()
	}
	return e(name, a("token", vecToken(p)),
		e("tt:Name", vecToken(p)),
		e("tt:UseCount", "1"),
		e("tt:Encoding", "H264"),
		e("tt:Resolution", e("tt:Width", itoa(p.Width)), e("tt:Height", itoa(p.Height))),
		e("tt:Quality", "5"),
		e("tt:RateControl", e("tt:FrameRateLimit", itoa(p.FPS)), e("tt:EncodingInterval", "1"),
			e("tt:BitrateLimit", itoa(p.BitrateKbps))),
		e("tt:H264", e("tt:GovLength", itoa(gop)), e("tt:H264Profile", "Baseline")),
		e("tt:Multicast",
			e("tt:Address", e("tt:Type", "IPv4"), e("tt:IPv4Address", maddr)),
			e("tt:Port", itoa(p.MulticastPort)),
			e("tt:TTL", itoa(p.MulticastTTL)),
			e("tt:AutoStart", "false")),
		e("tt:SessionTimeout", "PT60S"))
}

func mediaURI(uri string) *el {
	return e("trt:MediaUri", e("tt:Uri", uri), e("tt:InvalidAfterConnect", "false"),
		e("tt:InvalidAfterReboot", "false"), e("tt:Timeout", "PT0S"))
}

func (s *Server) getStreamUri(c *call) (*el, error) {
	p, err := s.findProfile(c.op.child(NSMedia, "ProfileToken").text())
	if err != nil {
		return nil, err
	}
	setup := c.op.child(NSMedia, "StreamSetup")
	stream := setup.child(NSSchema, "Stream").text()
	proto := setup.child(NSSchema, "Transport").child(NSSchema, "Protocol").text()
	if setup != nil {
		if stream != "RTP-Unicast" && stream != "RTP-Multicast" {
			return nil, fault(http.StatusBadRequest, "Sender", "unsupported stream type", "InvalidArgVal", "InvalidStreamSetup")
		}
		switch proto {
		case "UDP", "TCP", "RTSP", "HTTP":
		default:
			return nil, fault(http.StatusBadRequest, "Sender", "unsupported transport", "InvalidArgVal", "InvalidStreamSetup")
		}
	}
	return e("trt:GetStreamUriResponse", mediaURI(c.url("rtsp", s.opts.RTSPPort, p.Path))), nil
}

func (s *Server) getVECOptions(c *call) (*el, error) {
	var ps []*Profile
	if tok := c.op.child(NSMedia, "ConfigurationToken").text(); tok != "" {
		p := s.profileByVEC(tok)
		if p == nil {
			return nil, noConfig()
		}
		ps = append(ps, p)
	} else if tok := c.op.child(NSMedia, "ProfileToken").text(); tok != "" {
		p, err := s.findProfile(tok)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	} else {
		for i := range s.opts.Profiles {
			ps = append(ps, &s.opts.Profiles[i])
		}
	}
	h := e("tt:H264")
	maxFPS, maxGOP := 1, 1
	for _, p := range ps {
		h.kids = append(h.kids, e("tt:ResolutionsAvailable", e("tt:Width", itoa(p.Width)), e("tt:Height", itoa(p.Height))))
		maxFPS = max(maxFPS, p.FPS)
		gop := p.GOP
		if gop <= 0 {
			gop = p.FPS
		}
		maxGOP = max(maxGOP, gop)
	}
	rng := func(name string, lo, hi int) *el {
		return e(name, e("tt:Min", strconv.Itoa(lo)), e("tt:Max", strconv.Itoa(hi)))
	}
	h.kids = append(h.kids, rng("tt:GovLengthRange", 1, maxGOP), rng("tt:FrameRateRange", 1, maxFPS),
		rng("tt:EncodingIntervalRange", 1, 1), e("tt:H264ProfilesSupported", "Baseline"))
	return e("trt:GetVideoEncoderConfigurationOptionsResponse",
		e("trt:Options", rng("tt:QualityRange", 0, 10), h)), nil
}
