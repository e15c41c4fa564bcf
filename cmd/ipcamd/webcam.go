package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/onvif"
	"github.com/ipcamd/ipcamd/rtsp"
	"github.com/ipcamd/ipcamd/web"
)

// webState is what the web page saves besides the encoder settings
// (media.yaml) and the users (users.yaml).
type webState struct {
	DayNight   string   `yaml:"day_night,omitempty"`
	NTPServers []string `yaml:"ntp_servers,omitempty"`
}

func webStatePath(stateDir string) string { return filepath.Join(stateDir, "web.yaml") }

func loadWebState(stateDir string) (webState, error) {
	var st webState
	b, err := os.ReadFile(webStatePath(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := yaml.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", webStatePath(stateDir), err)
	}
	return st, nil
}

// ntpServersPath is the list of NTP servers, one per line, that the
// firmware's ntpd is started with (buildroot S49ntp).
func ntpServersPath(stateDir string) string { return filepath.Join(stateDir, "ntp.servers") }

// Bounds of the encoder settings offered on the web page.
const (
	webMinBitrate = 64000
	webMaxBitrate = 16000000
	webMaxGOP     = 300
)

// webCamera is the camera as package web sees it.
type webCamera struct {
	cfg                         Config
	src                         *source
	srv                         *rtsp.Server
	brd                         *board.Board
	onvif                       *onvif.Server // nil without ONVIF
	relays                      []relay
	health                      *healthWriter
	start                       time.Time
	rtspAddr, tlsAddr, httpAddr net.Addr
	restart                     func()
	ntp                         *ntpRunner // nil: NTP servers are only saved
	log                         *slog.Logger

	mu      sync.Mutex // guards state, the client samples and the settings in flight
	state   webState
	clients map[string]clientSample

	picMu sync.Mutex    // guards the pictures, apart from the rest
	frame testsrc.Frame // the latest picture
	small testsrc.Frame // frame scaled down for the live view
}

type clientSample struct {
	at    time.Time
	bytes uint64
	rate  int
}

func newWebCamera(c *webCamera) (*webCamera, error) {
	st, err := loadWebState(c.cfg.StateDir)
	if err != nil {
		c.log.Warn("ignoring the saved web settings", "err", err)
	}
	c.state = st
	c.clients = map[string]clientSample{}
	if c.ntp != nil {
		c.ntp.set(st.NTPServers)
	}
	if m, ok := dayNightModes[st.DayNight]; ok && c.brd != nil {
		if err := c.brd.SetMode(m); err != nil {
			c.log.Warn("restoring the day/night mode", "err", err)
		}
	}
	return c, nil
}

var dayNightModes = map[string]board.Mode{"auto": board.ModeAuto, "day": board.ModeDay, "night": board.ModeNight}

func dayNightName(m board.Mode) string {
	for k, v := range dayNightModes {
		if v == m {
			return k
		}
	}
	return "auto"
}

func resolutionStrings(rs []onvif.Resolution) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%dx%d", r.Width, r.Height)
	}
	return out
}

func toWeb(s streamSettings) web.StreamSettings {
	return web.StreamSettings{Width: s.Width, Height: s.Height, FPS: s.FPS, Bitrate: s.Bitrate, GOP: s.GOP}
}

func fromWeb(s web.StreamSettings) streamSettings {
	return streamSettings{Width: s.Width, Height: s.Height, FPS: s.FPS, Bitrate: s.Bitrate, GOP: s.GOP}
}

// Settings implements web.Camera.
func (c *webCamera) Settings() web.Settings {
	main, sub := c.src.settings()
	c.mu.Lock()
	ntp := slices.Clone(c.state.NTPServers)
	c.mu.Unlock()
	if ntp == nil {
		ntp = []string{}
	}
	s := web.Settings{
		Main:     toWeb(main),
		DayNight: dayNightName(c.brd.Mode()),
		Time:     web.TimeSettings{NTPServers: ntp},
		Options: web.Options{
			Fixed:           c.src.reconfigure == nil,
			MainResolutions: resolutionStrings(c.src.resolutions),
			SubResolutions:  resolutionStrings(subResolutions),
			MaxFPS:          max(c.src.maxFPS, 1),
			MinBitrate:      webMinBitrate, MaxBitrate: webMaxBitrate,
			MinGOP: 1, MaxGOP: webMaxGOP,
			DayNightModes: []string{"auto", "day", "night"},
		},
	}
	if s.Options.Fixed {
		s.Options.MainResolutions = []string{fmt.Sprintf("%dx%d", main.Width, main.Height)}
		s.Options.SubResolutions = []string{}
		s.Options.MaxFPS = max(int(main.FPS+0.5), 1)
	}
	if sub.Width > 0 {
		w := toWeb(sub)
		s.Sub = &w
	}
	return s
}

