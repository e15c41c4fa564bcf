package v4l2m2m

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// Lab tests run against vicodec, the kernel's virtual stateful FWHT
// encoder, inside the arm64 QEMU lab (lab/, `make lab`), which sets
// IPCAMD_LAB=1. Elsewhere they return at once.

// Size of the lab frames: vicodec's minimum is 640x360.
const labW, labH = 640, 360

func lab(t *testing.T) bool {
	t.Helper()
	if os.Getenv("IPCAMD_LAB") != "1" {
		t.Log("IPCAMD_LAB is not 1: lab test not run")
		return false
	}
	return true
}

func labLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// vicodecEncoder returns the vicodec encoder node, failing the test if
// there is none.
func vicodecEncoder(t *testing.T) DeviceInfo {
	t.Helper()
	d, err := Detect(v4l2.PixFmtFWHT)
	if err != nil {
		paths, _ := filepath.Glob(devGlob)
		for _, p := range paths {
			info, perr := Probe(p)
			t.Logf("%s: %v %v", p, info, perr)
		}
		t.Fatalf("vicodec encoder not found (is the vicodec module loaded?): %v", err)
	}
	if d.Driver != "vicodec" {
		t.Fatalf("FWHT encoder %v is not vicodec", d)
	}
	return d
}

func labOptions(t *testing.T) Options {
	return Options{Width: labW, Height: labH, FPS: 30, Codec: v4l2.PixFmtFWHT, GOP: 10, Logger: labLogger(t)}
}

// frameSource makes YU12 frames with a moving pattern; one buffer is
// reused, as a camera pipeline would.
type frameSource struct {
	y, u, v []byte
}

func newFrameSource() *frameSource {
	return &frameSource{y: make([]byte, labW*labH), u: make([]byte, labW*labH/4), v: make([]byte, labW*labH/4)}
}

func (s *frameSource) frame(i int) RawFrame {
	for r := 0; r < labH; r++ {
		for c := 0; c < labW; c++ {
			s.y[r*labW+c] = byte(c + r + 4*i)
		}
	}
	// A moving bright square.
	x0, y0 := (i*16)%(labW-64), (i*8)%(labH-64)
	for r := y0; r < y0+64; r++ {
		for c := x0; c < x0+64; c++ {
			s.y[r*labW+c] = 235
		}
	}
	for k := range s.u {
		s.u[k], s.v[k] = byte(128+i), byte(128-i)
	}
	return RawFrame{Planes: [3][]byte{s.y, s.u, s.v}, Timestamp: labTS(i)}
}

// labTS is frame i's timestamp: 1 s + i/30 s, in whole microseconds
// (the resolution of a V4L2 timestamp).
func labTS(i int) time.Duration {
	return time.Second + time.Duration(i)*33333*time.Microsecond
}

// fwhtIFrame reports whether an FWHT frame is an I-frame
// (struct fwht_cframe_hdr: magic1, magic2, version, width, height,
// flags, all big-endian; V4L2_FWHT_FL_I_FRAME is bit 10).
func fwhtIFrame(t *testing.T, data []byte) bool {
	t.Helper()
	if len(data) < 24 || binary.BigEndian.Uint32(data[0:]) != 0x4f4f4f4f || binary.BigEndian.Uint32(data[4:]) != 0xffffffff {
		t.Fatalf("packet of %d bytes does not start with the FWHT magic: % x", len(data), data[:min(len(data), 24)])
	}
	if w, h := binary.BigEndian.Uint32(data[12:]), binary.BigEndian.Uint32(data[16:]); w != labW || h != labH {
		t.Errorf("FWHT header says %dx%d, want %dx%d", w, h, labW, labH)
	}
	return binary.BigEndian.Uint32(data[20:])&(1<<10) != 0
}

type got struct {
	ts     time.Duration
	size   int
	iframe bool
	key    bool
}

