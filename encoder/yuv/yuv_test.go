package yuv

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestFromPacked422(t *testing.T) {
	// 4x2: row 0 Y 10 20 30 40, U 100 110, V 200 210; row 1 Y 11 21 31 41,
	// U 102 112, V 202 212.
	yuyv := []byte{
		10, 100, 20, 200, 30, 110, 40, 210, 0, 0, // 2 bytes of padding
		11, 102, 21, 202, 31, 112, 41, 212, 0, 0,
	}
	uyvy := []byte{
		100, 10, 200, 20, 110, 30, 210, 40,
		102, 11, 202, 21, 112, 31, 212, 41,
	}
	tests := []struct {
		name   string
		src    []byte
		stride int
		order  Packed422
	}{
		{"YUYV with padding", yuyv, 10, YUYV},
		{"UYVY", uyvy, 8, UYVY},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p I420
			p.Alloc(4, 2)
			if err := FromPacked422(&p, tt.src, tt.stride, tt.order); err != nil {
				t.Fatal(err)
			}
			if want := []byte{10, 20, 30, 40, 11, 21, 31, 41}; !slices.Equal(p.Y, want) {
				t.Errorf("Y %v, want %v", p.Y, want)
			}
			if want := []byte{101, 111}; !slices.Equal(p.U, want) {
				t.Errorf("U %v, want %v (rows averaged)", p.U, want)
			}
			if want := []byte{201, 211}; !slices.Equal(p.V, want) {
				t.Errorf("V %v, want %v", p.V, want)
			}
		})
	}
}

func TestFromPacked422Errors(t *testing.T) {
	var p I420
	p.Alloc(4, 2)
	if err := FromPacked422(&p, make([]byte, 15), 8, YUYV); err == nil {
		t.Error("short source accepted")
	}
	if err := FromPacked422(&p, make([]byte, 16), 6, YUYV); err == nil {
		t.Error("stride below 2×width accepted")
	}
	var odd I420
	odd.Alloc(3, 2)
	if err := FromPacked422(&odd, make([]byte, 64), 8, YUYV); err == nil {
		t.Error("odd width accepted")
	}
	small := I420{Width: 4, Height: 2, Y: make([]byte, 4), U: make([]byte, 2), V: make([]byte, 2)}
	if err := FromPacked422(&small, make([]byte, 16), 8, YUYV); err == nil {
		t.Error("short destination accepted")
	}
}

func TestFromSemiPlanar(t *testing.T) {
	y := []byte{1, 2, 3, 4, 9, 5, 6, 7, 8, 9} // stride 5
	uv := []byte{100, 200, 101, 201, 0, 0}    // stride 6, one chroma row
	for _, swap := range []bool{false, true} {
		var p I420
		p.Alloc(4, 2)
		if err := FromSemiPlanar(&p, y, 5, uv, 6, swap); err != nil {
			t.Fatal(err)
		}
		wantU, wantV := []byte{100, 101}, []byte{200, 201}
		if swap {
			wantU, wantV = wantV, wantU
		}
		if !slices.Equal(p.Y, []byte{1, 2, 3, 4, 5, 6, 7, 8}) || !slices.Equal(p.U, wantU) || !slices.Equal(p.V, wantV) {
			t.Errorf("swap %v: Y %v U %v V %v", swap, p.Y, p.U, p.V)
		}
	}
	var p I420
	p.Alloc(4, 2)
	if err := FromSemiPlanar(&p, y, 5, uv[:3], 6, false); err == nil {
		t.Error("short chroma accepted")
	}
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFromJPEG(t *testing.T) {
	// A 4:2:0 picture: luma gradient, chroma constant 90/160.
	src := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
	for i := range src.Y {
		src.Y[i] = byte(i % 64 * 3)
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = 90, 160
	}
	var p I420
	if err := FromJPEG(&p, encodeJPEG(t, src), 64, 48); err != nil {
		t.Fatal(err)
	}
	if p.Width != 64 || p.Height != 48 || len(p.U) != 32*24 {
		t.Fatalf("size %dx%d, chroma %d", p.Width, p.Height, len(p.U))
	}
	near := func(a, b byte) bool { return a-b < 6 || b-a < 6 }
	for i := range p.Y {
		if !near(p.Y[i], src.Y[i]) {
			t.Fatalf("Y[%d] = %d, want about %d", i, p.Y[i], src.Y[i])
		}
	}
	for i := range p.U {
		if !near(p.U[i], 90) || !near(p.V[i], 160) {
			t.Fatalf("chroma[%d] = %d/%d, want about 90/160", i, p.U[i], p.V[i])
		}
	}

	// Greyscale, odd size: cropped to even, neutral chroma.
	g := image.NewGray(image.Rect(0, 0, 33, 17))
	for i := range g.Pix {
		g.Pix[i] = 77
	}
	g.Set(0, 0, color.Gray{Y: 77})
	if err := FromJPEG(&p, encodeJPEG(t, g), 33, 17); err != nil {
		t.Fatal(err)
	}
	if p.Width != 32 || p.Height != 16 || p.U[0] != 128 || !near(p.Y[5], 77) {
		t.Errorf("grey: %dx%d U %d Y %d", p.Width, p.Height, p.U[0], p.Y[5])
	}

	if err := FromJPEG(&p, []byte("not a jpeg"), 64, 48); err == nil {
		t.Error("garbage decoded")
	}
}

// withSOFSize returns a copy of the JPEG b whose start of frame header
// claims width×height.
func withSOFSize(t testing.TB, b []byte, width, height int) []byte {
	t.Helper()
	b = bytes.Clone(b)
	// Segments after SOI: 0xff, marker, 2-byte length (counting itself).
	for i := 2; i+4 <= len(b) && b[i] == 0xff; {
		n := int(b[i+2])<<8 | int(b[i+3])
		if m := b[i+1]; m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			// SOFn: length, precision, height, width.
			if i+9 > len(b) {
				break
			}
			b[i+5], b[i+6] = byte(height>>8), byte(height)
			b[i+7], b[i+8] = byte(width>>8), byte(width)
			return b
		}
		i += 2 + n
	}
	t.Fatal("no start of frame header in the JPEG")
	return nil
}

