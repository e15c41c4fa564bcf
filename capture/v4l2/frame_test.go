package v4l2

import (
	"reflect"
	"strings"
	"testing"
)

func TestNewLayout(t *testing.T) {
	type pl = planeLayout
	tests := []struct {
		name    string
		f       FourCC
		w, h    int
		mem     []memPlane
		want    []planeLayout
		wantFmt FourCC
		wantErr string
	}{
		{"yuyv", YUYV, 640, 360, []memPlane{{1280, 460800}},
			[]pl{{stride: 1280, size: 460800}}, YUYV, ""},
		{"yuyv padded lines", YUYV, 636, 2, []memPlane{{1280, 2560}},
			[]pl{{stride: 1280, size: 2560}}, YUYV, ""},
		{"yuyv no bytesperline", YUYV, 4, 2, []memPlane{{0, 0}},
			[]pl{{stride: 8, size: 16}}, YUYV, ""},
		{"nv12", NV12, 640, 360, []memPlane{{640, 345600}},
			[]pl{{stride: 640, size: 230400}, {offset: 230400, stride: 640, size: 115200}}, NV12, ""},
		{"nv12 page padded", NV12, 640, 360, []memPlane{{640, 348160}},
			[]pl{{stride: 640, size: 230400}, {offset: 230400, stride: 640, size: 115200}}, NV12, ""},
		{"nv12 odd height", NV12, 4, 3, []memPlane{{4, 20}},
			[]pl{{stride: 4, size: 12}, {offset: 12, stride: 4, size: 8}}, NV12, ""},
		{"nv12 luma padded to 16 rows", NV12, 1920, 1080, []memPlane{{1920, 1920 * 1088 * 3 / 2}},
			[]pl{{stride: 1920, size: 1920 * 1080}, {offset: 1920 * 1088, stride: 1920, size: 1920 * 540}}, NV12, ""},
		{"yu12", YU12, 640, 360, []memPlane{{640, 345600}},
			[]pl{{stride: 640, size: 230400}, {offset: 230400, stride: 320, size: 57600}, {offset: 288000, stride: 320, size: 57600}}, YU12, ""},
		{"yu12 padded stride", YU12, 636, 2, []memPlane{{640, 640 * 3}},
			[]pl{{stride: 640, size: 1280}, {offset: 1280, stride: 320, size: 320}, {offset: 1600, stride: 320, size: 320}}, YU12, ""},
		{"yu12 luma padded to 16 rows", YU12, 1920, 1080, []memPlane{{1920, 1920 * 1088 * 3 / 2}},
			[]pl{{stride: 1920, size: 1920 * 1080}, {offset: 1920 * 1088, stride: 960, size: 960 * 540},
				{offset: 1920*1088 + 960*544, stride: 960, size: 960 * 540}}, YU12, ""},
		{"nv12m", NV12M, 640, 360, []memPlane{{640, 230400}, {640, 115200}},
			[]pl{{stride: 640, size: 230400}, {mem: 1, stride: 640, size: 115200}}, NV12, ""},
		{"yu12m", YU12M, 640, 360, []memPlane{{640, 230400}, {320, 57600}, {320, 57600}},
			[]pl{{stride: 640, size: 230400}, {mem: 1, stride: 320, size: 57600}, {mem: 2, stride: 320, size: 57600}}, YU12, ""},
		{"h264", H264, 1920, 1080, []memPlane{{0, 1 << 20}}, nil, H264, ""},
		{"mjpeg", MJPEG, 1920, 1080, []memPlane{{0, 1 << 20}}, nil, MJPEG, ""},
		{"sizeimage too small", NV12, 640, 360, []memPlane{{640, 300000}}, nil, 0, "below"},
		{"nv12m one plane", NV12M, 640, 360, []memPlane{{640, 345600}}, nil, 0, "memory planes"},
		{"unsupported", MakeFourCC('R', 'G', 'B', '3'), 640, 360, []memPlane{{1920, 691200}}, nil, 0, "not supported"},
		{"zero size", NV12, 0, 360, []memPlane{{640, 345600}}, nil, 0, "bad picture size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := newLayout(tt.f, tt.w, tt.h, tt.mem)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.planes, tt.want) || l.format != tt.wantFmt {
				t.Errorf("layout = %v %+v\nwant     %v %+v", l.format, l.planes, tt.wantFmt, tt.want)
			}
		})
	}
}

func TestLayoutFill(t *testing.T) {
	l, err := newLayout(NV12, 4, 2, []memPlane{{4, 12}})
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	var f Frame
	if !l.fill(&f, [][]byte{buf}, []int{12}) {
		t.Fatal("fill failed on a full buffer")
	}
	if len(f.Planes) != 2 || string(f.Planes[0].Data) != string(buf[:8]) || string(f.Planes[1].Data) != string(buf[8:]) ||
		f.Planes[0].Stride != 4 || f.Data != nil {
		t.Errorf("planes = %+v", f.Planes)
	}
	if &f.Planes[0].Data[0] != &buf[0] {
		t.Error("planes were copied, want them to alias the buffer")
	}
	if l.fill(&f, [][]byte{buf}, []int{11}) {
		t.Error("fill accepted a short buffer")
	}

	c, _ := newLayout(H264, 4, 2, []memPlane{{0, 100}})
	if !c.fill(&f, [][]byte{buf}, []int{5}) || len(f.Data) != 5 || f.Planes != nil {
		t.Errorf("compressed fill: data %v planes %v", f.Data, f.Planes)
	}
	if c.fill(&f, [][]byte{buf}, []int{0}) {
		t.Error("compressed fill accepted an empty buffer")
	}
}
