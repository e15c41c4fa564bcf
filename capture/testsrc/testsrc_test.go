package testsrc

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"image/jpeg"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var pngDir = flag.String("png", "", "write sample frames as PNG into this directory, to look at")

// wall0 is an arbitrary capture time for deterministic renders.
var wall0 = time.Date(2026, 11, 25, 16, 5, 7, 123_000_000, time.UTC)

func newSource(t testing.TB, w, h int) *Source {
	t.Helper()
	s, err := New(Options{Width: w, Height: h, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// render draws frame seq into a new Frame, in full.
func render(s *Source, seq uint64, wall time.Time) *Frame {
	f := &Frame{}
	s.Render(f, seq, wall)
	return f
}

// wallAt is the capture time of frame seq at 30 fps from wall0.
func wallAt(seq uint64) time.Time {
	return wall0.Add(time.Duration(seq) * time.Second / 30)
}

func samePicture(a, b *Frame) bool {
	return a.Width == b.Width && a.Height == b.Height &&
		bytes.Equal(a.Y, b.Y) && bytes.Equal(a.U, b.U) && bytes.Equal(a.V, b.V)
}

func TestNew(t *testing.T) {
	tests := []struct {
		opts    Options
		w, h    int
		fps     float64
		wantErr string
	}{
		{opts: Options{}, w: 1280, h: 720, fps: 30},
		{opts: Options{Width: 320, Height: 240, FPS: 15}, w: 320, h: 240, fps: 15},
		{opts: Options{Width: 1000, Height: 562}, w: 1000, h: 562, fps: 30},
		{opts: Options{Width: 16, Height: 16, FPS: 1000}, w: 16, h: 16, fps: 1000},
		{opts: Options{Width: 321, Height: 240}, wantErr: "odd"},
		{opts: Options{Width: 320, Height: 241}, wantErr: "odd"},
		{opts: Options{Width: 17, Height: 17}, wantErr: "odd"},
		{opts: Options{Width: 14, Height: 16}, wantErr: "out of range"},
		{opts: Options{Width: 0, Height: 720}, wantErr: "out of range"},
		{opts: Options{Width: -2, Height: 4}, wantErr: "out of range"},
		{opts: Options{Width: 8194, Height: 720}, wantErr: "out of range"},
		{opts: Options{FPS: -1}, wantErr: "frame rate"},
		{opts: Options{FPS: 1001}, wantErr: "frame rate"},
		{opts: Options{FPS: math.NaN()}, wantErr: "frame rate"},
		{opts: Options{FPS: math.Inf(1)}, wantErr: "frame rate"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d@%v", tt.opts.Width, tt.opts.Height, tt.opts.FPS), func(t *testing.T) {
			tt.opts.Logger = discard()
			s, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New: err = %v, want one about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w, h, fps := s.Info(); w != tt.w || h != tt.h || fps != tt.fps {
				t.Errorf("Info() = %d, %d, %v; want %d, %d, %v", w, h, fps, tt.w, tt.h, tt.fps)
			}
		})
	}
}

func TestFormatText(t *testing.T) {
	tests := []struct {
		seq  uint64
		wall time.Time
		want string
	}{
		{123, wall0, "2026-11-25 16:05:07.123  #00000123"},
		{0, time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC), "2026-01-02 03:04:05.999  #00000000"},
		{123_456_789, wall0, "2026-11-25 16:05:07.123  #23456789"},
		// Shown in UTC whatever the zone.
		{7, time.Date(2026, 11, 25, 23, 30, 0, 5_000_000, time.FixedZone("X", -2*3600)),
			"2026-11-26 01:30:00.005  #00000007"},
	}
	for _, tt := range tests {
		var b [textLen]byte
		formatText(&b, tt.seq, tt.wall)
		if got := string(b[:]); got != tt.want {
			t.Errorf("formatText(%d, %v) = %q, want %q", tt.seq, tt.wall, got, tt.want)
		}
	}
}

// TestRender checks, at several sizes, that rendering a run of frames
// incrementally into one Frame gives the same pictures as rendering each
// in full, that a render is repeatable, and that the text reads right.
func TestRender(t *testing.T) {
	sizes := []struct{ w, h int }{
		{320, 240}, {1280, 720}, {1920, 1080}, {1000, 562}, {16, 16}, {18, 16}, {16, 40}, {640, 18},
	}
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			s := newSource(t, sz.w, sz.h)
			inc := &Frame{}
			// Frames 0-399 cover bounces and second roll-overs; then
			// jumps, as when Run skips ahead, and a repeat.
			seqs := make([]uint64, 0, 410)
			for seq := range uint64(400) {
				seqs = append(seqs, seq)
			}
			seqs = append(seqs, 1000, 12345, 12345, 3, 1<<40)
			for _, seq := range seqs {
				wall := wallAt(seq)
				s.Render(inc, seq, wall)
				if seq%37 != 0 && seq > 5 {
					continue // full renders of a sample suffice
				}
				full := render(s, seq, wall)
				if !samePicture(inc, full) {
					t.Fatalf("frame %d: incremental render differs from a full one", seq)
				}
				if !samePicture(full, render(s, seq, wall)) {
					t.Fatalf("frame %d: two renders differ", seq)
				}
				if inc.Seq != seq || !inc.Wall.Equal(wall) || len(inc.Y) != sz.w*sz.h || len(inc.U) != sz.w*sz.h/4 || len(inc.V) != sz.w*sz.h/4 {
					t.Fatalf("frame %d: Seq %d, Wall %v, planes %d, %d, %d", seq, inc.Seq, inc.Wall, len(inc.Y), len(inc.U), len(inc.V))
				}
				if sz.w >= 320 && sz.h >= 240 { // the text fits
					if got, want := readText(s, inc), textOf(seq, wall); got != want {
						t.Fatalf("frame %d: text reads %q, want %q", seq, got, want)
					}
				}
			}
		})
	}
}

