package main

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/onvif"
	"github.com/ipcamd/ipcamd/rtsp"
	"github.com/ipcamd/ipcamd/rtsp/push"
)

// metricsContentType is the Prometheus text exposition format.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// captureCounter is what /metrics reads of a camera: *v4l2.Source.
type captureCounter interface {
	// Errors counts device failures, Reopens the recoveries from them.
	Errors() uint64
	Reopens() uint64
}

// metricSources is what /metrics reports on; nil fields are skipped.
type metricSources struct {
	rtsp    *rtsp.Server
	streams []*rtsp.Stream
	// encoder and subEncoder see the main and the sub stream's access
	// units on their way to the rings.
	encoder    *healthWriter
	subEncoder *healthWriter
	onvif      *onvif.Server
	board      *board.Board
	camera     captureCounter
	relays     []relay
	// start is when the service started, for ipcamd_uptime_seconds.
	start time.Time
}

// metricsHandler serves the metrics of ms in the Prometheus text format.
// Every scrape reads the counters afresh; nothing is sampled in between.
func metricsHandler(ms metricSources) http.Handler {
	set := metrics.NewSet()
	set.RegisterMetricsWriter(func(w io.Writer) { writeMetrics(w, ms) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", metricsContentType)
		w.Header().Set("Cache-Control", "no-store")
		set.WritePrometheus(w)
	})
}

// writeMetrics writes the metrics of ms.
func writeMetrics(w io.Writer, ms metricSources) {
	metrics.WriteGaugeUint64(w, fmt.Sprintf(`ipcamd_build_info{version=%s,goversion=%s}`,
		labelValue(versionString()), labelValue(runtime.Version())), 1)
	if !ms.start.IsZero() {
		metrics.WriteGaugeFloat64(w, "ipcamd_uptime_seconds", time.Since(ms.start).Seconds())
	}
	writeEncoderMetrics(w, "main", ms.encoder)
	writeEncoderMetrics(w, "sub", ms.subEncoder)
	if ms.camera != nil {
		metrics.WriteCounterUint64(w, "ipcamd_capture_errors_total", ms.camera.Errors())
		metrics.WriteCounterUint64(w, "ipcamd_capture_reopens_total", ms.camera.Reopens())
	}
	for _, s := range ms.streams {
		st := s.Stats()
		l := "{stream=" + labelValue(st.Path) + "}"
		metrics.WriteGaugeUint64(w, "ipcamd_rtsp_stream_clients"+l, uint64(st.Clients))
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_stream_frames_total"+l, st.FramesSent)
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_stream_packets_total"+l, st.PacketsSent)
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_stream_bytes_total"+l, st.BytesSent)
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_stream_frames_dropped_total"+l, st.FramesDropped)
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_stream_evictions_total"+l, st.Evicted)
	}
	if ms.rtsp != nil {
		st := ms.rtsp.Stats()
		metrics.WriteGaugeUint64(w, "ipcamd_rtsp_sessions", uint64(len(st.Sessions)))
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_evictions_total", st.Evicted)
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_session_timeouts_total", st.Expired)
		metrics.WriteCounterUint64(w, "ipcamd_rtsp_redirects_total", st.Redirected)
		for _, s := range st.Sessions {
			client := "" // a multicast session's packets go to its group
			if s.Client.IsValid() {
				client = s.Client.String()
			}
			l := fmt.Sprintf("{stream=%s,session=%s,transport=%s,client=%s}",
				labelValue(s.Path), labelValue(s.ID), labelValue(s.Transport), labelValue(client))
			metrics.WriteCounterUint64(w, "ipcamd_rtsp_session_frames_total"+l, s.FramesSent)
			metrics.WriteCounterUint64(w, "ipcamd_rtsp_session_packets_total"+l, s.PacketsSent)
			metrics.WriteCounterUint64(w, "ipcamd_rtsp_session_bytes_total"+l, s.BytesSent)
			metrics.WriteCounterUint64(w, "ipcamd_rtsp_session_frames_dropped_total"+l, s.FramesDropped)
			metrics.WriteGaugeFloat64(w, "ipcamd_rtsp_session_rtcp_fraction_lost"+l, s.FractionLost)
			metrics.WriteGaugeUint64(w, "ipcamd_rtsp_session_rtcp_packets_lost"+l, uint64(s.TotalLost))
			metrics.WriteGaugeFloat64(w, "ipcamd_rtsp_session_rtcp_jitter_seconds"+l, s.Jitter.Seconds())
		}
	}
	if ms.onvif != nil {
		for _, rc := range ms.onvif.Requests() {
			metrics.WriteCounterUint64(w, fmt.Sprintf("ipcamd_onvif_requests_total{service=%s,operation=%s,result=%s}",
				labelValue(rc.Service), labelValue(rc.Operation), labelValue(rc.Result)), rc.Count)
		}
	}
	if ms.board != nil {
		metrics.WriteCounterUint64(w, "ipcamd_daynight_switches_total", ms.board.Switches())
		night := uint64(0)
		if ms.board.Night() {
			night = 1
		}
		metrics.WriteGaugeUint64(w, "ipcamd_daynight_night", night)
	}
	for _, r := range ms.relays {
		st := r.Status()
		l := "{url=" + labelValue(st.URL) + ",stream=" + labelValue(r.stream) + "}"
		publishing := uint64(0)
		if st.State == push.StatePublishing {
			publishing = 1
		}
		metrics.WriteGaugeUint64(w, "ipcamd_push_publishing"+l, publishing)
		metrics.WriteCounterUint64(w, "ipcamd_push_frames_total"+l, st.FramesSent)
		metrics.WriteCounterUint64(w, "ipcamd_push_bytes_total"+l, st.BytesSent)
		metrics.WriteCounterUint64(w, "ipcamd_push_frames_dropped_total"+l, st.FramesDropped)
		metrics.WriteCounterUint64(w, "ipcamd_push_reconnects_total"+l, st.Reconnects)
	}
	metrics.WriteProcessMetrics(w)
}

