package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"

	"github.com/ipcamd/ipcamd/onvif"
	"github.com/ipcamd/ipcamd/rtsp/auth"
)

// Sizes offered to ONVIF clients for the main and the sub stream of a
// source that can change them; the sub stream must stay smaller.
var (
	mainResolutions = []onvif.Resolution{{Width: 1920, Height: 1080}, {Width: 1280, Height: 720}, {Width: 1024, Height: 576}, {Width: 640, Height: 360}}
	subResolutions  = []onvif.Resolution{{Width: 640, Height: 360}, {Width: 480, Height: 270}, {Width: 320, Height: 180}}
)

// onvifProfiles describes the streams of src as ONVIF media profiles: the
// main stream and, where the source has one, the sub stream, with their
// multicast groups as srv will use them.
func onvifProfiles(cfg Config, src *source, mcast func(path string) (netip.AddrPort, error)) []onvif.Profile {
	main, sub := src.settings()
	profile := func(token, name, path string, s streamSettings, sizes []onvif.Resolution, maxFPS, maxKbps int) onvif.Profile {
		p := onvif.Profile{Token: token, Name: name, Width: s.Width, Height: s.Height,
			FPS: max(1, int(s.FPS+0.5)), BitrateKbps: s.Bitrate / 1000, GOP: s.GOP, Path: path}
		if g, err := mcast(path); err == nil {
			p.MulticastAddress, p.MulticastPort, p.MulticastTTL = g.Addr(), int(g.Port()), cmp0(cfg.RTSP.Multicast.TTL, 16)
		}
		if src.reconfigure != nil {
			p.Resolutions, p.MaxFPS, p.MaxGOP, p.MaxBitrateKbps = sizes, maxFPS, 300, maxKbps
		}
		return p
	}
	ps := []onvif.Profile{profile("main", "Main stream", cfg.RTSP.Path, main, src.resolutions, src.maxFPS, 16000)}
	if sub.Width > 0 {
		ps = append(ps, profile("sub", "Sub stream", cfg.RTSP.SubPath, sub, subResolutions, src.maxFPS, 4000))
	}
	return ps
}

// setVideoEncoder applies the encoder settings of ONVIF profile p to src
// and saves them in the state directory.
func setVideoEncoder(cfg Config, src *source, log *slog.Logger) func(p onvif.Profile) error {
	if src.reconfigure == nil {
		return nil
	}
	return func(p onvif.Profile) error {
		main, sub := src.settings()
		s := &main
		if p.Token == "sub" {
			s = &sub
		}
		s.Width, s.Height, s.FPS, s.Bitrate, s.GOP = p.Width, p.Height, float64(p.FPS), p.BitrateKbps*1000, p.GOP
		return applyEncoder(cfg, src, main, sub, log)
	}
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// onvifHandler returns the ONVIF device and media services, or nil (after
// logging why) if they cannot be set up. verifier nil means no users: the
// services are open. HTTP Digest is checked by verifier; WS-Security
// UsernameTokens need the passwords, which acc unseals from the users'
// wsse entries (users without one are refused WS-Security and fall back
// to Digest, or fail: see the onvif package).
func onvifHandler(cfg Config, src *source, profiles []onvif.Profile, rtspAddr net.Addr, verifier *auth.Verifier, acc *accounts, imaging onvif.Imaging, reboot func(), log *slog.Logger) *onvif.Server {
	port := 0
	if ta, ok := rtspAddr.(*net.TCPAddr); ok {
		port = ta.Port
	}
	opts := onvif.Options{
		Manufacturer:    "ipcamd",
		Model:           "ipcamd",
		FirmwareVersion: versionString(),
		SerialNumber:    serialNumber(),
		HardwareID:      "ipcamd-" + runtime.GOARCH,
		Profiles:        profiles,
		RTSPPort:        port,
		Reboot:          reboot,
		SetVideoEncoder: setVideoEncoder(cfg, src, log),
		Imaging:         imaging,
		Logger:          log,
	}
	if verifier != nil {
		// Users may change on the web page: ask acc every time.
		opts.IsAdmin = acc.isAdmin
		opts.PasswordLookup = acc.password
		opts.Authenticate = func(r *http.Request) (string, bool, []string) {
			remote := netip.Addr{}
			if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
				remote = ap.Addr().Unmap()
			}
			u, err := verifier.Check("POST", r.URL.RequestURI(), r.Header.Get("Authorization"), remote, r.TLS != nil)
			if err == nil {
				if u == nil {
					return "", true, nil
				}
				return u.Name, true, nil
			}
			var ch *auth.Challenge
			if errors.As(err, &ch) {
				return "", false, ch.WWWAuthenticate
			}
			return "", false, nil
		}
	}
	s, err := onvif.New(opts)
	if err != nil {
		log.Error("ONVIF disabled", "err", err)
		return nil
	}
	return s
}

// serialNumber is the MAC address of the first interface that has one,
// without colons: stable across reboots.
func serialNumber() string {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if len(i.HardwareAddr) == 6 && i.Flags&net.FlagLoopback == 0 {
			s := i.HardwareAddr.String()
			out := make([]byte, 0, 12)
			for j := 0; j < len(s); j++ {
				if s[j] != ':' {
					out = append(out, s[j])
				}
			}
			return string(out)
		}
	}
	return "0"
}
