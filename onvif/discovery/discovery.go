// Package discovery is an ONVIF WS-Discovery (2005/04) target service: it
// announces the device with Hello and Bye, and answers Probe and Resolve
// messages sent to 239.255.255.250:3702 with ProbeMatches and
// ResolveMatches that point at the device service.
package discovery

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// GroupAddr is the WS-Discovery IPv4 multicast group, and Port its UDP
// port.
const (
	GroupAddr = "239.255.255.250"
	Port      = 3702
)

const (
	maxDatagram = 16 << 10 // larger Probes are dropped
	maxDelay    = 500 * time.Millisecond
	maxPending  = 64 // delayed replies in flight
	seenSize    = 256
	actionBase  = NSDiscovery + "/"
)

// Options configure a Responder.
type Options struct {
	// EndpointUUID is the stable endpoint reference, without "urn:uuid:";
	// empty derives it from MAC with EndpointUUID.
	EndpointUUID string
	// Name, Hardware and Location go into the scopes; Location is
	// omitted when empty.
	Name, Hardware, Location string
	// MAC goes into the mac scope.
	MAC net.HardwareAddr
	// XAddrPort is the HTTP port of the device service, and Path its
	// path (default "/onvif/device_service").
	XAddrPort int
	Path      string
	// Interfaces are the names of the interfaces to serve; empty means
	// every up, multicast-capable interface with an IPv4 address. A
	// named interface is used even without the MULTICAST flag (lo).
	Interfaces []string
	// ListenAddr is the UDP address to bind (default "0.0.0.0:3702").
	// A socket bound to a unicast address receives no multicast; tests
	// use that to exercise the unicast path.
	ListenAddr string
	// MetadataVersion is announced in every message (default 1).
	MetadataVersion uint32
	// Logger receives diagnostics (default slog.Default()).
	Logger *slog.Logger
}

// Responder is a WS-Discovery target service. Create it with New and run
// it with Run.
type Responder struct {
	opts   Options
	epr    string
	scopes []string
	log    *slog.Logger

	instanceID uint64
	msgNum     atomic.Uint64

	mu   sync.Mutex
	seen *seenCache
	conn *net.UDPConn // set while Run runs
}

// EndpointUUID returns a name-based (version 5, SHA-1) UUID derived from
// mac, stable across reboots and interfaces.
func EndpointUUID(mac net.HardwareAddr) string {
	// Namespace: the RFC 4122 OID namespace; name: "ipcamd:mac:" + MAC.
	ns := [16]byte{0x6b, 0xa7, 0xb8, 0x12, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte("ipcamd:mac:" + strings.ToLower(mac.String())))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func randomUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// New checks opts and returns a Responder.
func New(opts Options) (*Responder, error) {
	if opts.EndpointUUID == "" {
		if len(opts.MAC) == 0 {
			return nil, errors.New("discovery: neither EndpointUUID nor MAC is set")
		}
		opts.EndpointUUID = EndpointUUID(opts.MAC)
	}
	if opts.XAddrPort <= 0 || opts.XAddrPort > 65535 {
		return nil, fmt.Errorf("discovery: invalid XAddrPort %d", opts.XAddrPort)
	}
	if opts.Path == "" {
		opts.Path = "/onvif/device_service"
	}
	if opts.ListenAddr == "" {
		opts.ListenAddr = net.JoinHostPort("0.0.0.0", strconv.Itoa(Port))
	}
	if opts.MetadataVersion == 0 {
		opts.MetadataVersion = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	const base = "onvif://www.onvif.org/"
	scopes := []string{base + "Profile/Streaming", base + "type/video_encoder"}
	if opts.Name != "" {
		scopes = append(scopes, base+"name/"+url.PathEscape(opts.Name))
	}
	if opts.Hardware != "" {
		scopes = append(scopes, base+"hardware/"+url.PathEscape(opts.Hardware))
	}
	if opts.Location != "" {
		scopes = append(scopes, base+"location/"+url.PathEscape(opts.Location))
	}
	if len(opts.MAC) > 0 {
		scopes = append(scopes, base+"mac/"+opts.MAC.String())
	}
	return &Responder{
		opts:       opts,
		epr:        "urn:uuid:" + strings.ToLower(opts.EndpointUUID),
		scopes:     scopes,
		log:        opts.Logger,
		instanceID: uint64(time.Now().Unix()),
		seen:       newSeenCache(seenSize),
	}, nil
}

// EndpointReference returns the "urn:uuid:" address of the device.
func (r *Responder) EndpointReference() string { return r.epr }

// Scopes returns the scopes the device announces.
func (r *Responder) Scopes() []string { return append([]string(nil), r.scopes...) }

// iface is a served interface and its IPv4 address.
type iface struct {
	net.Interface
	addr *net.IPNet
}

// interfaces lists the interfaces to serve.
func (r *Responder) interfaces() ([]iface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range r.opts.Interfaces {
		want[n] = true
	}
	var out []iface
	for _, ifi := range all {
		if len(want) > 0 && !want[ifi.Name] {
			continue
		}
		if ifi.Flags&net.FlagUp == 0 || (len(want) == 0 && ifi.Flags&net.FlagMulticast == 0) {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, iface{ifi, ipn})
				break
			}
		}
	}
	return out, nil
}

