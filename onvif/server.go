package onvif

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxBody is the largest request body the server reads.
const MaxBody = 64 << 10

// maxParallelParses bounds the SOAP envelopes parsed at once. Parsing
// happens before authentication (WS-Security is inside the envelope), and
// a body of MaxBody can cost the XML decoder megabytes: unbounded, enough
// clients would exhaust a camera's memory.
const maxParallelParses = 4

// Service paths.
const (
	DevicePath  = "/onvif/device_service"
	MediaPath   = "/onvif/media_service"
	ImagingPath = "/onvif/imaging_service"
	EventsPath  = "/onvif/events_service"
)

// Profile is one media profile: one stream of the camera.
type Profile struct {
	// Token identifies the profile (e.g. "main"); Name is shown to users.
	Token, Name string
	// Width and Height are the picture size, FPS the frame rate.
	Width, Height, FPS int
	// BitrateKbps is the target bit rate in kbit/s.
	BitrateKbps int
	// GOP is the distance between IDR frames, in frames.
	GOP int
	// Path is the RTSP path of the stream, such as /main.
	Path string
	// MulticastAddress, MulticastPort and MulticastTTL describe the
	// stream's multicast group; an invalid address reports 0.0.0.0 (none).
	MulticastAddress netip.Addr
	MulticastPort    int
	MulticastTTL     int

	// The limits of SetVideoEncoderConfiguration, which
	// GetVideoEncoderConfigurationOptions reports. Resolutions lists
	// the sizes a client may choose; empty means Width x Height only.
	// MaxFPS, MaxGOP and MaxBitrateKbps are the highest values accepted
	// (0 means the current one); MinBitrateKbps is the lowest (0 means
	// 64).
	Resolutions    []Resolution
	MaxFPS, MaxGOP int
	MinBitrateKbps int
	MaxBitrateKbps int
}

// Resolution is a picture size in pixels.
type Resolution struct{ Width, Height int }