// encodeConcurrently feeds frames first..first+n-1 from one goroutine
// and takes n packets with Next in this one.
func encodeConcurrently(t *testing.T, ctx context.Context, enc *Encoder, first, n int) []got {
	t.Helper()
	src := newFrameSource()
	errc := make(chan error, 1)
	go func() {
		for i := first; i < first+n; i++ {
			if err := enc.Encode(ctx, src.frame(i)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	var out []got
	for len(out) < n {
		p, err := enc.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d packets: %v (producer: %v)", len(out), err, drainErr(errc))
		}
		out = append(out, got{p.Timestamp, len(p.Data), fwhtIFrame(t, p.Data), p.KeyFrame})
	}
	if err := <-errc; err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return out
}

func drainErr(c chan error) error {
	select {
	case err := <-c:
		return err
	default:
		return nil
	}
}

// checkPackets checks one packet per frame, non-empty, with the frames'
// timestamps in order.
func checkPackets(t *testing.T, out []got, first, n int) {
	t.Helper()
	if len(out) != n {
		t.Fatalf("%d packets, want %d", len(out), n)
	}
	for k, g := range out {
		if g.size == 0 {
			t.Errorf("packet %d is empty", k)
		}
		if want := labTS(first + k); g.ts != want {
			t.Errorf("packet %d timestamp %v, want %v (frame %d)", k, g.ts, want, first+k)
		}
	}
}

func TestLabDetectVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	d := vicodecEncoder(t)
	t.Logf("vicodec encoder: %v (caps %#x)", d, d.Caps)
	if !d.M2M || !d.IsEncoder || !d.Supports(v4l2.PixFmtFWHT) {
		t.Errorf("vicodec encoder info %+v", d)
	}
	if len(d.OutputFormats) == 0 || d.OutputFormats[0] != v4l2.PixFmtYU12 {
		t.Errorf("vicodec OUTPUT formats %s, want YU12 first", fourccList(d.OutputFormats))
	}
	p, err := Probe(d.Path)
	if err != nil || p.Path != d.Path || p.Driver != "vicodec" {
		t.Errorf("Probe(%s) = %v, %v", d.Path, p, err)
	}
	// vicodec's decoder nodes are M2M but not encoders.
	paths, _ := filepath.Glob(devGlob)
	for _, path := range paths {
		info, err := Probe(path)
		if err == nil && info.Driver == "vicodec" && path != d.Path && info.IsEncoder {
			t.Errorf("%s (%v) taken for an encoder", path, info)
		}
	}
}

// openLabEncoder opens vicodec's encoder with the lab options, closed when
// the test ends, and returns a context that ends after timeout.
func openLabEncoder(t *testing.T, timeout time.Duration) (context.Context, *Encoder) {
	t.Helper()
	d := vicodecEncoder(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	enc, err := Open(d.Path, labOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return ctx, enc
}

func TestLabEncodeVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	ctx, enc := openLabEncoder(t, 90*time.Second)
	cfg := enc.Config()
	t.Logf("config %+v", cfg)
	// vicodec rounds the height up to a multiple of 16 (368 for 360);
	// the encoder crops back to 360, which the FWHT headers show.
	if cfg.Width != labW || cfg.Height < labH || cfg.Height >= labH+16 ||
		len(cfg.BytesPerLine) != 1 || cfg.BytesPerLine[0] != labW || cfg.SizeImage[0] != labW*cfg.Height*3/2 {
		t.Errorf("negotiated %dx%d bytesperline %v sizeimage %v", cfg.Width, cfg.Height, cfg.BytesPerLine, cfg.SizeImage)
	}

	const n = 30
	out := encodeConcurrently(t, ctx, enc, 0, n)
	checkPackets(t, out, 0, n)
	if !out[0].iframe {
		t.Error("first FWHT frame is not an I-frame")
	}
	var iframes, keys []int
	for k, g := range out {
		if g.iframe {
			iframes = append(iframes, k)
		}
		if g.key {
			keys = append(keys, k)
		}
	}
	t.Logf("I-frames at %v (GOP 10), KEYFRAME flag on %v, sizes %d..", iframes, keys, out[0].size)

	// The hot path does not allocate: one Encode and one Next per frame.
	f := newFrameSource().frame(n)
	next := n
	allocs := testing.AllocsPerRun(10, func() {
		f.Timestamp = labTS(next)
		next++
		if err := enc.Encode(ctx, f); err != nil {
			t.Fatal(err)
		}
		if _, err := enc.Next(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Encode+Next allocate %v times per frame", allocs)
	}

	// Live controls: vicodec has neither; the errors must say so.
	for name, err := range map[string]error{"ForceKeyFrame": enc.ForceKeyFrame(), "SetBitrate": enc.SetBitrate(1_000_000)} {
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s: %v, want nil or ErrUnsupported", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	// Nothing is pending.
	if _, err := enc.TryNext(); !errors.Is(err, ErrNotReady) {
		t.Errorf("TryNext on an idle encoder: %v, want ErrNotReady", err)
	}
}

func TestLabDrainRestartVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	ctx, enc := openLabEncoder(t, 90*time.Second)
	src := newFrameSource()

	collect := func(out *[]got) func(Packet) error {
		return func(p Packet) error {
			*out = append(*out, got{p.Timestamp, len(p.Data), fwhtIFrame(t, p.Data), p.KeyFrame})
			return nil
		}
	}

	// Frames queued without taking packets all come out of Drain.
	const n = 6
	for i := range n {
		if err := enc.Encode(ctx, src.frame(i)); err != nil {
			t.Fatalf("Encode %d: %v", i, err)
		}
	}
	var drained []got
	if err := enc.Drain(ctx, collect(&drained)); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	checkPackets(t, drained, 0, n)

	// Encoding resumes after the drain.
	out := encodeConcurrently(t, ctx, enc, n, 5)
	checkPackets(t, out, n, 5)
	t.Logf("first frame after the drain is an I-frame: %v", out[0].iframe)

	// Draining an idle encoder ends at once with an empty LAST buffer.
	var none []got
	if err := enc.Drain(ctx, collect(&none)); err != nil {
		t.Fatalf("Drain (idle): %v", err)
	}
	if len(none) != 0 {
		t.Errorf("idle Drain returned %d packets", len(none))
	}

	// Single-goroutine pattern: Encode, then TryNext until not ready;
	// the rest comes out of Drain.
	var single []got
	for i := 20; i < 30; i++ {
		if err := enc.Encode(ctx, src.frame(i)); err != nil {
			t.Fatalf("Encode %d: %v", i, err)
		}
		for {
			p, err := enc.TryNext()
			if errors.Is(err, ErrNotReady) {
				break
			}
			if err != nil {
				t.Fatalf("TryNext: %v", err)
			}
			single = append(single, got{p.Timestamp, len(p.Data), fwhtIFrame(t, p.Data), p.KeyFrame})
		}
	}
	if err := enc.Drain(ctx, collect(&single)); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	checkPackets(t, single, 20, 10)
}

func TestLabCloseReopenVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	d := vicodecEncoder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range 3 {
		enc, err := Open(d.Path, labOptions(t))
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		out := encodeConcurrently(t, ctx, enc, 0, 3)
		checkPackets(t, out, 0, 3)
		// Leave a frame in flight: Close must cope.
		if err := enc.Encode(ctx, newFrameSource().frame(3)); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		if err := enc.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := enc.Encode(ctx, newFrameSource().frame(0)); !errors.Is(err, ErrClosed) {
			t.Errorf("Encode after Close: %v, want ErrClosed", err)
		}
		if _, err := enc.Next(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Next after Close: %v, want ErrClosed", err)
		}
		if err := enc.Drain(ctx, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Drain after Close: %v, want ErrClosed", err)
		}
	}
}

func TestLabCloseUnblocksNext(t *testing.T) {
	if !lab(t) {
		return
	}
	d := vicodecEncoder(t)
	enc, err := Open(d.Path, labOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := enc.Next(context.Background())
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("blocked Next returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Next")
	}
}

func TestLabRejectsSizeVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	d := vicodecEncoder(t)
	o := labOptions(t)
	o.Width, o.Height = 320, 240 // below vicodec's 640x360 minimum
	enc, err := Open(d.Path, o)
	if err == nil {
		enc.Close()
		t.Fatal("Open 320x240 on vicodec succeeded; the driver widens it to 640x360")
	}
	if !strings.Contains(err.Error(), "cannot encode 320x240") {
		t.Errorf("err = %v", err)
	}
	// The failed Open released the node.
	enc, err = Open(d.Path, labOptions(t))
	if err != nil {
		t.Fatalf("Open after a failed Open: %v", err)
	}
	enc.Close()
}

// fill writes frame i of the lab pattern in format pix with luma
// stride ystride (chroma strides follow) and returns the RawFrame.
func fill(pix uint32, ystride, i int) RawFrame {
	var f RawFrame
	f.Timestamp = labTS(i)
	switch pix {
	case v4l2.PixFmtYUYV:
		f.Planes[0] = make([]byte, ystride*labH)
		f.Strides[0] = ystride
		for r := range labH {
			for c := range labW * 2 {
				f.Planes[0][r*ystride+c] = byte(r + c + i)
			}
		}
	case v4l2.PixFmtNV12:
		f.Planes[0], f.Planes[1] = make([]byte, ystride*labH), make([]byte, ystride*labH/2)
		f.Strides[0], f.Strides[1] = ystride, ystride
		for k := range f.Planes[0] {
			f.Planes[0][k] = byte(k/ystride + k%ystride + i)
		}
		for k := range f.Planes[1] {
			f.Planes[1][k] = byte(128 + k%2*i)
		}
	default: // YU12
		cs := ystride / 2
		f.Planes[0], f.Planes[1], f.Planes[2] = make([]byte, ystride*labH), make([]byte, cs*labH/2), make([]byte, cs*labH/2)
		f.Strides = [3]int{ystride, cs, cs}
		for k := range f.Planes[0] {
			f.Planes[0][k] = byte(k/ystride + k%ystride + i)
		}
		for k := range f.Planes[1] {
			f.Planes[1][k], f.Planes[2][k] = byte(100+i), byte(150-i)
		}
	}
	return f
}

func TestLabInputFormatsVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	d := vicodecEncoder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name    string
		pix     uint32
		ystride int
	}{
		{"YU12 padded stride", v4l2.PixFmtYU12, labW + 128},
		{"NV12", v4l2.PixFmtNV12, labW},
		{"NV12 padded stride", v4l2.PixFmtNV12, labW + 64},
		{"YUYV", v4l2.PixFmtYUYV, labW * 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := labOptions(t)
			o.PixelFormat = tc.pix
			enc, err := Open(d.Path, o)
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			t.Logf("config: %dx%d bytesperline %v sizeimage %v", enc.Config().Width, enc.Config().Height,
				enc.Config().BytesPerLine, enc.Config().SizeImage)
			var out []got
			for i := range 4 {
				if err := enc.Encode(ctx, fill(tc.pix, tc.ystride, i)); err != nil {
					t.Fatalf("Encode: %v", err)
				}
				p, err := enc.Next(ctx)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				out = append(out, got{p.Timestamp, len(p.Data), fwhtIFrame(t, p.Data), p.KeyFrame})
			}
			checkPackets(t, out, 0, 4)
		})
	}
}

