package v4l2

import "testing"

func TestParseFourCC(t *testing.T) {
	tests := []struct {
		in      string
		want    FourCC
		wantErr bool
	}{
		{"NV12", NV12, false},
		{"nv12", NV12, false},
		{"I420", YU12, false},
		{"yu12", YU12, false},
		{"YUYV", YUYV, false},
		{"yuy2", YUYV, false},
		{"MJPEG", MJPEG, false},
		{"mjpg", MJPEG, false},
		{"h.264", H264, false},
		{"H264", H264, false},
		{"RGB3", MakeFourCC('R', 'G', 'B', '3'), false},
		{"", 0, true},
		{"toolong", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFourCC(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFourCC(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFourCCString(t *testing.T) {
	tests := []struct {
		f    FourCC
		want string
	}{
		{NV12, "NV12"},
		{H264, "H264"},
		{MJPEG, "MJPG"},
		{MakeFourCC('a', 0, 0xff, 'b'), "a..b"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%#x.String() = %q, want %q", uint32(tt.f), got, tt.want)
		}
	}
}