// TestRenderRedrawsReplacedPlanes checks that Render draws in full when
// the planes are not what it last drew into.
func TestRenderRedrawsReplacedPlanes(t *testing.T) {
	s := newSource(t, 320, 240)
	other := newSource(t, 320, 240)
	f := render(s, 10, wallAt(10))

	other.Render(f, 11, wallAt(11)) // another Source
	if !samePicture(f, render(s, 11, wallAt(11))) {
		t.Error("after a render by another Source: wrong picture")
	}
	f.Y = bytes.Clone(f.Y) // replaced planes
	for i := range f.Y {
		f.Y[i] = 0
	}
	s.Render(f, 12, wallAt(12))
	if !samePicture(f, render(s, 12, wallAt(12))) {
		t.Error("after replacing the luma plane: wrong picture")
	}
	var l Latest
	l.Store(render(s, 50, wallAt(50)))
	l.Snapshot(f) // overwrites the planes in place
	s.Render(f, 13, wallAt(13))
	if !samePicture(f, render(s, 13, wallAt(13))) {
		t.Error("after Snapshot into the frame: wrong picture")
	}
}

func textOf(seq uint64, wall time.Time) string {
	var b [textLen]byte
	formatText(&b, seq, wall)
	return string(b[:])
}

// readText reads the text burned into f back, by matching each
// character cell against the font.
func readText(s *Source, f *Frame) string {
	l := &s.l
	var b strings.Builder
	for _, c := range l.cells {
		if !c.shown {
			b.WriteByte(' ')
			continue
		}
		got := byte('?')
		for _, ch := range []byte("0123456789-:.# ") {
			if cellIs(l, f, c, ch) {
				got = ch
				break
			}
		}
		b.WriteByte(got)
	}
	return b.String()
}

