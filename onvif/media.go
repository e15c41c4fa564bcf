package onvif

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
		ps := s.profileList()
		for i := range ps {
			r.kids = append(r.kids, s.profile("trt:Profiles", ps, &ps[i]))
		}
		return r, nil
	})
	s.handle(m, "GetProfile", read, func(c *call) (*el, error) {
		p, err := s.findProfile(c.op.child(NSMedia, "ProfileToken").text())
		if err != nil {
			return nil, err
		}
		return e("trt:GetProfileResponse", s.profile("trt:Profile", s.profileList(), p)), nil
	})
	s.handle(m, "GetStreamUri", read, s.getStreamUri)
	s.handle(m, "GetSnapshotUri", read, func(c *call) (*el, error) {
		if _, err := s.findProfile(c.op.child(NSMedia, "ProfileToken").text()); err != nil {
			return nil, err
		}
		return e("trt:GetSnapshotUriResponse", mediaURI(c.url("http", c.port, s.opts.SnapshotPath))), nil
	})
	s.handle(m, "GetVideoSources", read, func(c *call) (*el, error) {
		p := &s.profileList()[0]
		return e("trt:GetVideoSourcesResponse", e("trt:VideoSources", a("token", videoSourceToken),
			e("tt:Framerate", itoa(p.FPS)),
			e("tt:Resolution", e("tt:Width", itoa(p.Width)), e("tt:Height", itoa(p.Height))))), nil
	})
	s.handle(m, "GetVideoSourceConfigurations", read, func(c *call) (*el, error) {
		return e("trt:GetVideoSourceConfigurationsResponse", s.vsc("trt:Configurations", s.profileList())), nil
	})
	s.handle(m, "GetVideoSourceConfiguration", read, func(c *call) (*el, error) {
		if c.op.child(NSMedia, "ConfigurationToken").text() != videoSourceConfigToken {
			return nil, noConfig()
		}
		return e("trt:GetVideoSourceConfigurationResponse", s.vsc("trt:Configuration", s.profileList())), nil
	})
	s.handle(m, "GetVideoEncoderConfigurations", read, func(c *call) (*el, error) {
		r := e("trt:GetVideoEncoderConfigurationsResponse")
		ps := s.profileList()
		for i := range ps {
			r.kids = append(r.kids, s.vec("trt:Configurations", &ps[i]))
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
	s.handle(m, "SetVideoEncoderConfiguration", write, s.setVEC)
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

// SetEncoding updates the encoder figures (size, rate, bitrate, GOP) of
// the profile with token after the camera's settings changed elsewhere
// (the web page), so that GetProfiles tells the truth. It reports whether
// there is such a profile.
func (s *Server) SetEncoding(token string, width, height, fps, bitrateKbps, gop int) bool {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for i := range s.profiles {
		if p := &s.profiles[i]; p.Token == token {
			p.Width, p.Height, p.FPS, p.BitrateKbps, p.GOP = width, height, fps, bitrateKbps, gop
			return true
		}
	}
	return false
}

// profileList returns a copy of the profiles as they are now.
func (s *Server) profileList() []Profile {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	return append([]Profile(nil), s.profiles...)
}

// findProfile returns a copy of the profile with token.
func (s *Server) findProfile(token string) (*Profile, error) {
	ps := s.profileList()
	for i := range ps {
		if ps[i].Token == token {
			return &ps[i], nil
		}
	}
	return nil, fault(http.StatusBadRequest, "Sender", "no such profile", "InvalidArgVal", "NoProfile")
}

// profileByVEC returns a copy of the profile whose video encoder
// configuration has token, or nil.
func (s *Server) profileByVEC(token string) *Profile {
	ps := s.profileList()
	for i := range ps {
		if vecToken(&ps[i]) == token {
			return &ps[i]
		}
	}
	return nil
}

func (s *Server) profile(name string, all []Profile, p *Profile) *el {
	return e(name, a("token", p.Token), a("fixed", "true"),
		e("tt:Name", p.Name),
		s.vsc("tt:VideoSourceConfiguration", all),
		s.vec("tt:VideoEncoderConfiguration", p))
}

// vsc is the video source configuration, shared by all profiles; its
// bounds are the size of the first (main) one.
func (s *Server) vsc(name string, all []Profile) *el {
	p := &all[0]
	return e(name, a("token", videoSourceConfigToken),
		e("tt:Name", videoSourceConfigToken),
		e("tt:UseCount", itoa(len(all))),
		e("tt:SourceToken", videoSourceToken),
		e("tt:Bounds", a("x", "0"), a("y", "0"), a("width", itoa(p.Width)), a("height", itoa(p.Height))))
}

func (s *Server) vec(name string, p *Profile) *el {
	gop := p.gop()
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

// resolutions returns the sizes p may be set to, its own among them.
func (p *Profile) resolutions() []Resolution {
	cur := Resolution{p.Width, p.Height}
	rs := p.Resolutions
	if !slices.Contains(rs, cur) {
		rs = append([]Resolution{cur}, rs...)
	}
	return rs
}

func (p *Profile) gop() int {
	if p.GOP <= 0 {
		return p.FPS
	}
	return p.GOP
}

func (p *Profile) maxFPS() int { return max(p.MaxFPS, p.FPS) }
func (p *Profile) maxGOP() int { return max(p.MaxGOP, p.gop()) }

func (p *Profile) bitrateRange() (lo, hi int) {
	lo = p.MinBitrateKbps
	if lo <= 0 {
		lo = 64
	}
	lo = min(lo, p.BitrateKbps)
	return lo, max(p.MaxBitrateKbps, p.BitrateKbps, lo)
}

func (s *Server) getVECOptions(c *call) (*el, error) {
	var ps []Profile
	if tok := c.op.child(NSMedia, "ConfigurationToken").text(); tok != "" {
		p := s.profileByVEC(tok)
		if p == nil {
			return nil, noConfig()
		}
		ps = append(ps, *p)
	} else if tok := c.op.child(NSMedia, "ProfileToken").text(); tok != "" {
		p, err := s.findProfile(tok)
		if err != nil {
			return nil, err
		}
		ps = append(ps, *p)
	} else {
		ps = s.profileList()
	}
	var sizes []Resolution
	maxFPS, maxGOP, loRate, hiRate := 1, 1, 0, 0
	for i := range ps {
		p := &ps[i]
		for _, r := range p.resolutions() {
			if !slices.Contains(sizes, r) {
				sizes = append(sizes, r)
			}
		}
		maxFPS, maxGOP = max(maxFPS, p.maxFPS()), max(maxGOP, p.maxGOP())
		lo, hi := p.bitrateRange()
		if i == 0 || lo < loRate {
			loRate = lo
		}
		hiRate = max(hiRate, hi)
	}
	rng := func(name string, lo, hi int) *el {
		return e(name, e("tt:Min", strconv.Itoa(lo)), e("tt:Max", strconv.Itoa(hi)))
	}
	h264 := func(name string, extra ...any) *el {
		h := e(name)
		for _, r := range sizes {
			h.kids = append(h.kids, e("tt:ResolutionsAvailable", e("tt:Width", itoa(r.Width)), e("tt:Height", itoa(r.Height))))
		}
		h.kids = append(h.kids, rng("tt:GovLengthRange", 1, maxGOP), rng("tt:FrameRateRange", 1, maxFPS),
			rng("tt:EncodingIntervalRange", 1, 1), e("tt:H264ProfilesSupported", "Baseline"))
		for _, x := range extra {
			h.kids = append(h.kids, x.(*el))
		}
		return h
	}
	return e("trt:GetVideoEncoderConfigurationOptionsResponse",
		e("trt:Options", rng("tt:QualityRange", 0, 10), h264("tt:H264"),
			e("tt:Extension", h264("tt:H264", rng("tt:BitrateRange", loRate, hiRate))))), nil
}

// configModify is the fault for encoder settings that cannot be applied.
func configModify(reason string) error {
	return fault(http.StatusBadRequest, "Sender", reason, "InvalidArgVal", "ConfigModify")
}

// setVEC applies SetVideoEncoderConfiguration. Elements the request
// leaves out keep their values; Quality, Multicast and SessionTimeout are
// fixed and ignored; BitrateLimit is clamped to the advertised range.
func (s *Server) setVEC(c *call) (*el, error) {
	conf := c.op.child(NSMedia, "Configuration")
	if conf == nil {
		return nil, configModify("no Configuration")
	}
	s.setMu.Lock()
	defer s.setMu.Unlock()
	cur := s.profileByVEC(conf.attr("token"))
	if cur == nil {
		return nil, noConfig()
	}
	np := *cur
	var bad string
	num := func(n *node, name string, dst *int) {
		if n == nil || bad != "" {
			return
		}
		v, err := strconv.Atoi(strings.TrimSpace(n.text()))
		if err != nil || v <= 0 {
			bad = fmt.Sprintf("%s %q is not a positive integer", name, n.text())
			return
		}
		*dst = v
	}
	const tt = NSSchema
	if enc := conf.child(tt, "Encoding"); enc != nil && strings.TrimSpace(enc.text()) != "H264" {
		return nil, configModify(fmt.Sprintf("encoding %q is not supported: only H264", enc.text()))
	}
	res := conf.child(tt, "Resolution")
	if res != nil {
		num(res.child(tt, "Width"), "Width", &np.Width)
		num(res.child(tt, "Height"), "Height", &np.Height)
	}
	var interval int
	rc := conf.child(tt, "RateControl")
	if rc != nil {
		num(rc.child(tt, "FrameRateLimit"), "FrameRateLimit", &np.FPS)
		num(rc.child(tt, "EncodingInterval"), "EncodingInterval", &interval)
		num(rc.child(tt, "BitrateLimit"), "BitrateLimit", &np.BitrateKbps)
	}
	h := conf.child(tt, "H264")
	if h != nil {
		num(h.child(tt, "GovLength"), "GovLength", &np.GOP)
		if prof := h.child(tt, "H264Profile"); prof != nil && strings.TrimSpace(prof.text()) != "Baseline" {
			return nil, configModify(fmt.Sprintf("H264Profile %q is not supported: only Baseline", prof.text()))
		}
	}
	if bad != "" {
		return nil, configModify(bad)
	}
	switch r := (Resolution{np.Width, np.Height}); {
	case !slices.Contains(cur.resolutions(), r):
		return nil, configModify(fmt.Sprintf("resolution %dx%d is not among the available ones", r.Width, r.Height))
	case np.FPS > cur.maxFPS():
		return nil, configModify(fmt.Sprintf("FrameRateLimit %d is above the maximum %d", np.FPS, cur.maxFPS()))
	case interval > 1:
		return nil, configModify(fmt.Sprintf("EncodingInterval %d is not supported: only 1", interval))
	case np.GOP > cur.maxGOP():
		return nil, configModify(fmt.Sprintf("GovLength %d is above the maximum %d", np.GOP, cur.maxGOP()))
	}
	lo, hi := cur.bitrateRange()
	np.BitrateKbps = min(max(np.BitrateKbps, lo), hi)
	if np.Width == cur.Width && np.Height == cur.Height && np.FPS == cur.FPS &&
		np.BitrateKbps == cur.BitrateKbps && np.gop() == cur.gop() {
		return e("trt:SetVideoEncoderConfigurationResponse"), nil
	}
	if s.opts.SetVideoEncoder == nil {
		return nil, configModify("the encoder settings of this device are fixed")
	}
	if err := s.opts.SetVideoEncoder(np); err != nil {
		return nil, configModify(err.Error())
	}
	s.log.Info("video encoder configuration changed", "profile", np.Token,
		"width", np.Width, "height", np.Height, "fps", np.FPS, "kbps", np.BitrateKbps, "gop", np.gop())
	s.pmu.Lock()
	for i := range s.profiles {
		if s.profiles[i].Token == np.Token {
			s.profiles[i] = np
		}
	}
	s.pmu.Unlock()
	return e("trt:SetVideoEncoderConfigurationResponse"), nil
}
