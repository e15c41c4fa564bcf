package v4l2m2m

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

func TestNewLayout(t *testing.T) {
	tests := []struct {
		name          string
		pix           uint32
		w, h, driverH int
		bufs          []bufPlane
		want          []planeCopy
		wantErr       string
	}{
		{
			name: "YU12 tight (vicodec 640x360)", pix: v4l2.PixFmtYU12, w: 640, h: 360, driverH: 360,
			bufs: []bufPlane{{640, 640 * 360 * 3 / 2}},
			want: []planeCopy{{0, 0, 640, 640, 360}, {0, 640 * 360, 320, 320, 180}, {0, 640*360 + 320*180, 320, 320, 180}},
		},
		{
			name: "YU12 bcm2835 stride 64, height 16-aligned", pix: v4l2.PixFmtYU12, w: 1000, h: 1080, driverH: 1088,
			bufs: []bufPlane{{1024, 1024 * 1088 * 3 / 2}},
			want: []planeCopy{{0, 0, 1024, 1000, 1080}, {0, 1024 * 1088, 512, 500, 540}, {0, 1024*1088 + 512*544, 512, 500, 540}},
		},
		{
			name: "NV12", pix: v4l2.PixFmtNV12, w: 1280, h: 720, driverH: 720,
			bufs: []bufPlane{{1280, 1280 * 720 * 3 / 2}},
			want: []planeCopy{{0, 0, 1280, 1280, 720}, {0, 1280 * 720, 1280, 1280, 360}},
		},
		{
			name: "YUYV", pix: v4l2.PixFmtYUYV, w: 640, h: 480, driverH: 480,
			bufs: []bufPlane{{1280, 1280 * 480}},
			want: []planeCopy{{0, 0, 1280, 1280, 480}},
		},
		{
			name: "YU12 one buffer plane per picture plane", pix: v4l2.PixFmtYU12, w: 64, h: 32, driverH: 32,
			bufs: []bufPlane{{64, 64 * 32}, {32, 32 * 16}, {32, 32 * 16}},
			want: []planeCopy{{0, 0, 64, 64, 32}, {1, 0, 32, 32, 16}, {2, 0, 32, 32, 16}},
		},
		{
			name: "stride too small", pix: v4l2.PixFmtYUYV, w: 640, h: 480, driverH: 480,
			bufs: []bufPlane{{640, 1280 * 480}}, wantErr: "stride 640 below row size 1280",
		},
		{
			name: "sizeimage too small", pix: v4l2.PixFmtYU12, w: 640, h: 360, driverH: 360,
			bufs: []bufPlane{{640, 640 * 360}}, wantErr: "beyond the driver's sizeimage",
		},
		{
			name: "zero bytesperline", pix: v4l2.PixFmtYU12, w: 640, h: 360, driverH: 360,
			bufs: []bufPlane{{0, 640 * 360 * 2}}, wantErr: "bytesperline 0",
		},
		{
			name: "plane count mismatch", pix: v4l2.PixFmtNV12, w: 64, h: 32, driverH: 32,
			bufs: []bufPlane{{64, 4096}, {64, 4096}, {64, 4096}}, wantErr: "3 buffer planes for a 2-plane format",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := newLayout(rawFormats[tt.pix], tt.w, tt.h, tt.driverH, tt.bufs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.n != len(tt.want) {
				t.Fatalf("%d planes, want %d", l.n, len(tt.want))
			}
			for i, w := range tt.want {
				if l.planes[i] != w {
					t.Errorf("plane %d = %+v, want %+v", i, l.planes[i], w)
				}
			}
		})
	}
}

// testFrame returns a w×h YU12 frame with strides stride (luma) and
// stride/2 (chroma), filled with a pattern.
func testFrame(w, h, stride int) RawFrame {
	var f RawFrame
	sizes := []int{stride * h, stride / 2 * h / 2, stride / 2 * h / 2}
	for p := range 3 {
		f.Planes[p] = make([]byte, sizes[p])
		for i := range f.Planes[p] {
			f.Planes[p][i] = byte(i*7 + p*50)
		}
	}
	f.Strides = [3]int{stride, stride / 2, stride / 2}
	return f
}

func TestCopyFrame(t *testing.T) {
	for _, tc := range []struct {
		name              string
		srcStride, dstBPL int
	}{
		{"both tight", 64, 64},
		{"driver padded", 64, 128},
		{"source padded", 96, 64},
		{"both padded", 96, 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const w, h, driverH = 64, 32, 48
			size := tc.dstBPL * driverH * 3 / 2
			l, err := newLayout(yuv420p, w, h, driverH, []bufPlane{{tc.dstBPL, size}})
			if err != nil {
				t.Fatal(err)
			}
			f := testFrame(w, h, tc.srcStride)
			if err := l.check(&f); err != nil {
				t.Fatal(err)
			}
			dst := [][]byte{make([]byte, size)}
			l.copyFrame(dst, &f)
			// Every row of every plane lands at offset + y*stride.
			for p := range 3 {
				pc := l.planes[p]
				for y := range pc.rows {
					got := dst[0][pc.offset+y*pc.stride : pc.offset+y*pc.stride+pc.rowBytes]
					want := f.Planes[p][y*f.Strides[p] : y*f.Strides[p]+pc.rowBytes]
					if !bytes.Equal(got, want) {
						t.Fatalf("plane %d row %d differs", p, y)
					}
				}
			}
			// The Cb plane starts after driverH (not h) luma rows.
			if l.planes[1].offset != tc.dstBPL*driverH {
				t.Errorf("Cb offset %d, want %d", l.planes[1].offset, tc.dstBPL*driverH)
			}
			if allocs := testing.AllocsPerRun(20, func() { l.copyFrame(dst, &f) }); allocs != 0 {
				t.Errorf("copyFrame allocates %v times", allocs)
			}
		})
	}
}

func TestLayoutCheck(t *testing.T) {
	l, err := newLayout(yuv420p, 64, 32, 32, []bufPlane{{64, 64 * 32 * 3 / 2}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*RawFrame)
		want string
	}{
		{"ok", func(*RawFrame) {}, ""},
		{"short luma", func(f *RawFrame) { f.Planes[0] = f.Planes[0][:100] }, "plane 0 holds 100 bytes"},
		{"missing chroma", func(f *RawFrame) { f.Planes[2] = nil }, "plane 2 holds 0 bytes"},
		{"stride below width", func(f *RawFrame) { f.Strides[0] = 32 }, "plane 0 stride 32 below row size 64"},
		{"tight default stride", func(f *RawFrame) { f.Strides = [3]int{} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFrame(64, 32, 64)
			tt.mod(&f)
			err := l.check(&f)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
