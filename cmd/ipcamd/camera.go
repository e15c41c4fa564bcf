package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	capture "github.com/ipcamd/ipcamd/capture/v4l2"
	"github.com/ipcamd/ipcamd/encoder/software"
	"github.com/ipcamd/ipcamd/encoder/yuv"
	"github.com/ipcamd/ipcamd/onvif"
)

// rawPreference is the order in which raw formats are tried when the
// camera's H.264 is not wanted.
var rawPreference = []string{"NV12", "YU12", "YUYV", "UYVY", "MJPG", "JPEG"}

// openCamera opens the V4L2 camera of spec and chooses the pipeline, as
// docs/BOARDS.md describes: the camera's own H.264 (passthrough), or raw
// frames through an encoder.
func openCamera(spec SourceSpec, cfg Config, log *slog.Logger) (*source, error) {
	kind := cfg.Encoder.Kind
	info, err := capture.Describe(spec.Path)
	if err != nil {
		return nil, err
	}
	opts := capture.Options{Width: spec.Width, Height: spec.Height, FPS: spec.FPS, Logger: log}
	if kind == "software" || kind == "hardware" {
		// Raw frames are needed: the best raw format the camera has.
		if opts.Format = firstFormat(info, rawPreference); opts.Format == "" {
			return nil, fmt.Errorf("encoder.kind %s: camera %s has no raw or MJPEG format", kind, spec.Path)
		}
	}
	cam, err := capture.Open(spec.Path, opts)
	if err != nil {
		return nil, err
	}
	m := cam.Mode()
	fps := m.FPS()
	if fps <= 0 {
		fps = cmpF(spec.FPS, capture.DefaultFPS)
	}
	isH264 := m.Format.String() == "H264"
	switch {
	case isH264 && (kind == "auto" || kind == "passthrough"):
		log.Info("pipeline: the camera's own H.264, passed through", "camera", spec.Path, "mode", m.String())
		p := &passthroughSource{cam: cam, log: log}
		counts := &cameraCounts{}
		counts.use(cam)
		return &source{videoSource: p, camera: counts, pipeline: "camera H.264 (" + m.String() + "), passed through",
			noRaw: "the camera sends H.264, so there are no raw frames to take a snapshot from",
			settings: func() (streamSettings, streamSettings) {
				return streamSettings{Width: m.Width, Height: m.Height, FPS: fps}, streamSettings{}
			}}, nil
	case kind == "passthrough":
		cam.Close()
		return nil, fmt.Errorf("encoder.kind passthrough: camera %s gives %s, not H.264", spec.Path, m.Format)
	}

	ck := &cameraKind{path: spec.Path, format: m.Format.String(), info: info, first: cam, counts: &cameraCounts{}, log: log}
	newMain, what, err := mainEncoder(cfg, log)
	if err != nil {
		cam.Close()
		return nil, err
	}
	main, sub := settingsFor(SourceSpec{Width: m.Width, Height: m.Height, FPS: fps}, cfg.Encoder)
	p, err := newEncodedSource(ck, newMain, main, sub, cfg.Encoder, log)
	if err != nil {
		cam.Close()
		return nil, err
	}
	log.Info("pipeline: camera frames through the "+what, "camera", spec.Path, "mode", m.String())
	src := &source{videoSource: p, camera: ck.counts, pipeline: "camera " + m.String() + " → " + what, requestIDR: p.RequestIDR, setBitrate: p.setBitrate, latest: &p.latest,
		settings: p.settings, reconfigure: p.reconfigure, setMotion: p.setMotion,
		setLuma: p.setLuma, setGrayscale: p.setGrayscale,
		resolutions: ck.resolutions(), maxFPS: ck.maxFPS()}
	if sub.Width > 0 {
		src.setSubOutput = func(w auWriter) { p.subOut = w }
		src.subRequestIDR = p.subRequestIDR
		src.subSetBitrate = p.subSetBitrate
	}
	return src, nil
}