// Run serves until ctx ends: it sends Hello on every interface, answers
// Probe and Resolve, and on cancellation sends Bye and returns. A
// multicast group it cannot join is a logged warning; it returns an error
// only when it cannot bind its socket.
func (r *Responder) Run(ctx context.Context) error {
	conn, err := listen(ctx, r.opts.ListenAddr)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	r.mu.Lock()
	r.conn = conn
	r.mu.Unlock()
	ifs, err := r.interfaces()
	if err != nil {
		r.log.Warn("discovery: listing interfaces", "err", err)
	}
	joined := 0
	for _, ifi := range ifs {
		if err := joinGroup(conn, net.ParseIP(GroupAddr), ifi.Index, ifi.addr.IP); err != nil {
			r.log.Warn("discovery: joining the multicast group", "interface", ifi.Name, "err", err)
			continue
		}
		joined++
		r.log.Debug("discovery: joined", "interface", ifi.Name, "addr", ifi.addr.IP)
	}
	if joined == 0 {
		r.log.Warn("discovery: no multicast interface joined; only unicast probes are answered", "interfaces", r.opts.Interfaces)
	}
	r.log.Info("discovery: started", "listen", conn.LocalAddr(), "epr", r.epr, "interfaces", len(ifs), "joined", joined)

	r.announce("Hello", ifs)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	var pending sync.WaitGroup
	sem := make(chan struct{}, maxPending)
	buf := make([]byte, maxDatagram)
	oob := make([]byte, oobSize)
	for {
		n, oobn, flags, src, err := conn.ReadMsgUDP(buf, oob)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, net.ErrClosed) {
				break
			}
			r.log.Debug("discovery: read", "err", err)
			continue
		}
		if truncated(flags) {
			r.log.Debug("discovery: oversized datagram dropped", "from", src)
			continue
		}
		ifindex, dst, _ := parsePktinfo(oob[:oobn])
		reply, multicast := r.handle(buf[:n], src, ifindex, dst)
		if reply == nil {
			continue
		}
		if !multicast {
			r.send(conn, reply, src)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			r.log.Debug("discovery: too many delayed replies, dropped", "to", src)
			continue
		}
		pending.Go(func() {
			defer func() { <-sem }()
			// WS-Discovery APP_MAX_DELAY: spread the answers of many
			// devices to one multicast Probe.
			d, _ := rand.Int(rand.Reader, big.NewInt(int64(maxDelay)))
			t := time.NewTimer(time.Duration(d.Int64()))
			defer t.Stop()
			select {
			case <-t.C:
				r.send(conn, reply, src)
			case <-ctx.Done():
			}
		})
	}
	pending.Wait()
	r.announce("Bye", ifs)
	r.log.Info("discovery: stopped")
	return nil
}

// Addr returns the bound address while Run runs, or nil.
func (r *Responder) Addr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return nil
	}
	return r.conn.LocalAddr()
}

func (r *Responder) send(conn *net.UDPConn, b []byte, to *net.UDPAddr) {
	if _, err := conn.WriteToUDP(b, to); err != nil {
		r.log.Debug("discovery: reply", "to", to, "err", err)
	}
}

