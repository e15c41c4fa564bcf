// Command loadclient is a light raw-RTSP load generator for the ipcamd fan-out
// benchmark. It opens N playing sessions to one URL over TCP interleaved or
// UDP unicast (OPTIONS, DESCRIBE, SETUP, PLAY, then GET_PARAMETER every
// -keepalive), and counts RTP packets, bytes, frames (marker bits) and
// sequence-number gaps per session. It deliberately does not use an RTSP
// library, to keep its own CPU cost per packet low.
//
// Output is one JSON object per line on stdout:
//
//	{"event":"ready",...}     once every session has answered PLAY (or failed)
//	{"event":"snapshot",...}  on every SIGUSR1, and every -every if set
//	{"event":"final",...}     at exit (SIGINT/SIGTERM or -duration)
//
// Counters in snapshot/final lines are cumulative since start; window_* fields
// are deltas since the previous snapshot. Diagnostics go to stderr.
//
//	loadclient -url rtsp://127.0.0.1:8554/main -n 50 -transport udp
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var start = time.Now()

type counters struct {
	packets atomic.Int64
	bytes   atomic.Int64 // RTP bytes (header + payload)
	frames  atomic.Int64 // packets with the marker bit
	gaps    atomic.Int64 // sequence discontinuities
	lost    atomic.Int64 // missing sequence numbers
	reorder atomic.Int64 // late, duplicate or backward packets
	rtcp    atomic.Int64 // RTCP packets (interleaved channel 1, or RTCP socket)
}

type session struct {
	id      int
	c       counters
	lastSeq uint16
	haveSeq bool
	closed  atomic.Bool
	err     atomic.Value // error text

	conn    net.Conn
	br      *bufio.Reader
	wmu     sync.Mutex
	cseq    int
	url     string // request URL
	ctrlURL string // SETUP/PLAY URL of the media
	sessID  string
	rtpUDP  *net.UDPConn
	rtcpUDP *net.UDPConn

	prevPackets int64 // for window min/max (snapshot goroutine only)
}

var dumpLeft atomic.Int64 // -dump: print the first packets of session 0

func (s *session) onRTP(p []byte) {
	if len(p) < 12 || p[0]>>6 != 2 {
		return
	}
	if s.id == 0 && dumpLeft.Load() > 0 {
		dumpLeft.Add(-1)
		fmt.Fprintf(os.Stderr, "rtp t=%.3f seq=%d ts=%d m=%d len=%d nal=%d\n",
			time.Since(start).Seconds(), uint16(p[2])<<8|uint16(p[3]),
			uint32(p[4])<<24|uint32(p[5])<<16|uint32(p[6])<<8|uint32(p[7]), p[1]>>7, len(p), p[12]&0x1f)
	}
	s.c.packets.Add(1)
	s.c.bytes.Add(int64(len(p)))
	if p[1]&0x80 != 0 {
		s.c.frames.Add(1)
	}
	seq := uint16(p[2])<<8 | uint16(p[3])
	if !s.haveSeq {
		s.haveSeq, s.lastSeq = true, seq
		return
	}
	d := seq - (s.lastSeq + 1)
	switch {
	case d == 0:
		s.lastSeq = seq
	case d < 0x8000:
		s.c.gaps.Add(1)
		s.c.lost.Add(int64(d))
		s.lastSeq = seq
	default:
		s.c.reorder.Add(1)
	}
}

type response struct {
	status  int
	headers map[string]string // lower-case keys
	body    []byte
}