// Options configures a Server.
type Options struct {
	// Device information. Empty fields get "ipcamd"-based defaults.
	Manufacturer, Model, FirmwareVersion, SerialNumber, HardwareID string
	// Hostname is reported by GetHostname; empty means os.Hostname.
	Hostname string
	// Scopes are the device's scope URIs (fixed); empty gets defaults.
	Scopes []string
	// Profiles are the media profiles, the first being the main stream.
	// There must be at least one; all share one video source, the size
	// of the first.
	Profiles []Profile
	// RTSPPort is the port of the RTSP server, used in stream URIs.
	RTSPPort int
	// SnapshotPath is the HTTP path of the JPEG snapshot on this server's
	// HTTP port; empty means /snapshot.jpg.
	SnapshotPath string

	// Authentication. With both PasswordLookup and Authenticate nil,
	// every operation is open to anyone.
	//
	// PasswordLookup returns the plain-text password of user, to verify
	// WS-Security UsernameTokens (PasswordDigest needs the password
	// itself, not a hash of it). Nil rejects every UsernameToken.
	PasswordLookup func(user string) (password string, ok bool)
	// Authenticate verifies the HTTP credentials (Digest) of r. It
	// returns the user name when they are valid; otherwise the values of
	// the WWW-Authenticate headers to send with a 401. Nil accepts no
	// HTTP credentials.
	Authenticate func(r *http.Request) (user string, ok bool, challenge []string)
	// IsAdmin reports whether an authenticated user may change the
	// device (SetSystemDateAndTime, SystemReboot). Nil allows every
	// authenticated user.
	IsAdmin func(user string) bool
	// WSSecurityStatus is the HTTP status of a fault for an invalid
	// UsernameToken: 0 means 400 (ONVIF Core); some clients want 401.
	WSSecurityStatus int

	// Reboot is called, in its own goroutine, after SystemReboot has
	// been answered. Nil makes SystemReboot fail.
	Reboot func()
	// SetTime is called by SetSystemDateAndTime with a Manual UTC time.
	// Nil accepts the request and leaves the clock alone (the device
	// reports DateTimeType NTP, so clients do not expect to set it).
	SetTime func(time.Time) error
	// SetVideoEncoder applies p, a profile whose encoder settings
	// (Width, Height, FPS, BitrateKbps, GOP) a client changed with
	// SetVideoEncoderConfiguration, within the profile's limits. It
	// should make the change live and keep it across restarts; an
	// error refuses the change (ter:ConfigModify) and the profile keeps
	// its settings. Nil refuses every change.
	SetVideoEncoder func(p Profile) error
	// Imaging drives the IR cut filter (imaging service); nil keeps the
	// mode in memory, starting at AUTO.
	Imaging Imaging

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Interfaces lists the network interfaces; nil means net.Interfaces.
	Interfaces func() ([]net.Interface, error)
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Server is an http.Handler serving the ONVIF device, media, imaging and
// events services under their /onvif/ paths.
type Server struct {
	opts   Options
	log    *slog.Logger
	parses chan struct{} // a slot per envelope being parsed
	ops    map[xml.Name]operation
	img    *imagingService
	ev     *eventService

	mu     sync.Mutex
	nonces map[string]time.Time

	// pmu guards the profiles' encoder settings, which
	// SetVideoEncoderConfiguration changes; setMu serialises those
	// changes.
	pmu      sync.RWMutex
	profiles []Profile
	setMu    sync.Mutex

	// rmu guards requests, the number of requests by service,
	// operation and result.
	rmu      sync.Mutex
	requests map[RequestCount]uint64
}

// access classes of operations.
const (
	preAuth = iota // open to anyone
	read           // any authenticated user
	write          // an admin
)

type operation struct {
	access int
	fn     func(c *call) (*el, error)
}

// call is one request being served.
type call struct {
	r     *http.Request
	env   *envelope
	op    *node
	local netip.Addr // the address the request came to
	port  int        // its port
	host  string     // local address as a URL host, without port
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if len(opts.Profiles) == 0 {
		return nil, errors.New("onvif: no profiles")
	}
	seen := map[string]bool{}
	for _, p := range opts.Profiles {
		if p.Token == "" || seen[p.Token] {
			return nil, fmt.Errorf("onvif: empty or duplicate profile token %q", p.Token)
		}
		seen[p.Token] = true
		if p.Width <= 0 || p.Height <= 0 || p.FPS <= 0 || !strings.HasPrefix(p.Path, "/") {
			return nil, fmt.Errorf("onvif: profile %q: bad size, rate or path", p.Token)
		}
	}
	if opts.RTSPPort <= 0 {
		return nil, errors.New("onvif: no RTSP port")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.Manufacturer, "ipcamd")
	def(&opts.Model, "ipcamd")
	def(&opts.FirmwareVersion, "devel")
	def(&opts.SerialNumber, "0")
	def(&opts.HardwareID, "ipcamd")
	def(&opts.SnapshotPath, "/snapshot.jpg")
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interfaces == nil {
		opts.Interfaces = net.Interfaces
	}
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{
			"onvif://www.onvif.org/Profile/Streaming",
			"onvif://www.onvif.org/type/video_encoder",
			"onvif://www.onvif.org/name/" + strings.ReplaceAll(opts.Model, " ", "%20"),
			"onvif://www.onvif.org/hardware/" + strings.ReplaceAll(opts.HardwareID, " ", "%20"),
		}
	}
	s := &Server{opts: opts, log: opts.Logger, nonces: map[string]time.Time{}, requests: map[RequestCount]uint64{},
		parses: make(chan struct{}, maxParallelParses)}
	s.profiles = append([]Profile(nil), opts.Profiles...)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ops = map[xml.Name]operation{}
	s.deviceOps()
	s.mediaOps()
	s.imagingOps()
	s.eventsOps()
	return s, nil
}

func (s *Server) open() bool {
	return s.opts.PasswordLookup == nil && s.opts.Authenticate == nil
}

var errAbandoned = errors.New("onvif: request abandoned while waiting to be parsed")

// parse parses body in one of the parse slots, waiting for one until ctx
// ends.
func (s *Server) parse(ctx context.Context, body []byte) (*envelope, error) {
	select {
	case s.parses <- struct{}{}:
	case <-ctx.Done():
		return nil, errAbandoned
	}
	defer func() { <-s.parses }()
	return parseEnvelope(body)
}

