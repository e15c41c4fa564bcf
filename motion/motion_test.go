package motion

import (
	"math/rand/v2"
	"testing"
	"time"
)

const w, h = 320, 240

// scene draws a grey frame with a dark 48×48 square at (x, y), brightness
// shifted by light and with ±noise per pixel.
func scene(x, y, light, noise int, rng *rand.Rand) []byte {
	f := make([]byte, w*h)
	for r := range h {
		for c := range w {
			v := 128 + light
			if c >= x && c < x+48 && r >= y && r < y+48 {
				v = 40 + light
			}
			if noise > 0 {
				v += rng.IntN(2*noise+1) - noise
			}
			f[r*w+c] = byte(min(max(v, 0), 255))
		}
	}
	return f
}

func TestDetector(t *testing.T) {
	type frame struct {
		x, y, light, noise int
		want               bool // motion on after this frame
	}
	still := func(n int, want bool) []frame {
		fs := make([]frame, n)
		for i := range fs {
			fs[i] = frame{x: 100, y: 100, want: want}
		}
		return fs
	}
	cat := func(parts ...[]frame) []frame {
		var out []frame
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	moving := func(n int) []frame {
		fs := make([]frame, n)
		for i := range fs {
			fs[i] = frame{x: 100 + 8*(i+1), y: 100, want: i >= 2} // on at the third moving frame
		}
		return fs
	}
	tests := []struct {
		name   string
		frames []frame
	}{
		{"still", still(50, false)},
		{"sensor noise", func() []frame {
			fs := still(50, false)
			for i := range fs {
				fs[i].noise = 6
			}
			return fs
		}()},
		{"moving square, then it stops, motion holds 2s", cat(still(3, false), moving(10), []frame{
			{x: 180, y: 100, want: true}, // 25 fps: 40 ms apart
		}, func() []frame {
			fs := make([]frame, 60)
			for i := range fs {
				fs[i] = frame{x: 180, y: 100, want: (i+2)*40 < 2000} // hold from the last moving frame
			}
			return fs
		}())},
		{"lights on is not motion", cat(still(3, false), []frame{{x: 100, y: 100, light: 60}, {x: 100, y: 100, light: 60}, {x: 100, y: 100, light: 60}})},
		{"one odd frame is not motion", cat(still(3, false), []frame{{x: 200, y: 20}}, still(5, false))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New(Options{})
			rng := rand.New(rand.NewPCG(1, 2))
			for i, f := range tt.frames {
				on, _, err := d.Update(scene(f.x, f.y, f.light, f.noise, rng), w, h, w, time.Duration(i)*40*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				if on != f.want {
					t.Fatalf("frame %d (%+v): motion %v, want %v (changed %.3f)", i, f, on, f.want, d.Changed())
				}
			}
		})
	}
}

func TestDetectorChangedFlag(t *testing.T) {
	d := New(Options{Frames: 1, Hold: time.Second})
	var got []bool
	for i, x := range []int{0, 8, 16, 16, 16} {
		_, changed, err := d.Update(scene(x, 0, 0, 0, nil), w, h, w, time.Duration(i)*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, changed)
	}
	want := []bool{false, true, false, true, false} // on at 8, off a second after 16
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("changed flags %v, want %v", got, want)
		}
	}
}

func TestDetectorSizeChange(t *testing.T) {
	d := New(Options{Frames: 1})
	d.Update(scene(0, 0, 0, 0, nil), w, h, w, 0)
	if on, _, _ := d.Update(scene(64, 0, 0, 0, nil), w, h, w, time.Second); !on {
		t.Fatal("no motion")
	}
	small := make([]byte, 160*120)
	on, changed, err := d.Update(small, 160, 120, 160, 2*time.Second)
	if err != nil || on || !changed {
		t.Errorf("after a size change: on %v changed %v err %v", on, changed, err)
	}
}

func TestDetectorBadInput(t *testing.T) {
	d := New(Options{})
	for _, c := range []struct {
		y            []byte
		w, h, stride int
	}{
		{make([]byte, 100), 8, 8, 8},
		{make([]byte, 100), 32, 32, 32},
		{make([]byte, 32*32), 32, 32, 16},
		{nil, 0, 0, 0},
	} {
		if _, _, err := d.Update(c.y, c.w, c.h, c.stride, 0); err == nil {
			t.Errorf("%dx%d stride %d with %d bytes: no error", c.w, c.h, c.stride, len(c.y))
		}
	}
	// A stride wider than the picture, and an odd size, are fine.
	if _, _, err := d.Update(make([]byte, 40*33), 35, 33, 40, 0); err != nil {
		t.Errorf("stride 40: %v", err)
	}
}

// BenchmarkDetector720p measures one 1280×720 frame; the floor is
// reading the same 57 600 samples with nothing else done.
func BenchmarkDetector720p(b *testing.B) {
	const W, H = 1280, 720
	f := [2][]byte{make([]byte, W*H), make([]byte, W*H)}
	for i := range f[1] {
		f[1][i] = byte(i)
	}
	b.Run("detector", func(b *testing.B) {
		d := New(Options{})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d.Update(f[i&1], W, H, W, time.Duration(i)*time.Millisecond)
			i++
		}
	})
	b.Run("floor", func(b *testing.B) {
		sum := 0
		for b.Loop() {
			for r := 2; r < H; r += 4 {
				row := f[1][r*W:]
				for c := 2; c < W; c += 4 {
					sum += int(row[c])
				}
			}
		}
		_ = sum
	})
}

func TestDetectorLuma(t *testing.T) {
	d := New(Options{})
	for i, light := range []int{0, -88} { // grey 128 with a dark square; then darker
		d.Update(scene(100, 100, light, 0, nil), w, h, w, time.Duration(i)*time.Second)
		// 48×48 of 40 within 320×240 of 128, cell-sampled.
		want := float64(128+light) - float64(88*48*48)/float64(w*h)
		if light != 0 {
			want = float64(max(128+light, 0)) - float64(max(128+light, 0)-max(40+light, 0))*48*48/float64(w*h)
		}
		if got := d.Luma(); got < want-3 || got > want+3 {
			t.Errorf("light %d: luma %.1f, want about %.1f", light, got, want)
		}
	}
}
