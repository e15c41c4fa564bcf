package main

import (
	"testing"

	"github.com/ipcamd/ipcamd/capture/testsrc"
)

// TestDownscale halves a 4x4 picture: each sample is the rounded mean of
// its 2x2 block, for luma and chroma, and the size stays even.
func TestDownscale(t *testing.T) {
	src := &testsrc.Frame{Width: 8, Height: 4, Seq: 7}
	src.Y = make([]byte, 8*4)
	for i := range src.Y {
		src.Y[i] = byte(i * 4)
	}
	src.U = []byte{10, 20, 30, 40, 11, 21, 31, 41} // 4x2
	src.V = []byte{0, 0, 255, 255, 0, 1, 255, 254}
	var dst testsrc.Frame
	downscale(&dst, src, 2)
	if dst.Width != 4 || dst.Height != 2 || dst.Seq != 7 {
		t.Fatalf("size %dx%d seq %d", dst.Width, dst.Height, dst.Seq)
	}
	// Block (0,0) of luma: 0, 4, 32, 36 → 18.
	if dst.Y[0] != 18 || len(dst.Y) != 8 {
		t.Fatalf("Y %v", dst.Y)
	}
	// Chroma 4x2 → 2x1: (10+20+11+21)/4 = 15.5 → 16; (30+40+31+41)/4 = 35.5 → 36.
	if len(dst.U) != 2 || dst.U[0] != 16 || dst.U[1] != 36 || dst.V[0] != 0 || dst.V[1] != 255 {
		t.Fatalf("U %v V %v", dst.U, dst.V)
	}
	// Reuse: a second call with the same factor allocates nothing.
	if n := testing.AllocsPerRun(10, func() { downscale(&dst, src, 2) }); n != 0 {
		t.Fatalf("%v allocations per downscale into a reused frame", n)
	}
}