// A frame's header is checked against the negotiated size before the
// decoder allocates the picture it claims.
func TestFromJPEGSize(t *testing.T) {
	const w, h = 320, 240
	small := encodeJPEG(t, image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420))
	tests := []struct {
		name    string
		data    []byte
		wantErr []string // substrings; nil: decodes to w×h
	}{
		{"expected size", small, nil},
		{"header claims 65535x65535", withSOFSize(t, small, 65535, 65535), []string{"65535x65535", "320x240"}},
		{"header claims 16384x16384", withSOFSize(t, small, 16384, 16384), []string{"16384x16384", "320x240"}},
		{"header claims 640x480", withSOFSize(t, small, 640, 480), []string{"640x480", "320x240"}},
		{"640x480 picture", encodeJPEG(t, image.NewGray(image.Rect(0, 0, 640, 480))), []string{"640x480", "320x240"}},
		{"header claims 320x0", withSOFSize(t, small, w, 0), []string{"320x0", "320x240"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				p      I420
				m0, m1 runtime.MemStats
			)
			runtime.ReadMemStats(&m0)
			err := FromJPEG(&p, tt.data, w, h)
			runtime.ReadMemStats(&m1)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if p.Width != w || p.Height != h || len(p.Y) != w*h || len(p.U) != w*h/4 {
					t.Errorf("picture %dx%d with planes %d/%d, want %dx%d", p.Width, p.Height, len(p.Y), len(p.U), w, h)
				}
				return
			}
			if err == nil {
				t.Fatalf("%d-byte frame accepted as %dx%d, want an error", len(tt.data), p.Width, p.Height)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			// Refused from the header: nothing near the picture's size
			// (a 320x240 picture alone is 112 KiB) is allocated.
			if n := m1.TotalAlloc - m0.TotalAlloc; n > 64<<10 {
				t.Errorf("refusing the %d-byte frame allocated %d bytes", len(tt.data), n)
			}
		})
	}
}

// FuzzFromJPEG: MJPEG frames come from cameras and cables; a broken one
// must give an error, never a panic. testdata/fuzz/FuzzFromJPEG holds a
// 16x16 picture whose header claims 65535x65535.
func FuzzFromJPEG(f *testing.F) {
	src := image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)
	f.Add(encodeJPEG(f, src))
	f.Add(encodeJPEG(f, image.NewGray(image.Rect(0, 0, 3, 5))))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Expect the size the header claims when it is small, so that
		// frames reach the decoder, and 16x16 otherwise, so that
		// refusals are exercised too.
		w, h := 16, 16
		if c, err := jpeg.DecodeConfig(bytes.NewReader(data)); err == nil && c.Width <= 256 && c.Height <= 256 {
			w, h = c.Width, c.Height
		}
		var p I420
		if err := FromJPEG(&p, data, w, h); err == nil {
			if p.Width != w&^1 || p.Height != h&^1 || len(p.Y) != p.Width*p.Height || len(p.U) != p.Width*p.Height/4 {
				t.Fatalf("bad picture %dx%d with planes %d/%d, want %dx%d", p.Width, p.Height, len(p.Y), len(p.U), w, h)
			}
		}
	})
}

// BenchmarkYUYV720p converts one 1280×720 YUYV frame; the floor is
// copying the same 1.8 MB.
func BenchmarkYUYV720p(b *testing.B) {
	const w, h = 1280, 720
	src := make([]byte, 2*w*h)
	for i := range src {
		src[i] = byte(i)
	}
	b.Run("convert", func(b *testing.B) {
		var p I420
		p.Alloc(w, h)
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			FromPacked422(&p, src, 2*w, YUYV)
		}
	})
	b.Run("copy-floor", func(b *testing.B) {
		dst := make([]byte, len(src))
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			copy(dst, src)
		}
	})
}
