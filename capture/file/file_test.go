package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

const clipPath = "../../testdata/clip-720p25.h264"

func readClip(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(clipPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clipAUs returns the access units of the test clip: 250 pictures, an IDR
// every 25, the first one preceded by SPS, PPS and SEI.
func clipAUs(t testing.TB) [][][]byte {
	t.Helper()
	var aus [][][]byte
	for _, au := range h264.SplitAccessUnits(readClip(t)) {
		aus = append(aus, au.NALUs)
	}
	return aus
}

func writeFile(t testing.TB, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.h264")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func annexB(aus ...[][]byte) []byte {
	var b []byte
	for _, au := range aus {
		b = h264.AppendAnnexB(b, au)
	}
	return b
}

func without(au [][]byte, types ...h264.NALUType) [][]byte {
	return slices.DeleteFunc(slices.Clone(au), func(n []byte) bool { return slices.Contains(types, h264.Type(n)) })
}

func types(au [][]byte) []h264.NALUType {
	var ts []h264.NALUType
	for _, n := range au {
		ts = append(ts, h264.Type(n))
	}
	return ts
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// recorder is a Writer that keeps deep copies of what it is given and
// cancels the replay after limit access units.
type recorder struct {
	limit  int
	cancel context.CancelFunc
	fail   func(n int) error // optional
	aus    []h264.AccessUnit
	at     []time.Time
}

func (r *recorder) WriteAccessUnit(au *h264.AccessUnit) error {
	c := h264.AccessUnit{PTS: au.PTS}
	for _, n := range au.NALUs {
		c.NALUs = append(c.NALUs, bytes.Clone(n))
	}
	r.aus = append(r.aus, c)
	r.at = append(r.at, time.Now())
	if len(r.aus) == r.limit {
		r.cancel()
	}
	if r.fail != nil {
		return r.fail(len(r.aus) - 1)
	}
	return nil
}

// replay runs s until it has delivered n access units.
func replay(t *testing.T, s *Source, n int) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &recorder{limit: n, cancel: cancel}
	if err := s.Run(ctx, r); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(r.aus) != n {
		t.Fatalf("Run delivered %d access units, want %d", len(r.aus), n)
	}
	return r
}

func TestRunClip(t *testing.T) {
	s, err := Open(clipPath, Options{FrameRate: 1000, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	if w, h, fps := s.Info(); w != 1280 || h != 720 || fps != 1000 {
		t.Errorf("Info() = %d, %d, %v, want 1280, 720, 1000", w, h, fps)
	}
	const n = 260
	start := time.Now()
	r := replay(t, s, n)
	if elapsed, min := time.Since(start), (n-1)*time.Millisecond; elapsed < min {
		t.Errorf("%d access units took %v, want at least %v", n, elapsed, min)
	}
	clip := clipAUs(t)
	for i, au := range r.aus {
		if want := time.Duration(i) * time.Millisecond; au.PTS != want {
			t.Fatalf("access unit %d: PTS %v, want %v", i, au.PTS, want)
		}
		// Access unit 0 is delivered a little after the replay's start.
		if i > 0 && r.at[i].Before(r.at[0].Add(au.PTS-time.Millisecond)) {
			t.Fatalf("access unit %d delivered %v after the first, before its PTS %v", i, r.at[i].Sub(r.at[0]), au.PTS)
		}
		if got, want := au.IDR(), i%25 == 0; got != want {
			t.Errorf("access unit %d: IDR() = %v, want %v", i, got, want)
		}
		if !slices.EqualFunc(au.NALUs, clip[i%len(clip)], bytes.Equal) {
			t.Errorf("access unit %d differs from the file's access unit %d", i, i%len(clip))
		}
	}
	if got := types(r.aus[0].NALUs); !slices.Equal(got[:2], []h264.NALUType{h264.NALUSPS, h264.NALUPPS}) {
		t.Errorf("first access unit has types %v, want SPS, PPS first", got)
	}
	sps, pps := s.ParameterSets()
	if !bytes.Equal(sps, clip[0][0]) || !bytes.Equal(pps, clip[0][1]) {
		t.Errorf("ParameterSets() = %x, %x", sps, pps)
	}
}

// TestRunRewrite checks how the access units of a file are cleaned up:
// replay from the first IDR, parameter sets in every IDR access unit, no
// AUD or filler data.
func TestRunRewrite(t *testing.T) {
	clip := clipAUs(t)
	sps, pps, sei := clip[0][0], clip[0][1], clip[0][2]
	idr := without(clip[0], h264.NALUSPS, h264.NALUPPS, h264.NALUSEI)
	idr2 := without(clip[25], h264.NALUSPS, h264.NALUPPS)
	p := clip[1]
	aud := []byte{0x09, 0xf0}
	filler := []byte{0x0c, 0xff, 0xff, 0x80}
	eos := []byte{0x0b}
	join := func(parts ...any) [][]byte {
		var au [][]byte
		for _, x := range parts {
			switch x := x.(type) {
			case []byte:
				au = append(au, x)
			case [][]byte:
				au = append(au, x...)
			}
		}
		return au
	}
	want := func(parts ...any) [][]byte { return join(parts...) }

	tests := []struct {
		name string
		in   [][][]byte
		want [][][]byte
	}{{
		name: "parameter sets only at the start",
		in:   [][][]byte{join(sps, pps, sei, idr), p, join(idr2), p},
		want: [][][]byte{want(sps, pps, sei, idr), p, want(sps, pps, idr2), p},
	}, {
		name: "leading pictures, AUD, filler and end of stream dropped",
		in: [][][]byte{join(aud, p), join(aud, sps, pps, p), join(aud, sei, idr, filler),
			join(aud, p, filler), join(aud, p, eos)},
		want: [][][]byte{want(sps, pps, sei, idr), p, p},
	}, {
		name: "PPS missing",
		in:   [][][]byte{join(sps, pps, idr), join(sps, sei, idr2)},
		want: [][][]byte{want(sps, pps, idr), want(sps, pps, sei, idr2)},
	}, {
		name: "SPS missing",
		in:   [][][]byte{join(sps, pps, idr), join(pps, idr2)},
		want: [][][]byte{want(sps, pps, idr), want(sps, pps, idr2)},
	}, {
		name: "PPS before SPS",
		in:   [][][]byte{join(pps, sei, sps, idr), p},
		want: [][][]byte{want(sps, pps, sei, idr), p},
	}, {
		name: "parameter sets after the first IDR",
		in:   [][][]byte{join(idr), p, join(sps, pps, idr2)},
		want: [][][]byte{want(sps, pps, idr), p, want(sps, pps, idr2)},
	}, {
		name: "access units without pictures dropped",
		in:   [][][]byte{join(sps, pps, idr), join(sei), p, join(sei, filler)},
		want: [][][]byte{want(sps, pps, idr), join(sei, p)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(writeFile(t, annexB(tt.in...)), Options{FrameRate: 1000, Logger: discard()})
			if err != nil {
				t.Fatal(err)
			}
			r := replay(t, s, 2*len(tt.want)+1)
			for i, au := range r.aus {
				if want := tt.want[i%len(tt.want)]; !slices.EqualFunc(au.NALUs, want, bytes.Equal) {
					t.Errorf("access unit %d: types %v, want %v", i, types(au.NALUs), types(want))
				}
			}
		})
	}
}

// A stream whose SPS has no VUI timing replays at DefaultFrameRate.
func TestInfo(t *testing.T) {
	clip := clipAUs(t)
	// 1280x720 Constrained Baseline, as the clip's but without VUI.
	noVUI := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe4}
	noTiming := annexB(append([][]byte{noVUI}, without(clip[0], h264.NALUSPS)...))
	// The same with time_scale 90000 and num_units_in_tick 1: 45000 fps.
	fast := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x57, 0xe4, 0x22}
	implausible := annexB(append([][]byte{fast}, without(clip[0], h264.NALUSPS)...))
	tests := []struct {
		name   string
		stream []byte
		opts   Options
		fps    float64
	}{
		{"SPS rate", annexB(clip[:2]...), Options{}, 25},
		{"option", annexB(clip[:2]...), Options{FrameRate: 29.97}, 29.97},
		{"no timing", noTiming, Options{}, DefaultFrameRate},
		{"no timing, option", noTiming, Options{FrameRate: 10}, 10},
		{"implausible timing", implausible, Options{}, DefaultFrameRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = discard()
			s, err := Open(writeFile(t, tt.stream), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if w, h, fps := s.Info(); w != 1280 || h != 720 || fps != tt.fps {
				t.Errorf("Info() = %d, %d, %v, want 1280, 720, %v", w, h, fps, tt.fps)
			}
			if want := time.Duration(math.Round(1e9 / tt.fps)); s.frameDur != want {
				t.Errorf("frame duration %v, want %v", s.frameDur, want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	clip := clipAUs(t)
	sps, pps := clip[0][0], clip[0][1]
	idr := without(clip[0], h264.NALUSPS, h264.NALUPPS)
	tests := []struct {
		name    string
		stream  []byte
		opts    Options
		errText string
	}{
		{"empty", nil, Options{}, "no H.264 NAL units"},
		{"not H.264", []byte("hello, world\n"), Options{}, "no H.264 NAL units"},
		{"no SPS", annexB(append([][]byte{pps}, idr...)), Options{}, "no SPS"},
		{"no PPS", annexB(append([][]byte{sps}, idr...)), Options{}, "no PPS"},
		{"no IDR", annexB(append([][]byte{sps, pps}, clip[1]...)), Options{}, "no IDR"},
		{"bad SPS", annexB(append([][]byte{{0x67, 0x42, 0xc0, 0x1f}, pps}, idr...)), Options{}, "h264: SPS: truncated"},
		{"negative frame rate", annexB(clip[0]), Options{FrameRate: -1}, "frame rate -1 out of range"},
		{"tiny frame rate", annexB(clip[0]), Options{FrameRate: 1e-300}, "frame rate 1e-300 out of range"},
		{"huge frame rate", annexB(clip[0]), Options{FrameRate: 1e7}, "frame rate 1e+07 out of range"},
		{"NaN frame rate", annexB(clip[0]), Options{FrameRate: math.NaN()}, "frame rate NaN out of range"},
		{"infinite frame rate", annexB(clip[0]), Options{FrameRate: math.Inf(1)}, "frame rate +Inf out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.stream)
			s, err := Open(path, tt.opts)
			if err == nil {
				t.Fatalf("Open = %v, want error", s)
			}
			if !strings.HasPrefix(err.Error(), "capture/file: "+path+": ") || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Open error = %q, want it to contain %q", err, tt.errText)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "nope.h264"), Options{})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open error = %v, want ErrNotExist", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		path := writeFile(t, annexB(clip[0]))
		if err := os.Truncate(path, MaxFileSize+1); err != nil { // sparse
			t.Fatal(err)
		}
		_, err := Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), "256 MiB") {
			t.Errorf("Open error = %v, want size limit", err)
		}
	})
}

// A stream that never starts a new picture is refused before its one
// access unit grows without end: the file's size alone does not bound
// the memory its NAL units take.
func TestOpenLongAccessUnit(t *testing.T) {
	idr := readClip(t)
	idr = idr[:len(annexB(clipAUs(t)[0]))] // SPS, PPS, SEI, IDR slices
	tests := []struct {
		name string
		unit []byte // repeated 200,000 times after the IDR
		au   int    // the access unit refused
	}{
		{"access unit delimiters", []byte{0, 0, 1, 0x09}, 1},
		{"slices continuing the picture", []byte{0, 0, 1, 0x41, 0x40}, 0}, // first_mb_in_slice 1
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append(slices.Clip(idr), bytes.Repeat(tt.unit, 200_000)...)
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			_, err := newSource(b, Options{Logger: discard()})
			runtime.ReadMemStats(&m1)
			// Refused at the 4097th NAL unit, having taken a few hundred
			// KiB; holding all 200,000 took 25 MiB.
			if n := m1.TotalAlloc - m0.TotalAlloc; n > 1<<20 {
				t.Errorf("newSource allocated %d KiB for a %d KiB stream", n>>10, len(b)>>10)
			}
			if !errors.Is(err, h264.ErrAccessUnitTooLong) {
				t.Errorf("newSource error = %v, want ErrAccessUnitTooLong", err)
			}

			path := writeFile(t, b)
			s, err := Open(path, Options{Logger: discard()})
			if err == nil {
				t.Fatalf("Open accepted %d access units, want an error", len(s.aus))
			}
			want := fmt.Sprintf("capture/file: %s: access unit %d: h264: more than 4096 NAL units in one access unit", path, tt.au)
			if err.Error() != want {
				t.Errorf("Open error = %q, want %q", err, want)
			}
		})
	}
}

func TestRunWriterErrors(t *testing.T) {
	var logs bytes.Buffer
	s, err := Open(clipPath, Options{FrameRate: 1000, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &recorder{limit: 10, cancel: cancel, fail: func(n int) error {
		if n >= 2 && n < 6 {
			return fmt.Errorf("refused %d", n)
		}
		return nil
	}}
	if err := s.Run(ctx, r); err != nil {
		t.Fatal(err)
	}
	if len(r.aus) != 10 {
		t.Fatalf("delivered %d access units after errors, want 10", len(r.aus))
	}
	out := logs.String()
	if strings.Count(out, "writer failed") != 1 || !strings.Contains(out, "refused 2") ||
		!strings.Contains(out, "writer recovered") || !strings.Contains(out, "failed_access_units=4") {
		t.Errorf("logs:\n%s", out)
	}
}

func TestRunCancel(t *testing.T) {
	s, err := Open(clipPath, Options{FrameRate: 0.5, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := &recorder{cancel: cancel}
	if err := s.Run(ctx, r); err != nil || len(r.aus) != 0 {
		t.Errorf("Run on a cancelled context = %v after %d access units, want nil after 0", err, len(r.aus))
	}

	// Cancelled while waiting 2 s for the second access unit.
	start := time.Now()
	replay(t, s, 1)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run returned %v after cancellation", d)
	}
}

// allocWriter counts heap allocations between two access units.
type allocWriter struct {
	n, from, to int
	before      uint64
	allocs      uint64
	cancel      context.CancelFunc
}

func (w *allocWriter) WriteAccessUnit(au *h264.AccessUnit) error {
	var ms runtime.MemStats
	switch w.n {
	case w.from:
		runtime.ReadMemStats(&ms)
		w.before = ms.Mallocs
	case w.to:
		runtime.ReadMemStats(&ms)
		w.allocs = ms.Mallocs - w.before
		w.cancel()
	}
	w.n++
	return nil
}

func TestRunAllocs(t *testing.T) {
	s, err := Open(clipPath, Options{FrameRate: 2000, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &allocWriter{from: 10, to: 510, cancel: cancel}
	if err := s.Run(ctx, w); err != nil {
		t.Fatal(err)
	}
	// Allow for the odd allocation by the runtime or the test framework.
	if w.allocs > 10 {
		t.Errorf("%d allocations over %d access units", w.allocs, w.to-w.from)
	}
	t.Logf("%d allocations over %d access units", w.allocs, w.to-w.from)
}

func FuzzNewSource(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := newSource(b, Options{Logger: discard()})
		if err != nil {
			return
		}
		if len(s.aus) == 0 || s.width <= 0 || s.height <= 0 || !(s.fps > 0) || s.frameDur <= 0 {
			t.Fatalf("source %+v", s)
		}
		for i, au := range s.aus {
			var hasSPS, hasPPS, idr, vcl bool
			for _, n := range au {
				switch h264.Type(n) {
				case h264.NALUSPS:
					hasSPS = true
				case h264.NALUPPS:
					hasPPS = hasSPS // after an SPS
				case h264.NALUIDR:
					idr, vcl = true, true
					if !hasPPS {
						t.Fatalf("access unit %d: IDR slice without SPS and PPS before it: %v", i, types(au))
					}
				case h264.NALUNonIDR, 2, 3, 4:
					vcl = true
				case h264.NALUAUD, h264.NALUFiller, naluEndOfStream:
					t.Fatalf("access unit %d: types %v", i, types(au))
				}
			}
			if !vcl || (i == 0 && !idr) {
				t.Fatalf("access unit %d: types %v", i, types(au))
			}
		}
	})
}

// TestOpenTooManyAccessUnits: a file of more than MaxAccessUnits tiny
// pictures (5 bytes each, well within MaxFileSize) is refused with an
// error that says so, and what it allocated stays far below the 1.4 GiB
// that 32 MiB of such pictures cost when nothing bounded them.
func TestOpenTooManyAccessUnits(t *testing.T) {
	idr := readClip(t)
	idr = idr[:len(annexB(clipAUs(t)[0]))] // SPS, PPS, SEI, IDR slices
	pic := []byte{0, 0, 1, 0x41, 0x80}     // a P slice, first_mb_in_slice 0: a new picture each
	b := append(slices.Clip(idr), bytes.Repeat(pic, MaxAccessUnits+10)...)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err := newSource(b, Options{Logger: discard()})
	runtime.ReadMemStats(&m1)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d access units", MaxAccessUnits)) {
		t.Errorf("newSource of %d pictures: %v, want an error naming the limit", MaxAccessUnits+11, err)
	}
	if n := m1.TotalAlloc - m0.TotalAlloc; n > 256<<20 {
		t.Errorf("newSource allocated %d MiB for a %d MiB file", n>>20, len(b)>>20)
	}
	t.Logf("refused after allocating %d MiB for a %d MiB file", (m1.TotalAlloc-m0.TotalAlloc)>>20, len(b)>>20)
	// A file within the limit plays.
	if _, err := newSource(append(slices.Clip(idr), bytes.Repeat(pic, 1000)...), Options{Logger: discard()}); err != nil {
		t.Errorf("a file of 1001 pictures: %v", err)
	}
}

// TestOpenTooManyNALUnits: a file of many tiny NAL units in few pictures
// (one-byte SEIs, 4 bytes each with the start code) is refused past
// MaxNALUnits; before, 32 MiB of them grew the heap by 192 MiB.
func TestOpenTooManyNALUnits(t *testing.T) {
	idr := readClip(t)
	idr = idr[:len(annexB(clipAUs(t)[0]))] // SPS, PPS, SEI, IDR slices
	var b []byte
	b = append(b, idr...)
	pic := append(bytes.Repeat([]byte{0, 0, 1, 0x06}, 4000), 0, 0, 1, 0x41, 0x80) // 4000 SEIs, then a new picture's slice
	for range MaxNALUnits/4001 + 2 {
		b = append(b, pic...)
	}
	_, err := newSource(b, Options{Logger: discard()})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d NAL units", MaxNALUnits)) {
		t.Errorf("newSource of %d MiB of one-byte SEIs: %v, want an error naming the limit", len(b)>>20, err)
	}
}