// ApplySettings implements web.Camera: the encoder settings go live and
// to media.yaml (as ONVIF's do), the day/night mode to the board, and
// both with the NTP servers to web.yaml.
func (c *webCamera) ApplySettings(s web.Settings) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	oldMain, oldSub := c.src.settings()
	main, sub := fromWeb(s.Main), oldSub
	if s.Sub != nil {
		sub = fromWeb(*s.Sub)
	}
	if main != oldMain || sub != oldSub {
		if c.src.reconfigure == nil {
			return &web.FieldError{Field: "main", Msg: "the encoder settings of this device are fixed"}
		}
		if err := applyEncoder(c.cfg, c.src, main, sub, c.log); err != nil {
			if errors.Is(err, errSaving) {
				return err
			}
			return &web.FieldError{Field: "main", Msg: err.Error()}
		}
		if c.onvif != nil {
			c.onvif.SetEncoding("main", main.Width, main.Height, max(1, int(main.FPS+0.5)), main.Bitrate/1000, main.GOP)
			if sub.Width > 0 {
				c.onvif.SetEncoding("sub", sub.Width, sub.Height, max(1, int(sub.FPS+0.5)), sub.Bitrate/1000, sub.GOP)
			}
		}
		c.log.Info("web: encoder settings changed", "main", fmt.Sprintf("%dx%d@%g %d bit/s gop %d", main.Width, main.Height, main.FPS, main.Bitrate, main.GOP))
	}
	if m := dayNightModes[s.DayNight]; m != c.brd.Mode() {
		if err := c.brd.SetMode(m); err != nil {
			return &web.FieldError{Field: "day_night", Msg: err.Error()}
		}
	}
	next := webState{DayNight: s.DayNight, NTPServers: slices.Clone(s.Time.NTPServers)}
	if next.DayNight == c.state.DayNight && slices.Equal(next.NTPServers, c.state.NTPServers) {
		return nil
	}
	b, err := yaml.Marshal(next)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.cfg.StateDir, 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(webStatePath(c.cfg.StateDir), b, 0o600); err != nil {
		return fmt.Errorf("saving the settings: %w", err)
	}
	if !slices.Equal(next.NTPServers, c.state.NTPServers) {
		var lines []byte
		for _, h := range next.NTPServers {
			lines = append(lines, h+"\n"...)
		}
		if err := writeFileAtomic(ntpServersPath(c.cfg.StateDir), lines, 0o644); err != nil {
			return fmt.Errorf("saving the NTP servers: %w", err)
		}
		if c.ntp != nil {
			c.ntp.set(next.NTPServers)
		}
	}
	c.state = next
	return nil
}

// SetTime implements web.Camera: it sets the system clock (CAP_SYS_TIME).
func (c *webCamera) SetTime(t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		return fmt.Errorf("settimeofday: %w", err)
	}
	c.log.Info("system clock set", "utc", t.UTC())
	return nil
}

// JPEG implements web.Camera.
func (c *webCamera) JPEG(dst []byte, maxWidth int) ([]byte, error) {
	if c.src.latest == nil {
		return nil, fmt.Errorf("%w: %s", web.ErrNoPicture, c.src.noRaw)
	}
	c.picMu.Lock()
	defer c.picMu.Unlock()
	if !c.src.latest.Snapshot(&c.frame) {
		return nil, web.ErrNoPicture
	}
	f := &c.frame
	if maxWidth > 0 && f.Width > maxWidth {
		downscale(&c.small, f, (f.Width+maxWidth-1)/maxWidth)
		f = &c.small
	}
	buf := jpegBuffer(dst)
	if err := testsrc.WriteJPEG(&buf, f, 80); err != nil {
		return nil, err
	}
	return buf, nil
}

// Reboot implements web.Camera.
func (c *webCamera) Reboot() error {
	c.restart()
	return nil
}

// FactoryReset implements web.Camera.
func (c *webCamera) FactoryReset() error {
	if err := factoryReset(c.cfg); err != nil {
		return err
	}
	c.restart()
	return nil
}