// ServeHTTP serves one SOAP request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case DevicePath, MediaPath, ImagingPath, EventsPath:
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "ONVIF services take SOAP requests by POST", http.StatusMethodNotAllowed)
		return
	}
	// Every SOAP request is counted once, by operation and result.
	rc := RequestCount{Service: serviceOf(r.URL.Path), Operation: "unknown", Result: "ok"}
	defer func() { s.countRequest(rc) }()
	fail := func(version int, f *Fault) {
		rc.Result = f.result()
		s.writeFault(w, version, f)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		fail(12, fault(http.StatusRequestEntityTooLarge, "Sender", "request too large or unreadable"))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 && s.opts.Authenticate != nil {
		// curl --digest (and other HTTP libraries) first POST an empty
		// body to get the challenge: answer that, not "malformed".
		if _, ok, challenge := s.opts.Authenticate(r); !ok {
			f := fault(http.StatusUnauthorized, "Sender", "sender not authorized", "NotAuthorized")
			for _, ch := range challenge {
				w.Header().Add("WWW-Authenticate", ch)
			}
			fail(12, f)
			return
		}
	}
	env, err := s.parse(r.Context(), body)
	if errors.Is(err, errAbandoned) {
		fail(12, fault(http.StatusServiceUnavailable, "Receiver", "request abandoned while waiting to be parsed"))
		return
	}
	if err != nil {
		if errors.Is(err, errVersion) {
			fail(12, fault(http.StatusInternalServerError, "VersionMismatch", "not a SOAP 1.1 or 1.2 envelope"))
			return
		}
		fail(12, fault(http.StatusBadRequest, "Sender", "malformed SOAP request", "WellFormed"))
		return
	}
	if _, ok := s.ops[env.Op.XMLName]; ok {
		// Only known names: a client's made-up ones would grow the
		// counters without bound.
		rc.Operation = env.Op.XMLName.Local
	}
	c := &call{r: r, env: env, op: &env.Op}
	c.setLocal()
	reply, err := s.serve(c)
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			s.log.Warn("onvif operation failed", "op", env.Op.XMLName.Local, "err", err)
			f = fault(http.StatusInternalServerError, "Receiver", "internal error")
		}
		for _, ch := range f.challenge {
			w.Header().Add("WWW-Authenticate", ch)
		}
		s.log.Debug("onvif fault", "op", env.Op.XMLName.Local, "fault", f)
		fail(env.Version, f)
		return
	}
	b, err := marshalEnvelope(env.Version, reply)
	if err != nil {
		fail(env.Version, fault(http.StatusInternalServerError, "Receiver", "internal error"))
		return
	}
	w.Header().Set("Content-Type", contentType(env.Version))
	w.Write(b)
}

func contentType(version int) string {
	if version == 11 {
		return "text/xml; charset=utf-8"
	}
	return "application/soap+xml; charset=utf-8"
}

func (s *Server) writeFault(w http.ResponseWriter, version int, f *Fault) {
	b, err := marshalEnvelope(version, f.element(version))
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType(version))
	w.WriteHeader(f.Status)
	w.Write(b)
}

// setLocal finds the address the request arrived at.
func (c *call) setLocal() {
	if la, ok := c.r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			c.local = ap.Addr().Unmap().WithZone("")
			c.port = int(ap.Port())
		}
	}
	if !c.local.IsValid() || c.local.IsUnspecified() {
		// No connection address (tests with a bare Request): use Host.
		host, port, err := net.SplitHostPort(c.r.Host)
		if err != nil {
			host, port = c.r.Host, "80"
		}
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			c.local = ip
		}
		fmt.Sscan(port, &c.port)
		if !c.local.IsValid() {
			c.host = host
			return
		}
	}
	c.host = c.local.String()
	if c.local.Is6() {
		c.host = "[" + c.host + "]"
	}
}

// url returns scheme://local-address:port+path.
func (c *call) url(scheme string, port int, path string) string {
	return fmt.Sprintf("%s://%s:%d%s", scheme, c.host, port, path)
}