func (s *session) write(method, u string, hdr ...string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: ipcamd-bench-loadclient\r\n", method, u, s.cseq)
	if s.sessID != "" {
		fmt.Fprintf(&b, "Session: %s\r\n", s.sessID)
	}
	for _, h := range hdr {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(s.conn, b.String())
	return err
}

// readMessage reads the next item from the TCP connection: an interleaved
// '$' frame (counted, returns nil response) or an RTSP response.
func (s *session) readMessage(buf []byte) (*response, error) {
	first, err := s.br.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] == '$' {
		var h [4]byte
		if _, err := io.ReadFull(s.br, h[:]); err != nil {
			return nil, err
		}
		n := int(h[2])<<8 | int(h[3])
		if n > len(buf) {
			return nil, fmt.Errorf("interleaved frame of %d bytes", n)
		}
		if _, err := io.ReadFull(s.br, buf[:n]); err != nil {
			return nil, err
		}
		if h[1]%2 == 0 {
			s.onRTP(buf[:n])
		} else {
			s.c.rtcp.Add(1)
		}
		return nil, nil
	}
	line, err := s.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "RTSP/") {
		return nil, fmt.Errorf("unexpected line %q", strings.TrimSpace(line))
	}
	r := &response{headers: map[string]string{}}
	r.status, _ = strconv.Atoi(f[1])
	for {
		l, err := s.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			r.headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if cl, _ := strconv.Atoi(r.headers["content-length"]); cl > 0 {
		r.body = make([]byte, cl)
		if _, err := io.ReadFull(s.br, r.body); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (s *session) request(method, u string, hdr ...string) (*response, error) {
	if err := s.write(method, u, hdr...); err != nil {
		return nil, err
	}
	buf := make([]byte, 65536)
	_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer s.conn.SetReadDeadline(time.Time{})
	for {
		r, err := s.readMessage(buf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		if r == nil {
			continue
		}
		if r.status != 200 {
			return r, fmt.Errorf("%s: status %d", method, r.status)
		}
		return r, nil
	}
}

// mediaControl returns the a=control of the first video (else first) media.
func mediaControl(sdp []byte) (string, error) {
	inMedia, found := false, false
	ctrl := ""
	for _, l := range strings.Split(string(sdp), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.HasPrefix(l, "m=") {
			if found {
				break
			}
			inMedia = true
			found = strings.HasPrefix(l, "m=video")
			ctrl = ""
			continue
		}
		if inMedia && strings.HasPrefix(l, "a=control:") {
			ctrl = strings.TrimPrefix(l, "a=control:")
			if found {
				break
			}
		}
	}
	if !inMedia {
		return "", errors.New("SDP has no media")
	}
	return ctrl, nil
}

func resolveControl(base, ctrl string) string {
	switch {
	case ctrl == "" || ctrl == "*":
		return base
	case strings.HasPrefix(strings.ToLower(ctrl), "rtsp://"):
		return ctrl
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + ctrl
}

func listenUDPPair() (*net.UDPConn, *net.UDPConn, error) {
	for range 200 {
		p := 20000 + 2*rand.IntN(20000)
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err != nil {
			a.Close()
			continue
		}
		_ = a.SetReadBuffer(1 << 20)
		return a, b, nil
	}
	return nil, nil, errors.New("no free UDP port pair")
}

func (s *session) start(rawURL, transport string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "554")
	}
	s.url = rawURL
	s.conn, err = net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		return err
	}
	s.br = bufio.NewReaderSize(s.conn, 64<<10)
	if _, err := s.request("OPTIONS", s.url); err != nil {
		return err
	}
	r, err := s.request("DESCRIBE", s.url, "Accept: application/sdp")
	if err != nil {
		return err
	}
	base := s.url
	if v := r.headers["content-base"]; v != "" {
		base = v
	} else if v := r.headers["content-location"]; v != "" {
		base = v
	}
	ctrl, err := mediaControl(r.body)
	if err != nil {
		return err
	}
	s.ctrlURL = resolveControl(base, ctrl)

	var th string
	if transport == "tcp" {
		th = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1"
	} else {
		s.rtpUDP, s.rtcpUDP, err = listenUDPPair()
		if err != nil {
			return err
		}
		p := s.rtpUDP.LocalAddr().(*net.UDPAddr).Port
		th = fmt.Sprintf("Transport: RTP/AVP;unicast;client_port=%d-%d", p, p+1)
	}
	r, err = s.request("SETUP", s.ctrlURL, th)
	if err != nil {
		return err
	}
	sid, _, _ := strings.Cut(r.headers["session"], ";")
	s.sessID = strings.TrimSpace(sid)
	if s.sessID == "" {
		return errors.New("SETUP: no Session header")
	}
	if transport == "udp" && !strings.Contains(r.headers["transport"], "server_port") &&
		!strings.Contains(r.headers["transport"], "RTP/AVP;") {
		return fmt.Errorf("SETUP: unexpected transport %q", r.headers["transport"])
	}
	playURL := base
	if _, err = s.request("PLAY", playURL, "Range: npt=0.000-"); err != nil {
		return err
	}
	return nil
}

func (s *session) fail(err error) {
	if s.closed.CompareAndSwap(false, true) {
		s.err.Store(err.Error())
		fmt.Fprintf(os.Stderr, "session %d: %v\n", s.id, err)
	}
}

// run reads until the connection closes. For TCP it carries the RTP; for UDP
// it only carries keepalive responses and a separate goroutine reads RTP.
func (s *session) run(keepalive time.Duration, stop <-chan struct{}) {
	if s.rtpUDP != nil {
		go func() {
			buf := make([]byte, 65536)
			for {
				n, err := s.rtpUDP.Read(buf)
				if err != nil {
					return
				}
				s.onRTP(buf[:n])
			}
		}()
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, err := s.rtcpUDP.Read(buf); err != nil {
					return
				}
				s.c.rtcp.Add(1)
			}
		}()
	}
	go func() {
		t := time.NewTicker(keepalive)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := s.write("GET_PARAMETER", s.url); err != nil {
					s.fail(fmt.Errorf("keepalive: %w", err))
					return
				}
			}
		}
	}()
	buf := make([]byte, 65536)
	for {
		r, err := s.readMessage(buf)
		if err != nil {
			select {
			case <-stop:
			default:
				s.fail(err)
			}
			return
		}
		if r != nil && r.status != 200 {
			fmt.Fprintf(os.Stderr, "session %d: keepalive status %d\n", s.id, r.status)
		}
	}
}