func cellIs(l *layout, f *Frame, c cell, ch byte) bool {
	g := glyph(ch)
	for y := range cellH * l.scale {
		for x := range cellW * l.scale {
			gx, gy := x/l.scale, y/l.scale
			want := byte(textBG)
			if gx < glyphW && gy < glyphH && g[gy]&(0x10>>gx) != 0 {
				want = textFG
			}
			if f.Y[(c.y+y)*f.Width+c.x+x] != want {
				return false
			}
		}
	}
	return true
}

// TestChangedMacroblocks checks what keeps encoding cheap: from one frame
// to the next, only a few 16x16 macroblocks change, all of them where the
// box or the text are.
func TestChangedMacroblocks(t *testing.T) {
	s := newSource(t, 1280, 720)
	const mbs = 80 * 45
	tests := []struct {
		name string
		seq  uint64
		wall time.Time // of frame seq; frame seq-1 is 1/30 s earlier
	}{
		{"1 to 2", 2, wallAt(2)},
		{"second rolls over", 100, time.Date(2026, 12, 31, 23, 59, 59, 990_000_000, time.UTC).Add(time.Second / 30)},
		{"counter carries", 1000, wallAt(1000)},
		{"box bounces", uint64((1280 - s.l.boxW) / s.l.vx), wallAt(302)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := render(s, tt.seq-1, tt.wall.Add(-time.Second/30))
			b := render(s, tt.seq, tt.wall)
			allowed := []rect{s.l.boxAt(tt.seq - 1), s.l.boxAt(tt.seq), s.l.text}
			changed, textChanged := 0, false
			for my := range 45 {
				for mx := range 80 {
					if !mbEqual(a, b, mx, my) {
						changed++
						mb := rect{mx * 16, my * 16, mx*16 + 16, my*16 + 16}
						ok := false
						for _, r := range allowed {
							ok = ok || !mb.intersect(r).empty()
						}
						if !ok {
							t.Errorf("macroblock (%d, %d) changed, away from the box and the text", mx, my)
						}
						textChanged = textChanged || !mb.intersect(s.l.text).empty()
					}
				}
			}
			t.Logf("%d of %d macroblocks changed (%.1f%%)", changed, mbs, 100*float64(changed)/mbs)
			if changed > mbs/20 {
				t.Errorf("%d of %d macroblocks changed, want at most 5%%", changed, mbs)
			}
			if !textChanged {
				t.Error("the text did not change")
			}
		})
	}
}

// mbEqual reports whether macroblock (mx, my) is the same in a and b:
// 16x16 luma and 8x8 of each chroma plane.
func mbEqual(a, b *Frame, mx, my int) bool {
	for y := my * 16; y < my*16+16; y++ {
		o := y*a.Width + mx*16
		if !bytes.Equal(a.Y[o:o+16], b.Y[o:o+16]) {
			return false
		}
	}
	cs := a.Width / 2
	for y := my * 8; y < my*8+8; y++ {
		o := y*cs + mx*8
		if !bytes.Equal(a.U[o:o+8], b.U[o:o+8]) || !bytes.Equal(a.V[o:o+8], b.V[o:o+8]) {
			return false
		}
	}
	return true
}

// bar601 returns the BT.601 limited-range colour of 75% bar i (white,
// yellow, cyan, green, magenta, red, blue).
func bar601(i int) (y, cb, cr float64) {
	var r, g, b float64
	switch i {
	case 0:
		r, g, b = 1, 1, 1
	case 1:
		r, g = 1, 1
	case 2:
		g, b = 1, 1
	case 3:
		g = 1
	case 4:
		r, b = 1, 1
	case 5:
		r = 1
	case 6:
		b = 1
	}
	r, g, b = 0.75*r, 0.75*g, 0.75*b
	l := 0.299*r + 0.587*g + 0.114*b
	return 16 + 219*l, 128 + 224*(b-l)/1.772, 128 + 224*(r-l)/1.402
}