// serve checks headers and credentials and runs the operation.
func (s *Server) serve(c *call) (*el, error) {
	var sec *node
	for i := range c.env.Headers {
		h := &c.env.Headers[i]
		if h.XMLName.Space == NSWSSE && h.XMLName.Local == "Security" {
			sec = h
			continue
		}
		if h.XMLName.Space == NSWSA {
			continue // WS-Addressing (wsa:To names a subscription)
		}
		if mu := mustUnderstand(h, c.env.Version); mu {
			return nil, fault(http.StatusInternalServerError, "MustUnderstand",
				fmt.Sprintf("header {%s}%s not understood", h.XMLName.Space, h.XMLName.Local))
		}
	}
	name := c.op.XMLName
	op, ok := s.ops[name]
	if !ok {
		if name.Space == NSMedia && (name.Local == "CreateProfile" || name.Local == "DeleteProfile") {
			// Synology probes with an unauthenticated CreateProfile and
			// reads NotAuthorized as a wrong password.
			return nil, fault(http.StatusBadRequest, "Receiver", "the maximum number of profiles is reached; profiles are fixed", "Action", "MaxNVTProfiles")
		}
		return nil, fault(http.StatusInternalServerError, "Receiver",
			fmt.Sprintf("operation {%s}%s not implemented", name.Space, name.Local), "ActionNotSupported")
	}
	if op.access != preAuth && !s.open() {
		user, err := s.authenticate(c, sec)
		if err != nil {
			return nil, err
		}
		if op.access == write && s.opts.IsAdmin != nil && !s.opts.IsAdmin(user) {
			return nil, fault(http.StatusForbidden, "Sender", "the user may not change the device", "NotAuthorized")
		}
	}
	return op.fn(c)
}

func mustUnderstand(h *node, version int) bool {
	ns := NSSOAP12
	if version == 11 {
		ns = NSSOAP11
	}
	for _, at := range h.Attrs {
		if at.Name.Space == ns && at.Name.Local == "mustUnderstand" {
			v := strings.TrimSpace(at.Value)
			return v == "1" || v == "true"
		}
	}
	return false
}

// authenticate accepts a valid UsernameToken or valid HTTP credentials.
func (s *Server) authenticate(c *call, sec *node) (string, error) {
	var wsErr error
	if sec != nil {
		user, err := s.checkUsernameToken(sec)
		if err == nil {
			return user, nil
		}
		wsErr = err
		s.log.Debug("onvif: UsernameToken refused", "err", err, "remote", c.r.RemoteAddr)
	}
	var challenge []string
	if s.opts.Authenticate != nil {
		// Called once per request, with or without credentials, so that
		// a failure is counted once and a fresh challenge comes back.
		user, ok, ch := s.opts.Authenticate(c.r)
		if ok && c.r.Header.Get("Authorization") != "" {
			return user, nil
		}
		challenge = ch
	}
	if wsErr != nil {
		st := s.opts.WSSecurityStatus
		if st == 0 {
			st = http.StatusBadRequest
		}
		return "", fault(st, "Sender", "the security token could not be authenticated or authorized", "NotAuthorized")
	}
	f := fault(http.StatusUnauthorized, "Sender", "sender not authorized: missing or wrong credentials", "NotAuthorized")
	f.challenge = challenge
	return "", f
}

// RequestCount is the number of SOAP requests the server has answered
// for one service, operation and result.
type RequestCount struct {
	// Service is "device", "media", "imaging" or "events", from the
	// request's path.
	Service string
	// Operation is the local name of the request's operation, such as
	// "GetProfiles", or "unknown" for a request that names none the
	// server implements or cannot be parsed.
	Operation string
	// Result is "ok" for a reply, or for a fault its innermost subcode
	// (such as "NotAuthorized", "ActionNotSupported", "InvalidArgVal") or,
	// without one, its code ("Sender", "Receiver", "MustUnderstand",
	// "VersionMismatch").
	Result string
	// Count is the number of requests; it is zero in map keys.
	Count uint64
}

// Requests returns the number of SOAP requests answered so far, by
// service, operation and result, sorted in that order. Requests that are
// not SOAP (a GET, an unknown path) are not counted.
func (s *Server) Requests() []RequestCount {
	s.rmu.Lock()
	out := make([]RequestCount, 0, len(s.requests))
	for k, n := range s.requests {
		k.Count = n
		out = append(out, k)
	}
	s.rmu.Unlock()
	slices.SortFunc(out, func(a, b RequestCount) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Result, b.Result))
	})
	return out
}

func (s *Server) countRequest(rc RequestCount) {
	s.rmu.Lock()
	s.requests[rc]++
	s.rmu.Unlock()
}

// serviceOf returns the name of the service at path.
func serviceOf(path string) string {
	switch path {
	case MediaPath:
		return "media"
	case ImagingPath:
		return "imaging"
	case EventsPath:
		return "events"
	}
	return "device"
}

// result names the fault for the request counters.
func (f *Fault) result() string {
	if n := len(f.Subcodes); n > 0 {
		return f.Subcodes[n-1]
	}
	return f.Code
}
