package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
	"github.com/ipcamd/ipcamd/rtsp/push"
	"go.yaml.in/yaml/v3"
)

// Config is every setting of ipcamd. It is loaded from YAML; command-line
// flags override it. The zero value is not valid; start from
// [DefaultConfig].
type Config struct {
	// Source is what to stream: testsrc[:WxH@FPS], file:PATH or
	// v4l2:/dev/videoN[:WxH@FPS].
	Source string `yaml:"source"`
	// LogLevel is debug, info, warn or error.
	LogLevel string     `yaml:"log_level"`
	RTSP     RTSPConfig `yaml:"rtsp"`
	HTTP     HTTPConfig `yaml:"http"`
	// Encoder configures the software H.264 encoder, used by testsrc.
	Encoder EncoderConfig `yaml:"encoder"`
	// Buffer is the size in bytes of the ring between the source and the
	// streams.
	Buffer int `yaml:"buffer"`
	// StateDir keeps what ipcamd makes for itself, such as its
	// self-signed TLS certificate.
	StateDir string `yaml:"state_dir"`
	// Users may watch (role viewer) or also administer (role admin) the
	// camera. Each has a hash made by `ipcamd passwd NAME`. With no users
	// the streams are open to anyone.
	Users []UserConfig `yaml:"users"`
	// Auth tunes authentication.
	Auth AuthConfig `yaml:"auth"`
	// Board describes the camera board's GPIO: IR-cut filter, lights,
	// LEDs, reset button and light sensor.
	Board BoardConfig `yaml:"board"`
	// Watchdog makes the board reset when the pipeline stalls.
	Watchdog WatchdogConfig `yaml:"watchdog"`
	// Time configures the clock.
	Time TimeConfig `yaml:"time"`
	// Metrics configures /metrics.
	Metrics MetricsConfig `yaml:"metrics"`
	// Push lists RTSP relays a stream is published to with ANNOUNCE
	// and RECORD (package rtsp/push).
	Push []PushConfig `yaml:"push"`

	// path is the file the config was loaded from, if any: a factory
	// reset puts BoardConfig.FactoryConfig there.
	path string
}

// TimeConfig configures how the camera keeps its clock.
type TimeConfig struct {
	// NTPD is an NTP daemon taking BusyBox ntpd's flags (-n, -p PEER),
	// which ipcamd runs for the NTP servers chosen on the web page; empty
	// (the default) only saves them in state_dir/ntp.servers. The
	// firmware sets /usr/sbin/ntpd.
	NTPD string `yaml:"ntpd"`
}

// MetricsConfig configures the Prometheus metrics at /metrics.
type MetricsConfig struct {
	// Auth makes /metrics need a user (any role), by Digest, or by Basic
	// where Basic is allowed (TLS, or auth.allow_basic_without_tls).
	Auth bool `yaml:"auth"`
}

// PushConfig is one relay to publish a stream to.
type PushConfig struct {
	// URL is the relay's rtsp:// or rtsps:// URL; its userinfo, if any,
	// answers the relay's Basic or Digest challenge. An rtsps relay's
	// certificate must verify against the system's roots, or match
	// TLSFingerprint.
	URL string `yaml:"url"`
	// TLSFingerprint pins an rtsps relay's certificate: its SHA-256 in
	// hex, colons allowed (`openssl x509 -noout -fingerprint -sha256`).
	TLSFingerprint string `yaml:"tls_fingerprint"`
	// Stream is the stream published: main (the default) or sub.
	Stream string `yaml:"stream"`
	// Transport carries the media: tcp (interleaved on the RTSP
	// connection, the default) or udp.
	Transport string `yaml:"transport"`
	// ViewURL is where viewers find the stream on the relay: a DESCRIBE
	// beyond rtsp.max_sessions is answered 302 with it, and players get a
	// REDIRECT to it when ipcamd shuts down, while the relay is being
	// published to. Default: URL without its userinfo.
	ViewURL string `yaml:"view_url"`
}

