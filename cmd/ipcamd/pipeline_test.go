package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/encoder/software"
)

// BenchmarkTestsrc720p30 renders and encodes one second of the default
// live pattern (30 frames at 1280x720) per op, as ipcamd does with no
// camera. %core is the share of one core that keeping up in real time
// costs.
func BenchmarkTestsrc720p30(b *testing.B) {
	p, err := newTestsrc(SourceSpec{Kind: "testsrc"}, DefaultConfig().Encoder, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	main, _ := p.settings()
	src, err := testsrc.New(testsrc.Options{Width: main.Width, Height: main.Height, FPS: main.FPS})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := software.New(p.encoderOptions(main, p.slices))
	if err != nil {
		b.Fatal(err)
	}
	var f testsrc.Frame
	f.Width, f.Height = 1280, 720
	f.Y, f.U, f.V = make([]byte, 1280*720), make([]byte, 640*360), make([]byte, 640*360)
	in := &software.Frame{Format: software.I420, Width: 1280, Height: 720}
	wall := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	seq := uint64(0)
	second := func() int {
		bytes := 0
		for range 30 {
			src.Render(&f, seq, wall.Add(time.Duration(seq)*time.Second/30))
			seq++
			in.Y, in.U, in.V = f.Y, f.U, f.V
			nalus, _, err := enc.Encode(in)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range nalus {
				bytes += len(n)
			}
		}
		return bytes
	}
	second() // warm up: the first IDR and buffers
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for b.Loop() {
		total += second()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "%core")
	b.ReportMetric(float64(total)*8/float64(b.N)/1000, "kbit/s")
}