func TestBars(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{320, 240}, {1280, 720}, {1000, 562}, {16, 16}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			s := newSource(t, sz.w, sz.h)
			for _, seq := range []uint64{0, 77, 500} {
				f := render(s, seq, wall0)
				box := s.l.boxAt(seq)
				for i := range 7 {
					x := (2*i + 1) * sz.w / 14
					y := sz.h / 6 // in the top 2/3
					if x >= box.x0-1 && x <= box.x1 && y >= box.y0-1 && y <= box.y1 {
						y = sz.h / 2
					}
					if x >= box.x0-1 && x <= box.x1 && y >= box.y0-1 && y <= box.y1 {
						continue // covered by the box
					}
					wy, wu, wv := bar601(i)
					gy, gu, gv := f.Y[y*sz.w+x], f.U[y/2*sz.w/2+x/2], f.V[y/2*sz.w/2+x/2]
					if math.Abs(float64(gy)-wy) > 2 || math.Abs(float64(gu)-wu) > 2 || math.Abs(float64(gv)-wv) > 2 {
						t.Errorf("frame %d, bar %d at (%d, %d): YCbCr %d, %d, %d; want %.1f, %.1f, %.1f ±2",
							seq, i, x, y, gy, gu, gv, wy, wu, wv)
					}
				}
			}
		})
	}
}