// handle parses one datagram and returns the reply to send to src, if
// any, and whether it arrived over multicast (and so must be delayed).
func (r *Responder) handle(data []byte, src *net.UDPAddr, ifindex int, dst net.IP) (reply []byte, multicast bool) {
	m, err := parseMessage(data)
	if err != nil || m.Kind == kindOther {
		return nil, false
	}
	if m.MessageID == "" {
		r.log.Debug("discovery: message without MessageID ignored", "from", src)
		return nil, false
	}
	switch m.Kind {
	case kindProbe:
		if !matchTypes(m.Types, m.Unresolved) || !matchScopes(m.Scopes, m.MatchBy, r.scopes) {
			return nil, false
		}
	case kindResolve:
		if !strings.EqualFold(m.Address, r.epr) {
			return nil, false
		}
	}
	r.mu.Lock()
	fresh := r.seen.add(m.MessageID)
	r.mu.Unlock()
	if !fresh {
		r.log.Debug("discovery: repeated message ignored", "id", m.MessageID, "from", src)
		return nil, false
	}
	host := r.localAddr(ifindex, dst, src.IP)
	if host == nil {
		r.log.Debug("discovery: no local address for the reply", "from", src, "ifindex", ifindex)
		return nil, false
	}
	mt := r.match(host)
	env := envelope{Header: r.header(m.MessageID, toAnonymous, "")}
	if m.Kind == kindProbe {
		env.Header.Action = actionBase + "ProbeMatches"
		env.Body.ProbeMatches = &matches{Match: []match{mt}}
	} else {
		env.Header.Action = actionBase + "ResolveMatches"
		env.Body.ResolveMatches = &resolved{Match: []match{mt}}
	}
	b, err := marshal(env)
	if err != nil {
		r.log.Warn("discovery: building a reply", "err", err)
		return nil, false
	}
	r.log.Debug("discovery: answering", "action", env.Header.Action, "to", src, "xaddrs", mt.XAddrs)
	return b, dst != nil && dst.IsMulticast()
}

// localAddr picks the address of the interface a datagram arrived on: the
// receiving interface's IPv4 address in the sender's subnet, else its
// first IPv4 address, else the datagram's destination when unicast.
func (r *Responder) localAddr(ifindex int, dst, src net.IP) net.IP {
	if ifindex > 0 {
		if ifi, err := net.InterfaceByIndex(ifindex); err == nil {
			if addrs, err := ifi.Addrs(); err == nil {
				var first net.IP
				for _, a := range addrs {
					ipn, ok := a.(*net.IPNet)
					if !ok || ipn.IP.To4() == nil {
						continue
					}
					if ipn.Contains(src) {
						return ipn.IP.To4()
					}
					if first == nil {
						first = ipn.IP.To4()
					}
				}
				if first != nil {
					return first
				}
			}
		}
	}
	if dst != nil && !dst.IsMulticast() && !dst.IsUnspecified() {
		return dst.To4()
	}
	return nil
}

func (r *Responder) xaddr(host net.IP) string {
	return "http://" + net.JoinHostPort(host.String(), strconv.Itoa(r.opts.XAddrPort)) + r.opts.Path
}

func (r *Responder) match(host net.IP) match {
	return match{
		EPR:             epr{Address: r.epr},
		Types:           typesValue,
		Scopes:          strings.Join(r.scopes, " "),
		XAddrs:          r.xaddr(host),
		MetadataVersion: r.opts.MetadataVersion,
	}
}

func (r *Responder) header(relatesTo, to, action string) header {
	return header{
		MessageID:   "urn:uuid:" + randomUUID(),
		RelatesTo:   relatesTo,
		To:          to,
		Action:      action,
		AppSequence: appSequence{InstanceID: r.instanceID, MessageNumber: r.msgNum.Add(1)},
	}
}

// announce multicasts Hello or Bye out of each interface, naming that
// interface's address in XAddrs.
func (r *Responder) announce(what string, ifs []iface) {
	dst := &net.UDPAddr{IP: net.ParseIP(GroupAddr), Port: Port}
	for _, ifi := range ifs {
		mt := r.match(ifi.addr.IP)
		env := envelope{Header: r.header("", toDiscovery, actionBase+what)}
		if what == "Hello" {
			env.Body.Hello = &mt
		} else {
			env.Body.Bye = &mt
		}
		b, err := marshal(env)
		if err != nil {
			r.log.Warn("discovery: building "+what, "err", err)
			continue
		}
		c, err := dialMulticast(ifi.Index, ifi.addr.IP)
		if err != nil {
			r.log.Warn("discovery: sending "+what, "interface", ifi.Name, "err", err)
			continue
		}
		if _, err := c.WriteToUDP(b, dst); err != nil {
			r.log.Warn("discovery: sending "+what, "interface", ifi.Name, "err", err)
		} else {
			r.log.Debug("discovery: sent "+what, "interface", ifi.Name)
		}
		c.Close()
	}
}