// TestLabBackpressureVicodec fills every buffer without taking packets:
// Encode must then block until its context ends, and Drain must still
// return every frame.
func TestLabBackpressureVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	ctx, enc := openLabEncoder(t, 60*time.Second)
	cfg := enc.Config()
	capacity := cfg.OutputBuffers + cfg.CaptureBuffers
	src := newFrameSource()
	for i := range capacity {
		if err := enc.Encode(ctx, src.frame(i)); err != nil {
			t.Fatalf("Encode %d of %d: %v", i, capacity, err)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	err := enc.Encode(short, src.frame(capacity))
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Encode with every buffer full: %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Encode took %v to notice its deadline", el)
	}
	var out []got
	err = enc.Drain(ctx, func(p Packet) error {
		out = append(out, got{p.Timestamp, len(p.Data), fwhtIFrame(t, p.Data), p.KeyFrame})
		return nil
	})
	if err != nil {
		t.Fatalf("Drain: %v", err)
	}
	checkPackets(t, out, 0, capacity)
}

// TestLabDMABUFVicodec feeds the encoder DMABUFs exported from a second
// vicodec context's OUTPUT buffers, and checks that the coded frames are
// byte for byte those of the copy path for the same pictures.
func TestLabDMABUFVicodec(t *testing.T) {
	if !lab(t) {
		return
	}
	d := vicodecEncoder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Reference: the copy path.
	const n = 3
	src := newFrameSource()
	ref, err := Open(d.Path, labOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ref.Config()
	var want [][]byte
	for i := range n {
		if err := ref.Encode(ctx, src.frame(i)); err != nil {
			t.Fatal(err)
		}
		p, err := ref.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, append([]byte(nil), p.Data...))
	}
	ref.Close()

	// Exporter: another context on the same node, with MMAP OUTPUT
	// buffers of the same format, exported with VIDIOC_EXPBUF.
	exp, err := v4l2.Open(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	outType, capType := queueTypes(d.MultiPlanar)
	setFmt := func(typ, pix uint32) {
		f := v4l2.Format{Type: typ}
		if d.MultiPlanar {
			p := f.PixMP()
			p.Width, p.Height, p.PixelFormat, p.NumPlanes = labW, labH, pix, 1
		} else {
			p := f.Pix()
			p.Width, p.Height, p.PixelFormat = labW, labH, pix
		}
		if err := exp.SetFormat(&f); err != nil {
			t.Fatalf("exporter S_FMT: %v", err)
		}
	}
	setFmt(capType, v4l2.PixFmtFWHT)
	setFmt(outType, v4l2.PixFmtYU12)
	if _, err := exp.RequestBuffers(outType, v4l2.MemoryMMAP, n); err != nil {
		t.Fatal(err)
	}
	defer exp.RequestBuffers(outType, v4l2.MemoryMMAP, 0)
	var fds []int
	for i := range n {
		b := v4l2.Buffer{Type: outType, Memory: v4l2.MemoryMMAP, Index: uint32(i)}
		planes := make([]v4l2.Plane, 1)
		if !d.MultiPlanar {
			planes = nil
		}
		if err := exp.QueryBuffer(&b, planes); err != nil {
			t.Fatal(err)
		}
		off, length := int64(b.M), int(b.Length)
		if d.MultiPlanar {
			off, length = int64(planes[0].M), int(planes[0].Length)
		}
		m, err := exp.Mmap(off, length)
		if err != nil {
			t.Fatal(err)
		}
		defer v4l2.Munmap(m)
		// Lay frame i out as the encoder's copy path does.
		l, err := newLayout(yuv420p, labW, labH, cfg.Height, []bufPlane{{cfg.BytesPerLine[0], cfg.SizeImage[0]}})
		if err != nil {
			t.Fatal(err)
		}
		f := src.frame(i)
		l.copyFrame([][]byte{m}, &f)
		fd, err := exp.ExportBuffer(outType, uint32(i), 0)
		if err != nil {
			t.Fatalf("EXPBUF: %v", err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}

	o := labOptions(t)
	o.DMABUF = true
	enc, err := Open(d.Path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if err := enc.Encode(ctx, src.frame(0)); err == nil {
		t.Error("Encode on a DMABUF encoder succeeded")
	}
	for i, fd := range fds {
		if err := enc.EncodeDMABUF(ctx, fd, 0, labTS(i)); err != nil {
			t.Fatalf("EncodeDMABUF %d: %v", i, err)
		}
		p, err := enc.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if p.Timestamp != labTS(i) {
			t.Errorf("packet %d timestamp %v, want %v", i, p.Timestamp, labTS(i))
		}
		if !bytes.Equal(p.Data, want[i]) {
			t.Errorf("packet %d: %d bytes differ from the copy path's %d bytes", i, len(p.Data), len(want[i]))
		}
	}
	// Reuse the fds (the driver keeps each import on its buffer index).
	for i, fd := range fds {
		if err := enc.EncodeDMABUF(ctx, fd, 0, labTS(n+i)); err != nil {
			t.Fatalf("EncodeDMABUF again %d: %v", i, err)
		}
		if _, err := enc.Next(ctx); err != nil {
			t.Fatalf("Next: %v", err)
		}
	}
}
