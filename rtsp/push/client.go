package push

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/ipcamd/ipcamd/ring"
)

// Defaults of [Options].
const (
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 30 * time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultQueueFrames  = 64
	DefaultQueueBytes   = 8 << 20
	// DefaultSessionTimeout is assumed when SETUP's Session header has
	// no timeout parameter (RFC 2326 §12.37).
	DefaultSessionTimeout = 60 * time.Second
	// SenderReportInterval is how often an RTCP sender report goes out.
	SenderReportInterval = 5 * time.Second
	// stableAfter is how long a session must publish for the backoff to
	// start again from MinBackoff after it fails.
	stableAfter = 10 * time.Second
)

// Options configure a [Client]. URL and Source are required.
type Options struct {
	// URL is the relay's rtsp:// or rtsps:// URL, such as
	// "rtsp://user:pass@relay.example:8554/cam1". The userinfo, if any,
	// answers the relay's 401 challenges; it is never sent otherwise and
	// never logged. The port defaults to 554, or 322 for rtsps (RFC 7826).
	// With rtsps the RTSP connection, and the interleaved media in it, is
	// TLS; the relay's certificate must verify against the system's roots
	// for the URL's host, or match TLSFingerprint.
	URL string
	// TLSFingerprint pins an rtsps relay's certificate instead: the
	// SHA-256 of the leaf certificate (DER), in hex, with or without
	// colons, as `openssl x509 -noout -fingerprint -sha256` prints it.
	// For relays with self-signed certificates.
	TLSFingerprint string
	// Source is the ring the camera's encoder writes access units to.
	Source *ring.Ring
	// MaxPayload is the largest RTP payload in bytes; default 1400.
	MaxPayload int
	// UDP sends the media over UDP (RTP/AVP;unicast;client_port=…) from
	// an even/odd local port pair to the ports the relay answers with,
	// instead of interleaved on the RTSP connection (the default). UDP
	// suits a LAN relay; over lossy or NATed links TCP is safer. It is
	// refused with rtsps, whose media would then travel in clear.
	UDP bool
	// QueueFrames and QueueBytes bound the frames waiting to be written
	// to the relay; defaults DefaultQueueFrames and DefaultQueueBytes.
	// When either is reached, frames are dropped up to the next IDR.
	QueueFrames int
	QueueBytes  int
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// a failure, doubling from one to the other; defaults 1 s and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds connecting and waiting for each answer; default 10 s.
	Timeout time.Duration
	// WriteTimeout bounds each write to the relay; default 10 s.
	WriteTimeout time.Duration
	// UserAgent is sent with every request; default "ipcamd".
	UserAgent string
	// Dial opens the TCP connection (TLS, for rtsps, is added on top);
	// default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger receives the client's log; default slog.Default().
	Logger *slog.Logger
}

// State is what a [Client] is doing.
type State int

// States of a Client.
const (
	StateIdle       State = iota // Run not called yet
	StateConnecting              // connecting or negotiating with the relay
	StatePublishing              // RECORD accepted, sending media
	StateBackoff                 // waiting before reconnecting
	StateStopped                 // Run returned
)

var stateNames = [...]string{"idle", "connecting", "publishing", "backoff", "stopped"}

// String returns "idle", "connecting", "publishing", "backoff" or "stopped".
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler, for JSON status pages.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Status is a snapshot of a Client's state and counters.
type Status struct {
	// URL is the relay URL without its password.
	URL string `json:"url"`
	// State is the current state, and Since when it was entered.
	State State     `json:"state"`
	Since time.Time `json:"since"`
	// LastError describes the last failure, and LastErrorAt its time;
	// empty before the first failure.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// FramesSent and BytesSent count the access units and the RTP bytes
	// (interleaved headers excluded) written to relays.
	FramesSent uint64 `json:"frames_sent"`
	BytesSent  uint64 `json:"bytes_sent"`
	// FramesDropped counts access units dropped because the queue to
	// the relay was full, and the frames skipped up to the next IDR.
	FramesDropped uint64 `json:"frames_dropped"`
	// Reconnects counts the sessions started after a failure.
	Reconnects uint64 `json:"reconnects"`
}

// Client publishes one stream to one relay. Create it with [New], run it
// with [Client.Run] and read its state with [Client.Status], which is safe
// to call from any goroutine.
type Client struct {
	opts     Options
	u        *url.URL // without userinfo
	redacted string
	host     string      // host:port to dial
	tls      *tls.Config // nil for rtsp://
	log      *slog.Logger

	// sps and pps are the parameter sets seen last; only the goroutine
	// running Run touches them.
	sps, pps []byte
	creds    credentials

	mu     sync.Mutex
	status Status
}

