package software

import "testing"

// BenchmarkEncode360p encodes a moving natural-looking clip (ffmpeg's
// testsrc2) at 640x360 and QP 26 on one goroutine; ns/op is per frame.
func BenchmarkEncode360p(b *testing.B) {
	frames := rawClip(b, "testsrc2", 640, 360, 30)
	e, err := New(Options{Width: 640, Height: 360, QP: 26, IDRInterval: 60})
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range frames {
		e.Encode(i420(f, 640, 360))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, _, err := e.Encode(i420(frames[i%len(frames)], 640, 360)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fps")
}
