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

// onvifProfiles describes the streams of src as ONVIF media profiles: the
// main stream and, where the source has one, the sub stream.
func onvifProfiles(cfg Config, src *source) []onvif.Profile {
	spec, _ := ParseSource(cfg.Source)
	w, h, fps := spec.Width, spec.Height, spec.FPS
	if f, ok := src.videoSource.(fileSource); ok {
		w, h, fps = f.Info()
	} else if w == 0 {
		w, h, fps = 1280, 720, 30 // newTestsrc's default
	}
	if fps <= 0 {
		fps = 30
	}
	ifps := int(fps + 0.5)
	gop := int(cfg.Encoder.IDRInterval.Seconds()*fps + 0.5)
	mc := cfg.RTSP.Multicast
	group := func(i int) (netip.Addr, int, int) {
		if !mc.Enabled {
			return netip.Addr{}, 0, 0
		}
		p := mc.Prefix
		if !p.IsValid() {
			p = netip.MustParsePrefix("239.0.0.0/8")
		}
		// The RTSP server allocates groups on the first multicast SETUP,
		// in this order when nothing else holds one: a best guess.
		a := p.Masked().Addr().Next()
		for range i {
			a = a.Next()
		}
		return a, cmp0(mc.Port, 5000), cmp0(mc.TTL, 16)
	}
	ga, gp, gt := group(0)
	ps := []onvif.Profile{{
		Token: "main", Name: "Main stream", Width: w, Height: h, FPS: ifps,
		BitrateKbps: cfg.Encoder.Bitrate / 1000, GOP: gop, Path: cfg.RTSP.Path,
		MulticastAddress: ga, MulticastPort: gp, MulticastTTL: gt,
	}}
	if src.setSubOutput != nil {
		ga, gp, gt := group(1)
		ps = append(ps, onvif.Profile{
			Token: "sub", Name: "Sub stream", Width: cfg.Encoder.SubWidth, Height: cfg.Encoder.SubHeight, FPS: ifps,
			BitrateKbps: cfg.Encoder.SubBitrate / 1000, GOP: gop, Path: cfg.RTSP.SubPath,
			MulticastAddress: ga, MulticastPort: gp, MulticastTTL: gt,
		})
	}
	return ps
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
// UsernameTokens need plain-text passwords, which the config does not hold,
// so they are refused when users exist (clients then fall back to Digest,
// or fail: see the onvif package).
func onvifHandler(cfg Config, profiles []onvif.Profile, rtspAddr net.Addr, verifier *auth.Verifier, reboot func(), log *slog.Logger) http.Handler {
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
		Logger:          log,
	}
	if verifier != nil {
		admins := map[string]bool{}
		for _, u := range cfg.Users {
			admins[u.Name] = u.Role.Includes(auth.RoleAdmin)
		}
		opts.IsAdmin = func(user string) bool { return admins[user] }
		// WS-Security needs the passwords: unseal them once at start.
		passwords := map[string]string{}
		key, kerr := secretKey(cfg.StateDir, false)
		for _, u := range cfg.Users {
			if u.WSSE == "" {
				continue
			}
			if kerr != nil {
				log.Warn("ONVIF WS-Security is off for a user: no secret key", "user", u.Name, "err", kerr)
				continue
			}
			pw, err := unseal(key, u.Name, u.WSSE)
			if err != nil {
				log.Warn("ONVIF WS-Security is off for a user", "user", u.Name, "err", err)
				continue
			}
			passwords[u.Name] = pw
		}
		opts.PasswordLookup = func(user string) (string, bool) {
			pw, ok := passwords[user]
			return pw, ok
		}
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