// redacted returns URL with its password masked, for logs.
func (p PushConfig) redacted() string {
	u, err := url.Parse(p.URL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// sub reports whether the sub stream is published.
func (p PushConfig) sub() bool { return p.Stream == "sub" }

// viewURL returns ViewURL, or URL without its userinfo.
func (p PushConfig) viewURL() string {
	if p.ViewURL != "" {
		return p.ViewURL
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}

// BoardConfig selects the board profile.
type BoardConfig struct {
	// Profile is a built-in profile (none, rpi-generic, qemu-virt) or
	// the path of a YAML profile; none touches no GPIO.
	Profile string `yaml:"profile"`
	// FactoryConfig is the configuration a factory reset (the reset
	// button held for 10 s) copies over the config file; empty leaves
	// the file alone. Either way the reset empties state_dir.
	FactoryConfig string `yaml:"factory_config"`
}

// UserConfig is one user: name, role and hash, and the password sealed
// for ONVIF WS-Security, all as `ipcamd passwd` prints them.
type UserConfig struct {
	auth.User `yaml:",inline"`
	// WSSE is the password sealed with the state directory's key; ONVIF
	// clients that sign with a WS-Security PasswordDigest need it.
	WSSE string `yaml:"wsse"`
}

// AuthConfig tunes authentication.
type AuthConfig struct {
	// GenerateAdmin makes the user "admin" with a random password at
	// first start when the config has no users, prints the password on
	// standard output and keeps it in state_dir (the firmware's setting:
	// nothing ships with a default password).
	GenerateAdmin bool `yaml:"generate_admin"`
	// AllowBasicWithoutTLS offers Basic authentication on plain
	// connections too, where it sends the password in the clear.
	AllowBasicWithoutTLS bool `yaml:"allow_basic_without_tls"`
}

// RTSPConfig configures the RTSP server.
type RTSPConfig struct {
	// Listen is the TCP address of the RTSP server.
	Listen string `yaml:"listen"`
	// Path is the URL path of the main stream.
	Path string `yaml:"path"`
	// SubPath is the URL path of the sub stream, where the source has one.
	SubPath string `yaml:"sub_path"`
	// RTPPort is the UDP port for RTP (RTCP uses the next one); 0 picks
	// a free pair.
	RTPPort int `yaml:"rtp_port"`
	// SessionTimeout is the RTSP session timeout.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// MaxPayload is the largest RTP payload in bytes.
	MaxPayload int `yaml:"max_payload"`
	// ClientBacklog is the most bytes of packets queued for one client.
	ClientBacklog int `yaml:"client_backlog"`
	// MaxSessions bounds concurrent sessions.
	MaxSessions int `yaml:"max_sessions"`
	// MaxConns bounds open RTSP connections, and MaxConnsPerAddr those
	// from one client address, and also the sessions set up from it.
	MaxConns        int `yaml:"max_conns"`
	MaxConnsPerAddr int `yaml:"max_conns_per_addr"`
	// TLSListen is the TCP address of RTSP over TLS (rtsps://); empty
	// turns it off.
	TLSListen string `yaml:"tls_listen"`
	// TLSCert and TLSKey are PEM files; empty means a self-signed
	// certificate kept in the state directory.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Multicast configures RFC 2326 multicast delivery (IPv4): one group
	// and port pair per stream, one sender however many clients play.
	Multicast struct {
		// Enabled lets clients SETUP with RTP/AVP;multicast; off, they
		// get 461 Unsupported Transport.
		Enabled bool `yaml:"enabled"`
		// Prefix is the range groups come from, e.g. 239.255.42.0/24;
		// empty means 239.0.0.0/8. Each stream gets the first free
		// address after the prefix's first.
		Prefix netip.Prefix `yaml:"prefix"`
		// Port is the RTP port of every group (RTCP uses the next); 0
		// means 5000.
		Port int `yaml:"port"`
		// TTL is the packets' time to live, advertised as ttl= in the
		// SETUP reply; 0 means 16.
		TTL int `yaml:"ttl"`
		// Interface names the network interface multicast goes out of;
		// empty leaves the choice to the routing table (the default
		// route).
		Interface string `yaml:"interface"`
	} `yaml:"multicast"`
	// RateAdaptation lets the RTCP receiver reports of unicast UDP
	// clients steer each stream's encoder bitrate, between MinBitrate and
	// the configured encoder bitrate (encoder.bitrate, encoder.sub_bitrate):
	// back off fast on loss, probe up slowly (see rtsp.RateController).
	// Sources that do not encode (file, passthrough) ignore it.
	RateAdaptation struct {
		Enabled bool `yaml:"enabled"`
		// MinBitrate is the floor in bits per second; default 200000.
		MinBitrate int `yaml:"min_bitrate"`
	} `yaml:"rate_adaptation"`
}

// EncoderConfig configures the software H.264 encoder.
type EncoderConfig struct {
	// Kind forces the main stream's pipeline: auto (the default) uses
	// the camera's own H.264 if it has one, else a hardware encoder if
	// the board has one, else the software encoder; hardware, software
	// and passthrough insist on one (see docs/BOARDS.md).
	Kind string `yaml:"kind"`
	// Device is the hardware encoder's node; empty finds it.
	Device string `yaml:"device"`
	// QP fixes the quantiser (1..51); 0 lets rate control aim at Bitrate.
	QP int `yaml:"qp"`
	// Bitrate is the target in bits per second.
	Bitrate int `yaml:"bitrate"`
	// IDRInterval is the time between IDR frames.
	IDRInterval time.Duration `yaml:"idr_interval"`
	// Slices per picture, encoded in parallel.
	Slices int `yaml:"slices"`
	// SubWidth and SubHeight size the sub stream, scaled from the same
	// capture; 0 turns the sub stream off.
	SubWidth  int `yaml:"sub_width"`
	SubHeight int `yaml:"sub_height"`
	// SubBitrate is the sub stream's target in bits per second.
	SubBitrate int `yaml:"sub_bitrate"`
}

// HTTPConfig configures the HTTP server.
type HTTPConfig struct {
	// Listen is the TCP address of the HTTP server.
	Listen string `yaml:"listen"`
	// TLSListen is the TCP address of the same server over TLS (the web
	// page, its API, ONVIF and metrics on https://), with the certificate
	// of rtsps://; empty turns it off.
	TLSListen string `yaml:"tls_listen"`
}

// DefaultConfig returns the configuration used when no file or flag says
// otherwise.
func DefaultConfig() Config {
	c := Config{
		Source:   "testsrc",
		LogLevel: "info",
		Buffer:   4 << 20,
		RTSP: RTSPConfig{
			Listen:          ":8554",
			Path:            "/main",
			SubPath:         "/sub",
			SessionTimeout:  60 * time.Second,
			MaxPayload:      1400,
			ClientBacklog:   4 << 20,
			MaxSessions:     200,
			MaxConns:        512,
			MaxConnsPerAddr: 32,
			TLSListen:       ":8322",
		},
		StateDir: defaultStateDir(),
		HTTP:     HTTPConfig{Listen: ":8080", TLSListen: ":8443"},
		Board:    BoardConfig{Profile: "none"},
		Watchdog: WatchdogConfig{Timeout: 15 * time.Second},
		Encoder: EncoderConfig{Kind: "auto", Bitrate: 1000000, IDRInterval: 2 * time.Second, Slices: 1,
			SubWidth: 640, SubHeight: 360, SubBitrate: 500000},
	}
	c.RTSP.Multicast.Enabled = true
	c.RTSP.RateAdaptation.MinBitrate = 200000
	return c
}

// LoadConfig reads a YAML file over the defaults. An unknown key or a value
// of the wrong type is an error that names it.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := decodeConfig(b, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	c.path = path
	return c, nil
}

// parseConfig decodes YAML over the defaults and validates the result.
func parseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	if err := decodeConfig(b, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func decodeConfig(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			keys := keyLines(b)
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = m
				var line int
				if _, err := fmt.Sscanf(m, "line %d:", &line); err == nil && keys[line] != "" {
					msgs[i] = keys[line] + ": " + m
				}
			}
			return errors.New(strings.Join(msgs, "; "))
		}
		return err
	}
	return nil
}

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	if _, err := ParseSource(c.Source); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if err := checkAddr(c.RTSP.Listen); err != nil {
		return fmt.Errorf("rtsp.listen: %w", err)
	}
	if c.HTTP.TLSListen != "" {
		if err := checkAddr(c.HTTP.TLSListen); err != nil {
			return fmt.Errorf("http.tls_listen: %w", err)
		}
	}
	if c.RTSP.TLSListen != "" {
		if err := checkAddr(c.RTSP.TLSListen); err != nil {
			return fmt.Errorf("rtsp.tls_listen: %w", err)
		}
	}
	if (c.RTSP.TLSCert == "") != (c.RTSP.TLSKey == "") {
		return errors.New("rtsp.tls_cert and rtsp.tls_key: give both or neither")
	}
	if _, err := auth.New(c.authConfig()); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if c.StateDir == "" {
		return errors.New("state_dir: must not be empty")
	}
	if c.Watchdog.Device != "" && (c.Watchdog.Timeout < 2*time.Second || c.Watchdog.Timeout > 5*time.Minute) {
		return fmt.Errorf("watchdog.timeout: %v is not between 2s and 5m", c.Watchdog.Timeout)
	}
	for i, p := range c.Push {
		tls := strings.HasPrefix(p.URL, "rtsps://")
		if !tls && !strings.HasPrefix(p.URL, "rtsp://") {
			return fmt.Errorf("push[%d].url: %q is not an rtsp:// or rtsps:// URL", i, p.URL)
		}
		switch p.Transport {
		case "", "tcp":
		case "udp":
			if tls {
				return fmt.Errorf("push[%d].transport: udp would send the media in clear beside an rtsps:// connection; use tcp", i)
			}
		default:
			return fmt.Errorf("push[%d].transport: %q is neither tcp nor udp", i, p.Transport)
		}
		if p.TLSFingerprint != "" {
			if !tls {
				return fmt.Errorf("push[%d].tls_fingerprint: needs an rtsps:// url", i)
			}
			if _, err := push.ParseFingerprint(p.TLSFingerprint); err != nil {
				return fmt.Errorf("push[%d].tls_fingerprint: %w", i, err)
			}
		}
		switch p.Stream {
		case "", "main", "sub":
		default:
			return fmt.Errorf("push[%d].stream: %q is neither main nor sub", i, p.Stream)
		}
		if p.ViewURL != "" {
			if u, err := url.Parse(p.ViewURL); err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
				return fmt.Errorf("push[%d].view_url: %q is not an rtsp:// or rtsps:// URL", i, p.ViewURL)
			}
		}
	}
	if c.Board.Profile == "" {
		return errors.New("board.profile: must not be empty (none touches no GPIO)")
	}
	switch c.Encoder.Kind {
	case "auto", "hardware", "software", "passthrough":
	default:
		return fmt.Errorf("encoder.kind: %q is not one of auto, hardware, software, passthrough", c.Encoder.Kind)
	}
	if d := c.Encoder.Device; d != "" && !strings.HasPrefix(d, "/dev/") {
		return fmt.Errorf("encoder.device: %q is not a device path such as /dev/video11", d)
	}
	if err := checkAddr(c.HTTP.Listen); err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if !validPath(c.RTSP.Path) {
		return fmt.Errorf("rtsp.path: %q must look like /main", c.RTSP.Path)
	}
	if !validPath(c.RTSP.SubPath) || c.RTSP.SubPath == c.RTSP.Path {
		return fmt.Errorf("rtsp.sub_path: %q must look like /sub and differ from rtsp.path", c.RTSP.SubPath)
	}
	if w, h := c.Encoder.SubWidth, c.Encoder.SubHeight; (w == 0) != (h == 0) || w < 0 || h < 0 || w%2 != 0 || h%2 != 0 || (w > 0 && (w < 16 || h < 16)) {
		return fmt.Errorf("encoder.sub_width, encoder.sub_height: %dx%d must be even and at least 16x16, or both 0", w, h)
	}
	if b := c.Encoder.SubBitrate; b < 50000 || b > 100000000 {
		return fmt.Errorf("encoder.sub_bitrate: %d must be between 50000 and 100000000", b)
	}
	if p := c.RTSP.RTPPort; p < 0 || p > 65534 || p%2 != 0 {
		return fmt.Errorf("rtsp.rtp_port: %d must be 0 or an even port below 65535", p)
	}
	if t := c.RTSP.SessionTimeout; t < time.Second || t > time.Hour {
		return fmt.Errorf("rtsp.session_timeout: %v must be between 1s and 1h", t)
	}
	if p := c.RTSP.MaxPayload; p < 100 || p > 65000 {
		return fmt.Errorf("rtsp.max_payload: %d must be between 100 and 65000", p)
	}
	if b := c.RTSP.ClientBacklog; b < 64<<10 {
		return fmt.Errorf("rtsp.client_backlog: %d must be at least 65536", b)
	}
	if n := c.RTSP.MaxSessions; n < 1 {
		return fmt.Errorf("rtsp.max_sessions: %d must be at least 1", n)
	}
	if n := c.RTSP.MaxConns; n < 1 {
		return fmt.Errorf("rtsp.max_conns: %d must be at least 1", n)
	}
	if n := c.RTSP.MaxConnsPerAddr; n < 1 || n > c.RTSP.MaxConns {
		return fmt.Errorf("rtsp.max_conns_per_addr: %d must be between 1 and rtsp.max_conns", n)
	}
	if p := c.RTSP.Multicast.Prefix; p.IsValid() && (!p.Addr().Is4() || !p.Addr().IsMulticast() || p.Bits() < 4) {
		return fmt.Errorf("rtsp.multicast.prefix: %v is not an IPv4 multicast range within 224.0.0.0/4", p)
	}
	if p := c.RTSP.Multicast.Port; p < 0 || p > 65534 || p%2 != 0 {
		return fmt.Errorf("rtsp.multicast.port: %d must be 0 (5000) or an even port below 65535", p)
	}
	if p := cmp.Or(c.RTSP.Multicast.Port, 5000); c.RTSP.Multicast.Enabled && p == c.RTSP.RTPPort {
		return fmt.Errorf("rtsp.multicast.port: %d is also rtsp.rtp_port", p)
	}
	if t := c.RTSP.Multicast.TTL; t < 0 || t > 255 {
		return fmt.Errorf("rtsp.multicast.ttl: %d must be 0 (16) or 1..255", t)
	}
	if n := c.RTSP.Multicast.Interface; len(n) > 15 || strings.ContainsAny(n, " \t/") {
		return fmt.Errorf("rtsp.multicast.interface: %q is not an interface name", n)
	}
	if b := c.RTSP.RateAdaptation.MinBitrate; c.RTSP.RateAdaptation.Enabled && (b < 50000 || b > c.Encoder.Bitrate) {
		return fmt.Errorf("rtsp.rate_adaptation.min_bitrate: %d must be between 50000 and encoder.bitrate (%d)", b, c.Encoder.Bitrate)
	}
	if q := c.Encoder.QP; q < 0 || q > 51 {
		return fmt.Errorf("encoder.qp: %d must be 0 (rate control) or 1..51", q)
	}
	if b := c.Encoder.Bitrate; b < 50000 || b > 100000000 {
		return fmt.Errorf("encoder.bitrate: %d must be between 50000 and 100000000", b)
	}
	if d := c.Encoder.IDRInterval; d < 100*time.Millisecond || d > time.Minute {
		return fmt.Errorf("encoder.idr_interval: %v must be between 100ms and 1m", d)
	}
	if n := c.Encoder.Slices; n < 1 || n > 64 {
		return fmt.Errorf("encoder.slices: %d must be between 1 and 64", n)
	}
	if b := c.Buffer; b < 256<<10 || b > 1<<30 {
		return fmt.Errorf("buffer: %d must be between 262144 and 1073741824", b)
	}
	return nil
}

