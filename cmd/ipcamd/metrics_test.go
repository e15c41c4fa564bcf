package main

import (
	"bufio"
	"context"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/board/boardtest"
	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp"
	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/ipcamd/ipcamd/rtsp/push"
)

// sampleLine is one sample of the Prometheus text format (version 0.0.4),
// without a timestamp: a metric name, optional labels, and a value. The
// format allows blanks after the commas between labels.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[ \t]*[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*,?)?\})? (\S+)$`)

// scrape gets h's metrics and checks that every line is a valid sample or
// comment, and that no series appears twice. It returns the samples by
// series (name and labels, as written).
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ct)
	}
	body := w.Body.String()
	if !strings.HasSuffix(body, "\n") {
		t.Errorf("output does not end with a newline")
	}
	out := map[string]float64{}
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("line %d is not a Prometheus sample: %q", i+1, line)
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil && m[3] != "+Inf" && m[3] != "-Inf" && m[3] != "NaN" {
			t.Errorf("line %d: value %q: %v", i+1, m[3], err)
		}
		series := m[1] + m[2]
		if _, dup := out[series]; dup {
			t.Errorf("line %d: series %s written twice", i+1, series)
		}
		out[series] = v
	}
	return out
}

// find returns the value of the one series of name whose labels include
// all of labels (such as `stream="/main"`); it fails the test if there is
// not exactly one.
func find(t *testing.T, samples map[string]float64, name string, labels ...string) float64 {
	t.Helper()
	var hits []string
	for _, s := range slices.Sorted(maps.Keys(samples)) {
		if s != name && !strings.HasPrefix(s, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(s, l)
		}
		if ok {
			hits = append(hits, s)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%d series %s%v, want 1: %v", len(hits), name, labels, hits)
	}
	return samples[hits[0]]
}

type fakeCamera struct{ errs, reopens uint64 }

func (c fakeCamera) Errors() uint64  { return c.errs }
func (c fakeCamera) Reopens() uint64 { return c.reopens }

// TestMetricsHandler runs the file source into a ring through the
// encoder's healthWriter, serves it over RTSP to a TCP client, and
// checks that /metrics is valid, names every source, and that the
// counters move.
func TestMetricsHandler(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir()
	cfg.Source = "file:../../testdata/clip-720p25.h264"
	src := openTestSource(t, cfg)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	rb := ring.New(8<<20, 256)
	health := &healthWriter{w: rb}
	wg.Go(func() { src.Run(ctx, health) })
	stream := rtsp.NewStream("/main", rb, rtsp.StreamOptions{Logger: log})
	wg.Go(func() { stream.Run(ctx) })
	srv := rtsp.NewServer(rtsp.Options{Logger: log}, stream)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { srv.Serve(ctx, ln) })

	ov := onvifHandler(cfg, src, onvifProfiles(cfg, src, mcastOf(cfg)), ln.Addr(), nil, nil, nil, nil, log)
	p, err := board.LoadProfile("qemu-virt")
	if err != nil {
		t.Fatal(err)
	}
	brd, err := board.Open(p, board.Options{Lines: boardtest.New(nil), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer brd.Close()
	pc, err := push.New(push.Options{URL: "rtsp://cam:secret@relay.example:8554/cam1", Source: rb, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cam := &fakeCamera{}
	h := metricsHandler(metricSources{rtsp: srv, streams: []*rtsp.Stream{stream}, encoder: health, onvif: ov,
		board: brd, camera: cam, relays: []relay{{Client: pc, stream: "sub"}}, start: time.Now().Add(-time.Minute)})

	before := scrape(t, h)
	for _, name := range []string{
		"ipcamd_build_info", "ipcamd_uptime_seconds",
		"ipcamd_encoder_frames_total", "ipcamd_encoder_bytes_total", "ipcamd_encoder_idr_frames_total",
		"ipcamd_encoder_fps", "ipcamd_encoder_bitrate_bits_per_second",
		"ipcamd_capture_errors_total", "ipcamd_capture_reopens_total",
		"ipcamd_rtsp_stream_clients", "ipcamd_rtsp_stream_frames_total", "ipcamd_rtsp_stream_packets_total",
		"ipcamd_rtsp_stream_bytes_total", "ipcamd_rtsp_stream_frames_dropped_total", "ipcamd_rtsp_stream_evictions_total",
		"ipcamd_rtsp_sessions", "ipcamd_rtsp_evictions_total", "ipcamd_rtsp_session_timeouts_total", "ipcamd_rtsp_redirects_total",
		"ipcamd_daynight_switches_total", "ipcamd_daynight_night",
		"ipcamd_push_publishing", "ipcamd_push_frames_total", "ipcamd_push_bytes_total",
		"ipcamd_push_frames_dropped_total", "ipcamd_push_reconnects_total",
	} {
		find(t, before, name)
	}
	if up := find(t, before, "ipcamd_uptime_seconds"); up < 60 || up > 120 {
		t.Errorf("uptime %v s, want about a minute", up)
	}
	for s := range before {
		if strings.Contains(s, "secret") {
			t.Errorf("the relay's password is in %s", s)
		}
	}
	if find(t, before, "ipcamd_push_frames_total", `@relay.example:8554/cam1"`, `stream="sub"`) != 0 {
		t.Errorf("an idle pusher counts frames")
	}
	if find(t, before, "ipcamd_rtsp_stream_packets_total", `stream="/main"`) != 0 {
		t.Errorf("packets counted before any client")
	}

	// A client plays the stream over TCP for a while.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	cseq := 0
	do := func(method, url string, hdr ...string) *message.Response {
		t.Helper()
		cseq++
		req := &message.Request{Method: method, URL: url, Header: message.Header{}}
		req.Header.Set("CSeq", strconv.Itoa(cseq))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := req.Write(c); err != nil {
			t.Fatal(err)
		}
		for {
			inter, err := message.IsInterleaved(br)
			if err != nil {
				t.Fatal(err)
			}
			if !inter {
				break
			}
			if _, _, err := message.ReadInterleaved(br, nil); err != nil {
				t.Fatal(err)
			}
		}
		res, err := message.ReadResponse(br)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", method, res.StatusCode)
		}
		return res
	}
	url := "rtsp://" + ln.Addr().String() + "/main"
	res := do("SETUP", url+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	id, _, _ := strings.Cut(res.Header.Get("Session"), ";")
	do("PLAY", url, "Session", id)
	packets := 0
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		ch, _, err := message.ReadInterleaved(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ch == 0 {
			packets++
		}
	}

	// One ONVIF request, a day/night switch and a camera failure.
	w := httptest.NewRecorder()
	ov.ServeHTTP(w, httptest.NewRequest("POST", "http://192.0.2.1:8080/onvif/media_service",
		strings.NewReader(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>`)))
	if w.Code != 200 {
		t.Fatalf("GetProfiles: status %d", w.Code)
	}
	if err := brd.SetMode(board.ModeNight); err != nil {
		t.Fatal(err)
	}
	cam.errs, cam.reopens = 1, 1

	after := scrape(t, h)
	sess := []string{`stream="/main"`, `session="` + id + `"`, `transport="TCP"`, `client="127.0.0.1:`}
	if got := find(t, after, "ipcamd_rtsp_session_packets_total", sess...); got < float64(packets) {
		t.Errorf("session packets %v, the client read %d", got, packets)
	}
	for _, name := range []string{"ipcamd_rtsp_session_frames_total", "ipcamd_rtsp_session_bytes_total"} {
		if got := find(t, after, name, sess...); got <= 0 {
			t.Errorf("%s = %v after playing", name, got)
		}
	}
	for _, name := range []string{"ipcamd_rtsp_session_frames_dropped_total", "ipcamd_rtsp_session_rtcp_fraction_lost",
		"ipcamd_rtsp_session_rtcp_packets_lost", "ipcamd_rtsp_session_rtcp_jitter_seconds"} {
		find(t, after, name, sess...)
	}
	grew := []struct {
		name   string
		labels []string
	}{
		{"ipcamd_encoder_frames_total", []string{`stream="main"`}},
		{"ipcamd_encoder_bytes_total", []string{`stream="main"`}},
		{"ipcamd_rtsp_stream_frames_total", []string{`stream="/main"`}},
		{"ipcamd_rtsp_stream_packets_total", []string{`stream="/main"`}},
		{"ipcamd_rtsp_stream_bytes_total", []string{`stream="/main"`}},
		{"ipcamd_daynight_switches_total", nil},
		{"ipcamd_daynight_night", nil},
		{"ipcamd_capture_errors_total", nil},
		{"ipcamd_capture_reopens_total", nil},
	}
	for _, g := range grew {
		if b, a := find(t, before, g.name, g.labels...), find(t, after, g.name, g.labels...); a <= b {
			t.Errorf("%s%v: %v before, %v after; want it to grow", g.name, g.labels, b, a)
		}
	}
	if find(t, after, "ipcamd_encoder_idr_frames_total", `stream="main"`) < 1 {
		t.Errorf("no IDR counted")
	}
	if fps := find(t, after, "ipcamd_encoder_fps", `stream="main"`); fps < 10 || fps > 40 {
		t.Errorf("encoder fps %v, want about 25 (the clip's rate)", fps)
	}
	if bps := find(t, after, "ipcamd_encoder_bitrate_bits_per_second", `stream="main"`); bps <= 0 {
		t.Errorf("encoder bitrate %v", bps)
	}
	if n := find(t, after, "ipcamd_rtsp_sessions"); n != 1 {
		t.Errorf("%v sessions, want 1", n)
	}
	if n := find(t, after, "ipcamd_onvif_requests_total", `service="media"`, `operation="GetProfiles"`, `result="ok"`); n != 1 {
		t.Errorf("GetProfiles counted %v times, want 1", n)
	}
	if _, ok := after["ipcamd_encoder_frames_total{stream=\"sub\"}"]; ok {
		t.Errorf("a sub encoder is reported without one")
	}
}

// TestMetricsHandlerSkipsNil checks that a handler with no sources still
// writes valid output with the build info.
func TestMetricsHandlerSkipsNil(t *testing.T) {
	got := scrape(t, metricsHandler(metricSources{}))
	if v := find(t, got, "ipcamd_build_info", `version="`+versionString()+`"`); v != 1 {
		t.Errorf("build info %v", v)
	}
	for s := range got {
		if strings.HasPrefix(s, "ipcamd_") && !strings.HasPrefix(s, "ipcamd_build_info") {
			t.Errorf("%s written without its source", s)
		}
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/main", `"/main"`},
		{`a"b`, `"a\"b"`},
		{`c:\x`, `"c:\\x"`},
		{"two\nlines", `"two\nlines"`},
		{"ünïcode", `"ünïcode"`},
	}
	for _, tt := range tests {
		if got := labelValue(tt.in); got != tt.want {
			t.Errorf("labelValue(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if line := "x{l=" + labelValue(tt.in) + "} 1"; !sampleLine.MatchString(line) {
			t.Errorf("%q is not a valid sample", line)
		}
	}
}

// TestHealthWriterCounts checks the encoder's counters and rates.
func TestHealthWriterCounts(t *testing.T) {
	h := &healthWriter{w: nopWriter{}}
	idr := &h264.AccessUnit{NALUs: [][]byte{{0x67, 1, 2}, {0x68, 1}, {0x65, 1, 2, 3, 4}}}
	p := &h264.AccessUnit{NALUs: [][]byte{{0x41, 1, 2, 3}}}
	for _, au := range []*h264.AccessUnit{idr, p, p, idr, p} {
		if err := h.WriteAccessUnit(au); err != nil {
			t.Fatal(err)
		}
	}
	if f, b, i := h.counts(); f != 5 || b != 2*10+3*4 || i != 2 {
		t.Errorf("counts() = %d frames, %d bytes, %d IDRs; want 5, 32, 2", f, b, i)
	}
	// Counting is on every frame's path: it must not allocate.
	if n := testing.AllocsPerRun(100, func() { h.WriteAccessUnit(p) }); n != 0 {
		t.Errorf("WriteAccessUnit allocates %v times per access unit", n)
	}
}

// TestRateWindow feeds a rate window samples at known times and checks
// the rates it computes.
func TestRateWindow(t *testing.T) {
	const sec = int64(time.Second)
	type write struct {
		at    int64 // nanoseconds
		bytes uint64
	}
	// steady returns n writes of size bytes, every interval from 0.
	steady := func(n int, interval int64, size uint64) []write {
		var ws []write
		for i := range n {
			ws = append(ws, write{int64(i) * interval, size})
		}
		return ws
	}
	tests := []struct {
		name     string
		writes   []write
		now      int64
		fps, bps float64
	}{
		{"nothing yet", nil, 10 * sec, 0, 0},
		{"25 fps for 10 s", steady(250, sec/25, 1000), 10 * sec, 25, 25 * 8000},
		{"10 fps for 3 s", steady(30, sec/10, 500), 3 * sec, 10, 10 * 4000},
		{"too soon to tell", steady(3, sec/25, 1000), sec / 10, 0, 0},
		{"stalled for longer than the window", steady(250, sec/25, 1000), 10*sec + int64(rateSpan) + sec, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &healthWriter{}
			for _, w := range tt.writes {
				h.frames.Add(1)
				h.bytes.Add(w.bytes)
				h.rate.note(w.at, h)
			}
			f, b, _ := h.counts()
			fps, bps := h.rate.rates(tt.now, f, b)
			if !near(fps, tt.fps) || !near(bps, tt.bps) {
				t.Errorf("rates = %.2f fps, %.0f bit/s; want %.2f, %.0f", fps, bps, tt.fps, tt.bps)
			}
		})
	}
}

// near reports whether got is within 5% of want.
func near(got, want float64) bool {
	d := got - want
	return d <= 0.05*want && -d <= 0.05*want
}