// writeEncoderMetrics writes the counts and rates of one stream's access
// units; nothing if h is nil.
func writeEncoderMetrics(w io.Writer, stream string, h *healthWriter) {
	if h == nil {
		return
	}
	l := "{stream=" + labelValue(stream) + "}"
	frames, bytes, idrs := h.counts()
	fps, bps := h.rate.rates(time.Now().UnixNano(), frames, bytes)
	metrics.WriteCounterUint64(w, "ipcamd_encoder_frames_total"+l, frames)
	metrics.WriteCounterUint64(w, "ipcamd_encoder_bytes_total"+l, bytes)
	metrics.WriteCounterUint64(w, "ipcamd_encoder_idr_frames_total"+l, idrs)
	metrics.WriteGaugeFloat64(w, "ipcamd_encoder_fps"+l, fps)
	metrics.WriteGaugeFloat64(w, "ipcamd_encoder_bitrate_bits_per_second"+l, bps)
}

// labelValue quotes s as a Prometheus label value.
func labelValue(s string) string {
	return `"` + labelEscaper.Replace(s) + `"`
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// Rates are computed over the last rateSpan or so, from one sample of the
// counts a second.
const (
	rateSamples = 6
	rateSpan    = time.Duration(rateSamples) * time.Second
	// rateMinSpan is the shortest time a rate is computed over; a
	// shorter one reads 0.
	rateMinSpan = 500 * time.Millisecond
)

// rateWindow keeps a sample of a healthWriter's counts a second, taken
// as access units go through, for the frame rate and bit rate of the last
// few seconds. Most calls of note cost one atomic load.
type rateWindow struct {
	next atomic.Int64 // unix nanoseconds of the next sample

	mu      sync.Mutex
	samples [rateSamples]rateSample // a ring, oldest at head once full
	head, n int
}

type rateSample struct {
	at            int64 // unix nanoseconds
	frames, bytes uint64
}

// note takes a sample of h's counts at now (unix nanoseconds) if a
// second has passed since the last one.
func (r *rateWindow) note(now int64, h *healthWriter) {
	if now < r.next.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now < r.next.Load() {
		return
	}
	r.next.Store(now + int64(time.Second))
	s := rateSample{at: now, frames: h.frames.Load(), bytes: h.bytes.Load()}
	if r.n < rateSamples {
		r.samples[(r.head+r.n)%rateSamples] = s
		r.n++
		return
	}
	r.samples[r.head] = s
	r.head = (r.head + 1) % rateSamples
}

// rates returns the frame rate and the bit rate, per second, from the
// oldest sample of the last rateSpan to now, when the counts are frames
// and bytes. Both are 0 when no access unit came for rateSpan.
func (r *rateWindow) rates(now int64, frames, bytes uint64) (fps, bps float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.n {
		s := r.samples[(r.head+i)%rateSamples]
		if now-s.at > int64(rateSpan) {
			continue
		}
		span := time.Duration(now - s.at)
		if span < rateMinSpan || frames < s.frames {
			return 0, 0
		}
		sec := span.Seconds()
		return float64(frames-s.frames) / sec, float64(bytes-s.bytes) * 8 / sec
	}
	return 0, 0
}