func TestWriteJPEG(t *testing.T) {
	s := newSource(t, 320, 240)
	f := render(s, 0, wall0)
	var buf bytes.Buffer
	if err := WriteJPEG(&buf, f, 90); err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Fatalf("decoded size %v, want 320x240", b)
	}
	for i := range 7 {
		x, y := (2*i+1)*320/14, 120
		wy, wu, wv := bar601(i)
		wr, wg, wb := color.YCbCrToRGB(uint8(wy+0.5), uint8(wu+0.5), uint8(wv+0.5))
		r, g, b, _ := img.At(x, y).RGBA()
		got := [3]float64{float64(r >> 8), float64(g >> 8), float64(b >> 8)}
		want := [3]float64{float64(wr), float64(wg), float64(wb)}
		for c := range got {
			if math.Abs(got[c]-want[c]) > 8 {
				t.Errorf("bar %d at (%d, %d): RGB %v, want %v ±8", i, x, y, got, want)
				break
			}
		}
	}

	// Quality 0 is the default.
	buf.Reset()
	if err := WriteJPEG(&buf, f, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(&buf); err != nil {
		t.Fatal(err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteJPEGErrors(t *testing.T) {
	good := render(newSource(t, 16, 16), 0, wall0)
	tests := []struct {
		name string
		f    *Frame
		w    interface{ Write([]byte) (int, error) }
		want string
	}{
		{"empty frame", &Frame{}, &bytes.Buffer{}, "malformed"},
		{"short luma", &Frame{Width: 16, Height: 16, Y: good.Y[:255], U: good.U, V: good.V}, &bytes.Buffer{}, "malformed"},
		{"short chroma", &Frame{Width: 16, Height: 16, Y: good.Y, U: good.U, V: good.V[:63]}, &bytes.Buffer{}, "malformed"},
		{"writer fails", good, failWriter{}, "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteJPEG(tt.w, tt.f, 80)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("WriteJPEG: err = %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestLatest(t *testing.T) {
	s := newSource(t, 320, 240)
	var l Latest
	var dst Frame
	if l.Snapshot(&dst) {
		t.Fatal("Snapshot of an empty Latest reported a frame")
	}
	for seq := range uint64(3) {
		f := render(s, seq, wallAt(seq))
		f.PTS = time.Duration(seq) * time.Second
		l.Store(f)
		if !l.Snapshot(&dst) {
			t.Fatal("Snapshot after Store reported no frame")
		}
		if !samePicture(&dst, f) || dst.Seq != seq || dst.PTS != f.PTS || !dst.Wall.Equal(f.Wall) {
			t.Fatalf("Snapshot after storing frame %d: got frame %d, PTS %v, or different pixels", seq, dst.Seq, dst.PTS)
		}
		if &dst.Y[0] == &f.Y[0] {
			t.Fatal("Snapshot shares the stored frame's planes")
		}
	}

	f := render(s, 5, wallAt(5))
	allocs := testing.AllocsPerRun(20, func() {
		l.Store(f)
		l.Snapshot(&dst)
	})
	if allocs != 0 {
		t.Errorf("Store and Snapshot: %v allocations, want 0", allocs)
	}
}

// TestLatestConcurrent stores uniform frames while readers check that
// they never see a mix of two.
func TestLatestConcurrent(t *testing.T) {
	var l Latest
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			var dst Frame
			for ctx.Err() == nil {
				if !l.Snapshot(&dst) {
					continue
				}
				v := byte(dst.Seq)
				for _, p := range [][]byte{dst.Y, dst.U, dst.V} {
					if bytes.Count(p, []byte{v}) != len(p) {
						t.Errorf("frame %d: torn snapshot", dst.Seq)
						return
					}
				}
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			f := &Frame{Width: 64, Height: 32}
			f.alloc()
			for seq := uint64(w); ctx.Err() == nil; seq += 2 {
				f.Seq = seq
				for _, p := range [][]byte{f.Y, f.U, f.V} {
					fill(p, byte(seq))
				}
				l.Store(f)
			}
		})
	}
	wg.Wait()
}

func TestRunPacing(t *testing.T) {
	const fps = 200
	s, err := New(Options{Width: 64, Height: 48, FPS: fps, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var (
		t0      = time.Now()
		n       int
		prevPTS time.Duration
	)
	err = s.Run(ctx, func(f *Frame) error {
		now := time.Now()
		if f.Seq != uint64(n) {
			t.Errorf("frame %d has Seq %d", n, f.Seq)
		}
		if want := time.Duration(n) * time.Second / fps; f.PTS != want {
			t.Errorf("frame %d: PTS %v, want %v", n, f.PTS, want)
		}
		if n > 0 && f.PTS-prevPTS != time.Second/fps {
			t.Errorf("frame %d: PTS step %v", n, f.PTS-prevPTS)
		}
		if early := f.PTS - now.Sub(t0); early > 0 {
			t.Errorf("frame %d delivered %v early", n, early)
		}
		if d := now.Sub(f.Wall); d < 0 || d > 100*time.Millisecond {
			t.Errorf("frame %d: Wall %v is %v before the call", n, f.Wall, d)
		}
		prevPTS = f.PTS
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(t0); elapsed > 700*time.Millisecond {
		t.Errorf("Run returned %v after the start, want about 500ms", elapsed)
	}
	t.Logf("%d frames in 500ms at %d fps", n, fps)
	if n < 80 || n > 101 {
		t.Errorf("%d frames in 500ms at %d fps, want about 100", n, fps)
	}
}

// TestRunSkipsAhead checks that after a callback that blocks for more
// than a second, Run skips to the current frame instead of bursting.
func TestRunSkipsAhead(t *testing.T) {
	const fps = 100
	var logBuf bytes.Buffer
	s, err := New(Options{Width: 32, Height: 32, FPS: fps, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type got struct {
		seq uint64
		pts time.Duration
		at  time.Duration
	}
	var frames []got
	t0 := time.Now()
	err = s.Run(ctx, func(f *Frame) error {
		frames = append(frames, got{f.Seq, f.PTS, time.Since(t0)})
		switch {
		case f.Seq == 2:
			time.Sleep(1300 * time.Millisecond)
		case len(frames) == 15:
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 15 {
		t.Fatalf("got %d frames, want 15", len(frames))
	}
	next := frames[3]
	if next.seq < 120 || next.seq > 140 {
		t.Errorf("after a 1.3s stall at frame 2, next frame is %d, want about 132", next.seq)
	}
	for i, f := range frames[3:] {
		if want := next.seq + uint64(i); f.seq != want {
			t.Errorf("frame %d after the stall has Seq %d, want %d", i, f.seq, want)
		}
		if f.pts != time.Duration(f.seq)*time.Second/fps {
			t.Errorf("frame %d: PTS %v", f.seq, f.pts)
		}
	}
	// No burst: the 12 frames after the stall take about 110ms.
	if d := frames[14].at - frames[3].at; d < 80*time.Millisecond {
		t.Errorf("12 frames after the stall came in %v, want about 110ms", d)
	}
	if !strings.Contains(logBuf.String(), "skipping ahead") {
		t.Errorf("no warning logged about skipping ahead; log:\n%s", logBuf.String())
	}
}

func TestRunCallbackErrors(t *testing.T) {
	var logBuf bytes.Buffer
	s, err := New(Options{Width: 32, Height: 32, FPS: 500, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = s.Run(ctx, func(f *Frame) error {
		n++
		switch {
		case n <= 5:
			return errors.New("encoder busy")
		case n == 8:
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("%d frames, want 8: the source must go on after errors and stop when ctx ends", n)
	}
	log := logBuf.String()
	if c := strings.Count(log, "frame callback failed"); c != 1 {
		t.Errorf("%d failure warnings, want 1; log:\n%s", c, log)
	}
	if !strings.Contains(log, "encoder busy") || !strings.Contains(log, "failed_frames=5") {
		t.Errorf("log lacks the error or the recovery; log:\n%s", log)
	}
}

func TestRunStops(t *testing.T) {
	s := newSource(t, 32, 32)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	if err := s.Run(ctx, func(*Frame) error { called = true; return nil }); err != nil || called {
		t.Errorf("Run with a done context: err %v, callback called %v; want nil and false", err, called)
	}
	if err := s.Run(context.Background(), nil); err == nil {
		t.Error("Run with a nil callback: no error")
	}

	// Slow rate: Run must not wait for the next frame once ctx ends.
	s, err := New(Options{Width: 32, Height: 32, FPS: 0.1, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := s.Run(ctx, func(*Frame) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Run returned %v after its context ended", d)
	}
}

// TestPNG renders sample frames to PNG and checks that they decode at
// their size; with -png DIR it keeps them there for a human to look at.
func TestPNG(t *testing.T) {
	dir := *pngDir
	if dir == "" {
		dir = t.TempDir()
	}
	for _, sz := range []struct{ w, h int }{{320, 240}, {1280, 720}, {1000, 562}, {1920, 1080}} {
		s := newSource(t, sz.w, sz.h)
		f := render(s, 123, wall0)
		var buf bytes.Buffer
		if err := png.Encode(&buf, f.YCbCr()); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%dx%d frame as PNG: %v", sz.w, sz.h, err)
		}
		if b := img.Bounds(); b.Dx() != sz.w || b.Dy() != sz.h {
			t.Fatalf("%dx%d frame decodes as %v", sz.w, sz.h, b)
		}
		name := filepath.Join(dir, fmt.Sprintf("testsrc-%dx%d.png", sz.w, sz.h))
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote", name)
	}
}

func BenchmarkRender(b *testing.B) {
	s := newSource(b, 1280, 720)
	f := render(s, 0, wallAt(0))
	seq := uint64(1)
	for b.Loop() {
		s.Render(f, seq, wallAt(seq))
		seq++
	}
}

// BenchmarkRenderFull is the cost of drawing a frame from scratch, as
// Render does the first time.
func BenchmarkRenderFull(b *testing.B) {
	s := newSource(b, 1280, 720)
	f := render(s, 0, wallAt(0))
	seq := uint64(1)
	for b.Loop() {
		f.st = renderState{}
		s.Render(f, seq, wallAt(seq))
		seq++
	}
}

func BenchmarkLatest(b *testing.B) {
	s := newSource(b, 1280, 720)
	f := render(s, 0, wall0)
	var (
		l   Latest
		dst Frame
	)
	for b.Loop() {
		l.Store(f)
		l.Snapshot(&dst)
	}
}

func BenchmarkWriteJPEG(b *testing.B) {
	s := newSource(b, 1280, 720)
	f := render(s, 0, wall0)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteJPEG(&buf, f, 80); err != nil {
			b.Fatal(err)
		}
	}
}
