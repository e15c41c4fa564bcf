package software

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkEncode360p encodes moving clips at 640x360 and QP 26 on one
// goroutine; ns/op is per frame. testsrc2 has static areas; mandelbrot
// zooms, so every macroblock changes in every frame.
func BenchmarkEncode360p(b *testing.B) {
	for _, clip := range []string{"testsrc2", "mandelbrot"} {
		b.Run(clip, func(b *testing.B) {
			frames := rawClip(b, clip, 640, 360, 30)
			e, err := New(Options{Width: 640, Height: 360, QP: 26, IDRInterval: 60})
			if err != nil {
				b.Fatal(err)
			}
			in := make([]*Frame, len(frames))
			for i, f := range frames {
				in[i] = i420(f, 640, 360)
				e.Encode(in[i])
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, _, err := e.Encode(in[i%len(in)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fps")
		})
	}
}

// BenchmarkVsX264 compares bitrate at equal quality with ffmpeg's libx264
// -preset ultrafast -profile:v baseline on the same clip: it encodes with
// ipcamd at QP 26, then with x264 at a range of QPs, and interpolates
// x264's size at ipcamd's luma PSNR. Run with -benchtime 1x; it reports
// ratio = ipcamd bytes / x264 bytes at equal PSNR (below 1 is better).
func BenchmarkVsX264(b *testing.B) {
	const w, h, n = 640, 360, 60
	frames := rawClip(b, "testsrc2", w, h, n)
	var src []byte
	for _, f := range frames {
		src = append(src, f...)
	}
	for b.Loop() {
		stream, _ := encodeClip(b, Options{Width: w, Height: h, QP: 26, IDRInterval: n}, frames)
		ours := lumaPSNR(src, decode(b, stream), w, h)
		type point struct{ psnr, size float64 }
		var pts []point
		dir := b.TempDir()
		raw := filepath.Join(dir, "src.yuv")
		os.WriteFile(raw, src, 0o644)
		for qp := 14; qp <= 40; qp += 2 {
			out := filepath.Join(dir, "x264.h264")
			cmd := exec.Command("ffmpeg", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
				"-s", fmt.Sprintf("%dx%d", w, h), "-r", "30", "-i", raw, "-c:v", "libx264", "-preset", "ultrafast",
				"-profile:v", "baseline", "-qp", fmt.Sprint(qp), "-g", fmt.Sprint(n), "-f", "h264", out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("x264: %v\n%s", err, msg)
			}
			x, _ := os.ReadFile(out)
			pts = append(pts, point{lumaPSNR(src, decode(b, x), w, h), float64(len(x))})
		}
		// pts run from high to low PSNR; find the pair around ours.
		var x264 float64
		for i := 0; i+1 < len(pts); i++ {
			hi, lo := pts[i], pts[i+1]
			if ours <= hi.psnr && ours >= lo.psnr {
				t := (ours - lo.psnr) / (hi.psnr - lo.psnr)
				x264 = math.Exp(math.Log(lo.size) + t*(math.Log(hi.size)-math.Log(lo.size)))
			}
		}
		if x264 == 0 {
			b.Fatalf("PSNR %.2f outside x264's range %v", ours, pts)
		}
		b.ReportMetric(ours, "dB")
		b.ReportMetric(float64(len(stream))*8*30/n/1000, "kbit/s")
		b.ReportMetric(x264*8*30/n/1000, "x264-kbit/s")
		b.ReportMetric(float64(len(stream))/x264, "ratio")
	}
}
