package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// promSample is one line of the Prometheus text format: a metric name,
// optional labels (blanks allowed after the commas) and a value.
var promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[ \t]*[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*,?)?\})? (\S+)$`)

// promMetrics is a scrape: values by series, name and labels as written.
type promMetrics map[string]float64

// scrapeMetrics gets url (a /metrics endpoint) and checks that it is in
// the Prometheus text format.
func scrapeMetrics(t *testing.T, url string) promMetrics {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s (is /metrics mounted in cmd/ipcamd/main.go?)\n%s", url, resp.Status, tail(string(body), 10))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET %s: Content-Type %q, want the Prometheus text format", url, ct)
	}
	m := promMetrics{}
	for i, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		s := promSample.FindStringSubmatch(line)
		if s == nil {
			t.Errorf("line %d is not a Prometheus sample: %q", i+1, line)
			continue
		}
		v, err := strconv.ParseFloat(s[3], 64)
		if err != nil {
			t.Errorf("line %d: value %q: %v", i+1, s[3], err)
		}
		m[s[1]+s[2]] = v
	}
	return m
}

// sum adds the values of the series of name whose labels include all of
// labels (such as `stream="/main"`); ok is false if there is none.
func (m promMetrics) sum(name string, labels ...string) (v float64, ok bool) {
	for series, x := range m {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(series, l)
		}
		if match {
			v, ok = v+x, true
		}
	}
	return v, ok
}

// must returns sum(name, labels...) and fails the test if there is no
// such series.
func (m promMetrics) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := m.sum(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v in /metrics", name, labels)
	}
	return v
}

// TestMetrics scrapes /metrics while ffmpeg plays the live test pattern
// and after one ONVIF request, and checks that the counters a user would
// graph move: packets and bytes sent, per stream and per session, the
// encoder's frames and IDRs, its frame rate, and ONVIF requests by
// operation.
func TestMetrics(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffmpeg")
	// An IDR every 500 ms, so that several come while ffmpeg plays.
	srv := startServer(t, serverOptions{Source: "default", Config: "encoder:\n  idr_interval: 500ms\n"})
	metricsURL := srv.HTTP + "/metrics"

	// Wait for the encoder to get going: its frame rate reads 0 until it
	// has run for half a second.
	var before promMetrics
	for deadline := time.Now().Add(10 * time.Second); ; {
		before = scrapeMetrics(t, metricsURL)
		if v, _ := before.sum("ipcamd_encoder_fps", `stream="main"`); v > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the encoder's frame rate still reads 0 after 10 s\n--- server log ---\n%s", tail(srv.log(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, name := range []string{"ipcamd_build_info", "ipcamd_uptime_seconds", "ipcamd_rtsp_sessions",
		"ipcamd_rtsp_stream_packets_total", "ipcamd_encoder_idr_frames_total", "process_resident_memory_bytes"} {
		before.must(t, name)
	}

	// ffmpeg plays for about 2 s; meanwhile its session shows.
	type played struct {
		frames int
		r      toolResult
	}
	done := make(chan played, 1)
	go func() {
		n, r := ffmpegFrames(t, srv.URL, 50)
		done <- played{n, r}
	}()
	var during promMetrics
	var p played
	sawSession := false
wait:
	for {
		select {
		case p = <-done:
			break wait
		case <-time.After(300 * time.Millisecond):
		}
		during = scrapeMetrics(t, metricsURL)
		if v, ok := during.sum("ipcamd_rtsp_session_packets_total", `stream="/main"`, `transport="TCP"`); ok && v > 0 {
			sawSession = true
		}
	}
	if p.frames < 50 {
		t.Fatalf("ffmpeg decoded %d frames, want 50\n%s", p.frames, p.r)
	}
	if !sawSession {
		t.Errorf("no ipcamd_rtsp_session_packets_total{transport=\"TCP\"} series grew while ffmpeg played")
	}

	after := scrapeMetrics(t, metricsURL)
	grew := []struct {
		name   string
		labels []string
	}{
		{"ipcamd_rtsp_stream_packets_total", []string{`stream="/main"`}},
		{"ipcamd_rtsp_stream_bytes_total", []string{`stream="/main"`}},
		{"ipcamd_rtsp_stream_frames_total", []string{`stream="/main"`}},
		{"ipcamd_encoder_frames_total", []string{`stream="main"`}},
		{"ipcamd_encoder_bytes_total", []string{`stream="main"`}},
		{"ipcamd_encoder_idr_frames_total", []string{`stream="main"`}},
	}
	for _, g := range grew {
		b, a := before.must(t, g.name, g.labels...), after.must(t, g.name, g.labels...)
		if a <= b {
			t.Errorf("%s%v: %v before playing, %v after; want it to grow", g.name, g.labels, b, a)
		}
	}
	// About 50 frames of RTP went to ffmpeg, the stream's totals keep
	// them after it left.
	if b, a := before.must(t, "ipcamd_rtsp_stream_frames_total", `stream="/main"`),
		after.must(t, "ipcamd_rtsp_stream_frames_total", `stream="/main"`); a-b < 40 {
		t.Errorf("the stream counts %v frames sent while ffmpeg decoded %d", a-b, p.frames)
	}
	if fps := after.must(t, "ipcamd_encoder_fps", `stream="main"`); fps <= 0 {
		t.Errorf("encoder fps %v while the test pattern runs", fps)
	}
	if bps := after.must(t, "ipcamd_encoder_bitrate_bits_per_second", `stream="main"`); bps <= 0 {
		t.Errorf("encoder bitrate %v while the test pattern runs", bps)
	}

	// One ONVIF request is counted under its operation and result.
	op := []string{`service="device"`, `operation="GetDeviceInformation"`, `result="ok"`}
	n0, _ := after.sum("ipcamd_onvif_requests_total", op...)
	resp, body := soapPost(t, srv.HTTP+"/onvif/device_service", `<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GetDeviceInformation: %s\n%s", resp.Status, tail(body, 10))
	}
	if n1 := scrapeMetrics(t, metricsURL).must(t, "ipcamd_onvif_requests_total", op...); n1 != n0+1 {
		t.Errorf("ipcamd_onvif_requests_total%v went from %v to %v after one request, want +1", op, n0, n1)
	}
}