func firstFormat(info capture.DeviceInfo, names []string) string {
	for _, n := range names {
		for _, f := range info.Formats {
			if f.FourCC.String() == n {
				return n
			}
		}
	}
	return ""
}

func cmpF(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// passthroughSource streams a camera's own H.264.
type passthroughSource struct {
	cam *capture.Source
	asm capture.H264Assembler
	log *slog.Logger
}

func (p *passthroughSource) Run(ctx context.Context, w auWriter) error {
	defer p.cam.Close()
	first := time.Duration(-1)
	return p.cam.Run(ctx, func(f *capture.Frame) error {
		if first < 0 {
			first = f.Timestamp
		}
		au, err := p.asm.AccessUnit(f.Data, f.Timestamp-first)
		if err != nil {
			return err
		}
		return w.WriteAccessUnit(&au)
	})
}

// cameraKind opens a V4L2 camera as a raw source in one format, at the
// sizes and rates it offers for it.
type cameraKind struct {
	path   string
	format string
	info   capture.DeviceInfo
	first  *capture.Source // opened at start, used by the first open
	counts *cameraCounts
	log    *slog.Logger
}

// sizes returns the format's frame sizes.
func (k *cameraKind) sizes() []capture.SizeInfo {
	for _, f := range k.info.Formats {
		if f.FourCC.String() == k.format {
			return f.Sizes
		}
	}
	return nil
}

func (k *cameraKind) check(main streamSettings) error {
	for _, s := range k.sizes() {
		fs := s.FrameSize
		if main.Width < fs.MinWidth || main.Width > fs.MaxWidth || main.Height < fs.MinHeight || main.Height > fs.MaxHeight ||
			(fs.StepWidth > 0 && (main.Width-fs.MinWidth)%fs.StepWidth != 0) ||
			(fs.StepHeight > 0 && (main.Height-fs.MinHeight)%fs.StepHeight != 0) {
			continue
		}
		if max := maxRate(s.Intervals); max > 0 && main.FPS > max+0.01 {
			return fmt.Errorf("the camera gives at most %g fps at %dx%d", max, main.Width, main.Height)
		}
		return nil
	}
	return fmt.Errorf("the camera has no %dx%d %s mode", main.Width, main.Height, k.format)
}

func maxRate(ivs []capture.IntervalRange) float64 {
	best := 0.0
	for _, iv := range ivs {
		best = math.Max(best, iv.Min.FPS()) // the shortest interval
	}
	return best
}

// resolutions lists the format's discrete sizes for ONVIF clients.
func (k *cameraKind) resolutions() []onvif.Resolution {
	var rs []onvif.Resolution
	for _, s := range k.sizes() {
		if s.Discrete() && s.MinWidth%2 == 0 && s.MinHeight%2 == 0 {
			rs = append(rs, onvif.Resolution{Width: s.MinWidth, Height: s.MinHeight})
		}
	}
	if len(rs) == 0 { // stepwise: the usual sizes within the range
		for _, r := range mainResolutions {
			if k.check(streamSettings{Width: r.Width, Height: r.Height, FPS: 1}) == nil {
				rs = append(rs, r)
			}
		}
	}
	return rs
}

// maxFPS is the highest rate of any size of the format.
func (k *cameraKind) maxFPS() int {
	best := 0.0
	for _, s := range k.sizes() {
		best = math.Max(best, maxRate(s.Intervals))
	}
	return int(best + 0.5)
}

func (k *cameraKind) open(main streamSettings) (rawSource, error) {
	cam := k.first
	k.first = nil
	if cam != nil {
		if m := cam.Mode(); m.Width != main.Width || m.Height != main.Height || math.Abs(m.FPS()-main.FPS) > 0.01 && m.FPS() > 0 {
			cam.Close()
			cam = nil
		}
	}
	if cam == nil {
		var err error
		cam, err = capture.Open(k.path, capture.Options{Width: main.Width, Height: main.Height, FPS: main.FPS,
			Format: k.format, Logger: k.log})
		if err != nil {
			return nil, err
		}
	}
	if m := cam.Mode(); m.Width != main.Width || m.Height != main.Height {
		cam.Close()
		return nil, fmt.Errorf("camera %s gives %dx%d, not %dx%d", k.path, m.Width, m.Height, main.Width, main.Height)
	}
	k.counts.use(cam)
	return &cameraRaw{cam: cam}, nil
}

// cameraCounts adds up the failures and recoveries of the camera sources
// opened one after another (a new one for each change of mode), for
// /metrics.
type cameraCounts struct {
	mu              sync.Mutex
	errors, reopens uint64 // of the sources replaced
	cur             *capture.Source
}

// use makes s the current source.
func (c *cameraCounts) use(s *capture.Source) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		c.errors += c.cur.Errors()
		c.reopens += c.cur.Reopens()
	}
	c.cur = s
}

