package scale

import "testing"

func plane(w, h int, f func(x, y int) byte) Plane {
	p := Plane{Pix: make([]byte, w*h), Width: w, Height: h, Stride: w}
	for y := range h {
		for x := range w {
			p.Pix[y*w+x] = f(x, y)
		}
	}
	return p
}

func TestBilinear(t *testing.T) {
	tests := []struct {
		name      string
		src       Plane
		dw, dh    int
		want      func(x, y int) byte
		tolerance int
	}{
		{"flat stays flat", plane(64, 36, func(x, y int) byte { return 77 }), 32, 18, func(x, y int) byte { return 77 }, 0},
		{"2:1 averages pairs", plane(4, 2, func(x, y int) byte { return byte(100 * (x % 2)) }), 2, 1, func(x, y int) byte { return 50 }, 1},
		{"same size copies", plane(8, 8, func(x, y int) byte { return byte(x*30 + y) }), 8, 8, func(x, y int) byte { return byte(x*30 + y) }, 0},
		{"horizontal ramp stays a ramp", plane(256, 4, func(x, y int) byte { return byte(x) }), 128, 2, func(x, y int) byte { return byte(2*x + 1) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := Plane{Pix: make([]byte, tt.dw*tt.dh), Width: tt.dw, Height: tt.dh, Stride: tt.dw}
			if err := Bilinear(dst, tt.src); err != nil {
				t.Fatal(err)
			}
			for y := range tt.dh {
				for x := range tt.dw {
					got, want := int(dst.Pix[y*tt.dw+x]), int(tt.want(x, y))
					if got < want-tt.tolerance || got > want+tt.tolerance {
						t.Fatalf("(%d,%d) = %d, want %d", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestBilinearRejectsBadPlanes(t *testing.T) {
	if err := Bilinear(Plane{}, plane(4, 4, func(x, y int) byte { return 0 })); err == nil {
		t.Error("empty destination accepted")
	}
	if err := Bilinear(Plane{Pix: make([]byte, 3), Width: 2, Height: 2, Stride: 2}, plane(4, 4, func(x, y int) byte { return 0 })); err == nil {
		t.Error("short destination accepted")
	}
}

func BenchmarkBilinear720to360(b *testing.B) {
	src := plane(1280, 720, func(x, y int) byte { return byte(x ^ y) })
	dst := Plane{Pix: make([]byte, 640*360), Width: 640, Height: 360, Stride: 640}
	b.ReportAllocs()
	for b.Loop() {
		Bilinear(dst, src)
	}
}