// Status implements web.Camera.
func (c *webCamera) Status() web.Status {
	now := time.Now()
	main, sub := c.src.settings()
	st := web.Status{
		Version:       versionString(),
		UptimeSeconds: now.Sub(c.start).Seconds(),
		Time:          now.UTC().Truncate(time.Second),
		Source:        c.cfg.Source,
		Pipeline:      c.src.pipeline,
		Encoder:       c.encoderRate(now),
		DayNight:      web.DayNightStatus{Mode: dayNightName(c.brd.Mode()), Night: c.brd.Night()},
		Clients:       []web.ClientStatus{},
		Relays:        []web.RelayStatus{},
	}
	if st.Source == "" {
		st.Source = "testsrc"
	}
	if urls := serviceURLs("http", c.httpAddr, "/onvif/device_service"); len(urls) > 0 && c.onvif != nil {
		st.ONVIFURL = urls[0]
	}
	stats := c.srv.Stats()
	perPath := map[string]int{}
	c.mu.Lock()
	seen := map[string]bool{}
	for _, x := range stats.Sessions {
		perPath[x.Path]++
		seen[x.ID] = true
		prev, ok := c.clients[x.ID]
		rate := prev.rate
		if ok && now.Sub(prev.at) >= time.Second {
			rate = int(float64(x.BytesSent-prev.bytes) * 8 / now.Sub(prev.at).Seconds())
			c.clients[x.ID] = clientSample{at: now, bytes: x.BytesSent, rate: rate}
		} else if !ok {
			c.clients[x.ID] = clientSample{at: now, bytes: x.BytesSent}
		}
		addr := ""
		if x.Client.IsValid() {
			addr = x.Client.String()
		}
		st.Clients = append(st.Clients, web.ClientStatus{
			Session: x.ID, Address: addr, Path: x.Path, Transport: x.Transport, SRTP: x.SRTP, Playing: x.Playing,
			Bitrate: rate, PacketsSent: x.PacketsSent, BytesSent: x.BytesSent, FramesDropped: x.FramesDropped,
			FractionLost: x.FractionLost, JitterMS: float64(x.Jitter) / float64(time.Millisecond),
		})
	}
	for id := range c.clients {
		if !seen[id] {
			delete(c.clients, id)
		}
	}
	c.mu.Unlock()
	stream := func(name, path string, s streamSettings) web.StreamStatus {
		ss := web.StreamStatus{Name: name, Path: path, Width: s.Width, Height: s.Height, FPS: s.FPS,
			Bitrate: s.Bitrate, GOP: s.GOP, Clients: perPath[path]}
		ss.URLs = append(serviceURLs("rtsp", c.rtspAddr, path), serviceURLs("rtsps", c.tlsAddr, path)...)
		if ss.URLs == nil {
			ss.URLs = []string{}
		}
		return ss
	}
	st.Streams = []web.StreamStatus{stream("main", c.cfg.RTSP.Path, main)}
	if sub.Width > 0 {
		st.Streams = append(st.Streams, stream("sub", c.cfg.RTSP.SubPath, sub))
	}
	for _, r := range c.relays {
		ps := r.Status()
		st.Relays = append(st.Relays, web.RelayStatus{URL: ps.URL, Stream: r.stream, State: ps.State.String(), LastError: ps.LastError})
	}
	return st
}

// encoderRate is the main stream's access units, measured over the last
// 5 s by its ring writer (as /metrics reports them).
func (c *webCamera) encoderRate(now time.Time) web.EncoderStatus {
	frames, bytes, idrs := c.health.counts()
	fps, bps := c.health.rate.rates(now.UnixNano(), frames, bytes)
	return web.EncoderStatus{FPS: fps, Bitrate: int(bps), IDRCount: idrs}
}

// downscale makes dst src shrunk by the integer factor k, each sample the
// mean of a k×k block, reusing dst's planes.
func downscale(dst, src *testsrc.Frame, k int) {
	dst.Width, dst.Height = (src.Width/k)&^1, (src.Height/k)&^1
	dst.Wall, dst.PTS, dst.Seq = src.Wall, src.PTS, src.Seq
	shrinkPlane(&dst.Y, src.Y, src.Width, dst.Width, dst.Height, k)
	shrinkPlane(&dst.U, src.U, src.Width/2, dst.Width/2, dst.Height/2, k)
	shrinkPlane(&dst.V, src.V, src.Width/2, dst.Width/2, dst.Height/2, k)
}

func shrinkPlane(dst *[]byte, src []byte, stride, w, h, k int) {
	if cap(*dst) < w*h {
		*dst = make([]byte, w*h)
	}
	d := (*dst)[:w*h]
	n := k * k
	for y := range h {
		for x := range w {
			sum := 0
			for dy := range k {
				row := src[(y*k+dy)*stride+x*k:]
				for dx := range k {
					sum += int(row[dx])
				}
			}
			d[y*w+x] = byte((sum + n/2) / n)
		}
	}
	*dst = d
}
