package v4l2

import (
	"fmt"
	"strings"
)

// FourCC is a V4L2 pixel format code: four ASCII characters packed
// little-endian into a uint32, as in linux/videodev2.h.
type FourCC uint32

// MakeFourCC packs four characters into a FourCC.
func MakeFourCC(a, b, c, d byte) FourCC {
	return FourCC(uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24)
}

// Pixel formats a Source can deliver. NV12M and YU12M are the
// multi-planar variants (one buffer per plane); frames of those formats
// are reported as NV12 and YU12.
var (
	YUYV  = MakeFourCC('Y', 'U', 'Y', 'V') // packed 4:2:2, Y0 U Y1 V
	NV12  = MakeFourCC('N', 'V', '1', '2') // 4:2:0, Y plane then interleaved UV
	NV12M = MakeFourCC('N', 'M', '1', '2') // NV12 in two buffers
	YU12  = MakeFourCC('Y', 'U', '1', '2') // 4:2:0 planar Y, U, V (I420)
	YU12M = MakeFourCC('Y', 'M', '1', '2') // YU12 in three buffers
	MJPEG = MakeFourCC('M', 'J', 'P', 'G') // Motion-JPEG
	JPEG  = MakeFourCC('J', 'P', 'E', 'G') // JFIF JPEG, treated like MJPEG
	H264  = MakeFourCC('H', '2', '6', '4') // H.264 Annex-B byte stream
)

// String returns the four characters, with non-printable bytes as '.'.
func (f FourCC) String() string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '.'
		}
	}
	return string(b)
}

// Compressed reports whether f is one of the compressed formats a
// Source knows (H264, MJPEG, JPEG).
func (f FourCC) Compressed() bool { return f == H264 || f == MJPEG || f == JPEG }

// base returns the single-buffer equivalent of a multi-planar format.
func (f FourCC) base() FourCC {
	switch f {
	case NV12M:
		return NV12
	case YU12M:
		return YU12
	}
	return f
}

// supported reports whether a Source can deliver frames of format f.
func (f FourCC) supported() bool { return rank(f) >= 0 }

// rank orders the formats for automatic selection: lower is better; -1
// means unsupported. H.264 is passed through, raw 4:2:0 goes straight to
// an encoder, YUYV needs a conversion, MJPEG needs decoding.
func rank(f FourCC) int {
	switch f {
	case H264:
		return 0
	case NV12, NV12M:
		return 1
	case YU12, YU12M:
		return 2
	case YUYV:
		return 3
	case MJPEG, JPEG:
		return 4
	}
	return -1
}

// fourccAliases maps the names ParseFourCC accepts, upper-cased, to
// formats.
var fourccAliases = map[string]FourCC{
	"YUYV": YUYV, "YUY2": YUYV,
	"NV12": NV12, "NM12": NV12M, "NV12M": NV12M,
	"YU12": YU12, "I420": YU12, "YUV420": YU12, "YM12": YU12M, "YU12M": YU12M,
	"MJPG": MJPEG, "MJPEG": MJPEG, "JPEG": JPEG,
	"H264": H264, "H.264": H264, "AVC": H264,
}

// ParseFourCC parses a pixel format name: a known name or alias in any
// case (YUYV, NV12, YU12 or I420, MJPG or MJPEG, H264 or H.264, ...) or
// any other four characters, taken literally.
func ParseFourCC(s string) (FourCC, error) {
	if f, ok := fourccAliases[strings.ToUpper(s)]; ok {
		return f, nil
	}
	if len(s) != 4 {
		return 0, fmt.Errorf("capture/v4l2: pixel format %q: not a known name nor four characters", s)
	}
	return MakeFourCC(s[0], s[1], s[2], s[3]), nil
}