func checkAddr(a string) error {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

// SourceSpec is a parsed -source value.
type SourceSpec struct {
	Kind   string // "testsrc", "file" or "v4l2"
	Path   string // file or device path
	Width  int    // 0 = the source's default
	Height int
	FPS    float64
}

var modeRE = regexp.MustCompile(`^(\d{2,5})x(\d{2,5})@(\d+(?:\.\d+)?)$`)

// ParseSource parses testsrc[:WxH@FPS], file:PATH and
// v4l2:/dev/videoN[:WxH@FPS].
func ParseSource(s string) (SourceSpec, error) {
	kind, rest, _ := strings.Cut(s, ":")
	var spec SourceSpec
	spec.Kind = kind
	parseMode := func(m string) error {
		if m == "" {
			return nil
		}
		g := modeRE.FindStringSubmatch(m)
		if g == nil {
			return fmt.Errorf("%q is not WIDTHxHEIGHT@FPS, e.g. 1280x720@30", m)
		}
		spec.Width, _ = strconv.Atoi(g[1])
		spec.Height, _ = strconv.Atoi(g[2])
		spec.FPS, _ = strconv.ParseFloat(g[3], 64)
		if spec.Width < 16 || spec.Height < 16 || spec.Width > 8192 || spec.Height > 8192 {
			return fmt.Errorf("size %dx%d out of range", spec.Width, spec.Height)
		}
		if spec.FPS <= 0 || spec.FPS > 240 {
			return fmt.Errorf("frame rate %v out of range", spec.FPS)
		}
		return nil
	}
	switch kind {
	case "testsrc":
		return spec, parseMode(rest)
	case "file":
		if rest == "" {
			return spec, errors.New("file: needs a path, as in file:clip.h264")
		}
		spec.Path = rest
		return spec, nil
	case "v4l2":
		dev, mode, _ := strings.Cut(rest, ":")
		if !strings.HasPrefix(dev, "/dev/") {
			return spec, fmt.Errorf("v4l2: %q is not a device path such as /dev/video0", dev)
		}
		spec.Path = dev
		return spec, parseMode(mode)
	}
	return spec, fmt.Errorf("%q: unknown source; use testsrc[:WxH@FPS], file:PATH or v4l2:/dev/videoN[:WxH@FPS]", s)
}

// keyLines maps each line of a YAML document that holds a value to the
// dotted key of that value, such as "rtsp.session_timeout", so that type
// errors, which yaml reports by line, can name the key.
func keyLines(b []byte) map[int]string {
	keys := make(map[int]string)
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil {
		return keys
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := k.Value
				if prefix != "" {
					key = prefix + "." + key
				}
				keys[v.Line] = key
				walk(v, key)
			}
		}
	}
	walk(&root, "")
	return keys
}

// defaultStateDir is /var/lib/ipcamd for root (the firmware), else a
// folder in the user's configuration directory.
func defaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/ipcamd"
	}
	if d, err := os.UserConfigDir(); err == nil {
		return d + "/ipcamd"
	}
	return ".ipcamd"
}

// validPath reports whether p is a stream path such as /main.
func validPath(p string) bool {
	return strings.HasPrefix(p, "/") && len(p) >= 2 && !strings.HasSuffix(p, "/") && !strings.ContainsAny(p, " ?#;")
}

// authConfig is the configuration of the RTSP authenticator.
func (c *Config) authConfig() auth.Config {
	users := make([]auth.User, len(c.Users))
	for i, u := range c.Users {
		users[i] = u.User
	}
	return auth.Config{Users: users, AllowBasicWithoutTLS: c.Auth.AllowBasicWithoutTLS}
}