// Errors counts device failures (I/O errors, unplugs, stalls).
func (c *cameraCounts) Errors() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return c.errors
	}
	return c.errors + c.cur.Errors()
}

// Reopens counts recoveries from them.
func (c *cameraCounts) Reopens() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return c.reopens
	}
	return c.reopens + c.cur.Reopens()
}

// cameraRaw turns camera frames into I420 pictures: in place for YU12,
// converting the chroma for NV12, and converting the whole picture for
// packed 4:2:2 and MJPEG.
type cameraRaw struct {
	cam *capture.Source
	pic picture
	buf yuv.I420 // converted planes, reused
}

func (c *cameraRaw) Run(ctx context.Context, fn func(*picture) error) error {
	defer c.cam.Close()
	return c.cam.Run(ctx, func(f *capture.Frame) error {
		if err := c.convert(f); err != nil {
			return err
		}
		c.pic.PTS, c.pic.Wall, c.pic.Discontinuity = f.Timestamp, time.Now(), f.Discontinuity
		return fn(&c.pic)
	})
}

func (c *cameraRaw) convert(f *capture.Frame) error {
	w, h := f.Width&^1, f.Height&^1
	var err error
	switch name := f.Format.String(); name {
	case "YU12":
		if len(f.Planes) != 3 {
			return fmt.Errorf("YU12 frame with %d planes", len(f.Planes))
		}
		c.pic.Frame = software.Frame{Format: software.I420, Width: w, Height: h,
			Y: f.Planes[0].Data, U: f.Planes[1].Data, V: f.Planes[2].Data,
			YStride: f.Planes[0].Stride, CStride: f.Planes[1].Stride}
		return nil
	case "NV12", "NV21":
		if len(f.Planes) != 2 {
			return fmt.Errorf("%s frame with %d planes", name, len(f.Planes))
		}
		c.buf.Alloc(w, h)
		err = yuv.ChromaFromSemiPlanar(&c.buf, f.Planes[1].Data, f.Planes[1].Stride, name == "NV21")
		c.pic.Frame = software.Frame{Format: software.I420, Width: w, Height: h,
			Y: f.Planes[0].Data, U: c.buf.U, V: c.buf.V, YStride: f.Planes[0].Stride, CStride: c.buf.CStride}
		return err
	case "YUYV", "UYVY":
		order := yuv.YUYV
		if name == "UYVY" {
			order = yuv.UYVY
		}
		c.buf.Alloc(w, h)
		err = yuv.FromPacked422(&c.buf, f.Planes[0].Data, f.Planes[0].Stride, order)
	case "MJPG", "JPEG":
		err = yuv.FromJPEG(&c.buf, f.Data, f.Width, f.Height)
	default:
		return fmt.Errorf("camera format %s cannot be encoded", name)
	}
	c.pic.Frame = software.Frame{Format: software.I420, Width: c.buf.Width, Height: c.buf.Height,
		Y: c.buf.Y, U: c.buf.U, V: c.buf.V, YStride: c.buf.YStride, CStride: c.buf.CStride}
	return err
}