func (s *session) close() {
	if s.conn != nil {
		if s.sessID != "" {
			_ = s.write("TEARDOWN", s.url)
		}
		s.conn.Close()
	}
	if s.rtpUDP != nil {
		s.rtpUDP.Close()
		s.rtcpUDP.Close()
	}
}

type report struct {
	Event        string  `json:"event"`
	T            float64 `json:"t"`    // seconds since loadclient start (monotonic)
	Unix         float64 `json:"unix"` // wall clock
	Transport    string  `json:"transport"`
	Sessions     int     `json:"sessions"`
	Alive        int     `json:"alive"`
	Failed       int     `json:"failed"`
	Packets      int64   `json:"packets"`
	Bytes        int64   `json:"bytes"`
	Frames       int64   `json:"frames"`
	Gaps         int64   `json:"gaps"`
	Lost         int64   `json:"lost"`
	Reorder      int64   `json:"reorder"`
	RTCP         int64   `json:"rtcp"`
	WindowMin    int64   `json:"window_min_session_packets"`
	WindowMax    int64   `json:"window_max_session_packets"`
	ClientCPU    float64 `json:"client_cpu_s"`
	SetupSeconds float64 `json:"setup_s,omitempty"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func main() {
	rawURL := flag.String("url", "rtsp://127.0.0.1:8554/main", "RTSP URL")
	n := flag.Int("n", 1, "number of sessions")
	transport := flag.String("transport", "tcp", "tcp (interleaved) or udp (unicast)")
	keepalive := flag.Duration("keepalive", 20*time.Second, "GET_PARAMETER interval")
	parallel := flag.Int("parallel", 4, "sessions set up concurrently")
	duration := flag.Duration("duration", 0, "exit after this long (0 = until SIGINT/SIGTERM)")
	every := flag.Duration("every", 0, "also print a snapshot at this interval (0 = only on SIGUSR1)")
	dump := flag.Int("dump", 0, "print seq/timestamp/marker of the first N RTP packets of session 0 to stderr")
	flag.Parse()
	dumpLeft.Store(int64(*dump))
	if *transport != "tcp" && *transport != "udp" {
		fmt.Fprintln(os.Stderr, "-transport must be tcp or udp")
		os.Exit(2)
	}

	t0 := start
	usr1 := make(chan os.Signal, 4)
	signal.Notify(usr1, syscall.SIGUSR1)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGINT, syscall.SIGTERM)

	enc := json.NewEncoder(os.Stdout)
	var outMu sync.Mutex
	emit := func(r report) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = enc.Encode(r)
	}

	stop := make(chan struct{})
	sessions := make([]*session, *n)
	var failed atomic.Int64
	sem := make(chan struct{}, max(1, *parallel))
	var wg sync.WaitGroup
	for i := range sessions {
		s := &session{id: i}
		sessions[i] = s
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.start(*rawURL, *transport); err != nil {
				failed.Add(1)
				s.fail(fmt.Errorf("setup: %w", err))
				return
			}
			go s.run(*keepalive, stop)
		}()
	}
	wg.Wait()

	var snapMu sync.Mutex
	snapshot := func(event string) report {
		snapMu.Lock()
		defer snapMu.Unlock()
		r := report{Event: event, Transport: *transport, Sessions: *n, Failed: int(failed.Load())}
		now := time.Now()
		r.T = now.Sub(t0).Seconds()
		r.Unix = float64(now.UnixNano()) / 1e9
		r.WindowMin = -1
		for _, s := range sessions {
			if !s.closed.Load() {
				r.Alive++
			}
			p := s.c.packets.Load()
			r.Packets += p
			r.Bytes += s.c.bytes.Load()
			r.Frames += s.c.frames.Load()
			r.Gaps += s.c.gaps.Load()
			r.Lost += s.c.lost.Load()
			r.Reorder += s.c.reorder.Load()
			r.RTCP += s.c.rtcp.Load()
			w := p - s.prevPackets
			s.prevPackets = p
			if r.WindowMin < 0 || w < r.WindowMin {
				r.WindowMin = w
			}
			r.WindowMax = max(r.WindowMax, w)
		}
		r.ClientCPU = cpuSeconds()
		return r
	}
	ready := snapshot("ready")
	ready.SetupSeconds = time.Since(t0).Seconds()
	emit(ready)

	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(*every)
		defer t.Stop()
		tick = t.C
	}
	var deadline <-chan time.Time
	if *duration > 0 {
		deadline = time.After(*duration)
	}
loop:
	for {
		select {
		case <-usr1:
			emit(snapshot("snapshot"))
		case <-tick:
			emit(snapshot("snapshot"))
		case <-term:
			break loop
		case <-deadline:
			break loop
		}
	}
	final := snapshot("final")
	close(stop)
	emit(final)
	var cwg sync.WaitGroup
	for _, s := range sessions {
		cwg.Add(1)
		go func() { defer cwg.Done(); s.close() }()
	}
	done := make(chan struct{})
	go func() { cwg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	if final.Failed > 0 || final.Alive < final.Sessions {
		os.Exit(1)
	}
}