// New validates opts and returns a client. It does not connect.
func New(opts Options) (*Client, error) {
	if opts.Source == nil {
		return nil, errors.New("push: Options.Source is nil")
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("push: bad relay URL: %w", err)
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return nil, fmt.Errorf("push: relay URL %q: scheme must be rtsp or rtsps", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("push: relay URL %q has no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		// Allowed by RTSP, but the control URL is appended to the path.
		return nil, fmt.Errorf("push: relay URL %q: query and fragment are not supported", u.Redacted())
	}
	c := &Client{opts: opts, redacted: u.Redacted()}
	user, pass, hasCreds := "", "", u.User != nil
	if hasCreds {
		user = u.User.Username()
		pass, _ = u.User.Password()
		if err := checkCredentials(user, pass); err != nil {
			return nil, err
		}
	}
	c.opts.URL = ""
	cu := *u
	cu.User = nil
	c.u = &cu
	c.host = u.Host
	if u.Port() == "" {
		port := "554"
		if u.Scheme == "rtsps" {
			port = "322"
		}
		c.host = net.JoinHostPort(u.Hostname(), port)
	}
	switch {
	case u.Scheme == "rtsps" && opts.UDP:
		return nil, fmt.Errorf("push: relay URL %q: UDP would send the media in clear beside the TLS connection; use TCP", u.Redacted())
	case u.Scheme == "rtsps":
		if c.tls, err = tlsConfig(u.Hostname(), opts.TLSFingerprint); err != nil {
			return nil, fmt.Errorf("push: relay URL %q: %w", u.Redacted(), err)
		}
	case opts.TLSFingerprint != "":
		return nil, fmt.Errorf("push: relay URL %q: a TLS fingerprint needs an rtsps:// URL", u.Redacted())
	}
	c.log = opts.Logger
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("relay", c.redacted)
	o := &c.opts
	setDefault(&o.MinBackoff, DefaultMinBackoff)
	setDefault(&o.MaxBackoff, DefaultMaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	setDefault(&o.Timeout, DefaultTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.QueueFrames, DefaultQueueFrames)
	setDefault(&o.QueueBytes, DefaultQueueBytes)
	if o.UserAgent == "" {
		o.UserAgent = "ipcamd"
	}
	if o.Dial == nil {
		d := &net.Dialer{KeepAlive: 15 * time.Second}
		o.Dial = d.DialContext
	}
	c.status = Status{URL: c.redacted, State: StateIdle, Since: time.Now()}
	c.creds = credentials{user: user, pass: pass, ok: hasCreds}
	return c, nil
}

// credentials are the URL's userinfo.
type credentials struct {
	user, pass string
	ok         bool
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

// URL returns the relay URL without its password.
func (c *Client) URL() string { return c.redacted }

// Status returns a snapshot of the client's state and counters.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *Client) setState(s State) {
	c.mu.Lock()
	if c.status.State != s {
		c.status.State, c.status.Since = s, time.Now()
	}
	c.mu.Unlock()
}

func (c *Client) setError(err error) {
	c.mu.Lock()
	c.status.LastError, c.status.LastErrorAt = err.Error(), time.Now()
	c.mu.Unlock()
}

func (c *Client) count(f func(*Status)) {
	c.mu.Lock()
	f(&c.status)
	c.mu.Unlock()
}

// Run publishes until ctx ends, reconnecting after failures, then sends
// TEARDOWN and returns ctx's error.
func (c *Client) Run(ctx context.Context) error {
	defer c.setState(StateStopped)
	backoff := time.Duration(0)
	for first := true; ; first = false {
		if !first {
			c.count(func(s *Status) { s.Reconnects++ })
		}
		c.setState(StateConnecting)
		published, err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			err = errors.New("push: session ended")
		}
		c.setError(err)
		if published >= stableAfter || backoff == 0 {
			backoff = c.opts.MinBackoff
		} else {
			backoff = min(2*backoff, c.opts.MaxBackoff)
		}
		// ±10 % jitter, so that cameras restarted together spread out.
		wait := backoff + time.Duration((rand.Float64()-0.5)*0.2*float64(backoff))
		c.log.Warn("push: relay session failed; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		c.setState(StateBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
