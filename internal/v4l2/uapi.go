package v4l2

import "unsafe"

// Buffer types (enum v4l2_buf_type).
const (
	BufTypeVideoCapture       uint32 = 1
	BufTypeVideoOutput        uint32 = 2
	BufTypeVideoCaptureMPlane uint32 = 9
	BufTypeVideoOutputMPlane  uint32 = 10
)

// Memory types (enum v4l2_memory).
const (
	MemoryMMAP   uint32 = 1
	MemoryDMABUF uint32 = 4
)

// Capabilities (V4L2_CAP_*).
const (
	CapVideoCapture       uint32 = 0x00000001
	CapVideoOutput        uint32 = 0x00000002
	CapVideoCaptureMPlane uint32 = 0x00001000
	CapVideoOutputMPlane  uint32 = 0x00002000
	CapVideoM2MMPlane     uint32 = 0x00004000
	CapVideoM2M           uint32 = 0x00008000
	CapStreaming          uint32 = 0x04000000
	CapDeviceCaps         uint32 = 0x80000000
)

// Format description flags (V4L2_FMT_FLAG_*).
const (
	FmtFlagCompressed uint32 = 0x0001
)

// Buffer flags (V4L2_BUF_FLAG_*).
const (
	BufFlagKeyFrame           uint32 = 0x00000008
	BufFlagError              uint32 = 0x00000040
	BufFlagTimestampMask      uint32 = 0x0000e000
	BufFlagTimestampMonotonic uint32 = 0x00002000
	BufFlagLast               uint32 = 0x00100000
)

// Fields (enum v4l2_field).
const (
	FieldAny  uint32 = 0
	FieldNone uint32 = 1
)

// Frame size and interval enumeration types.
const (
	FrmSizeTypeDiscrete   uint32 = 1
	FrmSizeTypeContinuous uint32 = 2
	FrmSizeTypeStepwise   uint32 = 3
	FrmIvalTypeDiscrete   uint32 = 1
	FrmIvalTypeContinuous uint32 = 2
	FrmIvalTypeStepwise   uint32 = 3
)

// Encoder commands (V4L2_ENC_CMD_*).
const (
	EncCmdStart uint32 = 0
	EncCmdStop  uint32 = 1
)

// Streaming parameter capability (V4L2_CAP_TIMEPERFRAME).
const CapTimePerFrame uint32 = 0x1000

// Codec controls (V4L2_CID_MPEG_VIDEO_*), from linux/v4l2-controls.h.
const (
	CIDMPEGVideoGOPSize            uint32 = 0x009909cb
	CIDMPEGVideoBitrateMode        uint32 = 0x009909ce
	CIDMPEGVideoBitrate            uint32 = 0x009909cf
	CIDMPEGVideoHeaderMode         uint32 = 0x009909d8
	CIDMPEGVideoRepeatSeqHeader    uint32 = 0x009909e2
	CIDMPEGVideoForceKeyFrame      uint32 = 0x009909e5
	CIDMPEGVideoH264MinQP          uint32 = 0x00990a61
	CIDMPEGVideoH264MaxQP          uint32 = 0x00990a62
	CIDMPEGVideoH264IPeriod        uint32 = 0x00990a66
	CIDMPEGVideoH264Level          uint32 = 0x00990a67
	CIDMPEGVideoH264Profile        uint32 = 0x00990a6b
	CIDMinBuffersForOutput         uint32 = 0x00980928
	CIDMinBuffersForCapture        uint32 = 0x00980927
	BitrateModeVBR                 int32  = 0
	BitrateModeCBR                 int32  = 1
	H264ProfileConstrainedBaseline int32  = 1
	H264ProfileMain                int32  = 2
	H264ProfileHigh                int32  = 4
)

// FourCC builds a pixel format code from its four characters.
func FourCC(a, b, c, d byte) uint32 {
	return uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24
}

// Pixel formats used by ipcamd.
var (
	PixFmtYUYV  = FourCC('Y', 'U', 'Y', 'V')
	PixFmtUYVY  = FourCC('U', 'Y', 'V', 'Y')
	PixFmtNV12  = FourCC('N', 'V', '1', '2')
	PixFmtNV21  = FourCC('N', 'V', '2', '1')
	PixFmtYU12  = FourCC('Y', 'U', '1', '2') // I420
	PixFmtYV12  = FourCC('Y', 'V', '1', '2')
	PixFmtMJPEG = FourCC('M', 'J', 'P', 'G')
	PixFmtJPEG  = FourCC('J', 'P', 'E', 'G')
	PixFmtH264  = FourCC('H', '2', '6', '4')
	PixFmtFWHT  = FourCC('F', 'W', 'H', 'T') // vicodec's codec
)

// FourCCString renders a pixel format as its four characters, with
// non-printable bytes as '.'.
func FourCCString(f uint32) string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '.'
		}
	}
	return string(b)
}

// Capability is struct v4l2_capability (104 bytes).
type Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

// Caps returns the capabilities of the opened node: DeviceCaps when the
// driver sets it, else Capabilities.
func (c *Capability) Caps() uint32 {
	if c.Capabilities&CapDeviceCaps != 0 {
		return c.DeviceCaps
	}
	return c.Capabilities
}

// FmtDesc is struct v4l2_fmtdesc (64 bytes).
type FmtDesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

// FrmSizeEnum is struct v4l2_frmsizeenum (44 bytes). For
// FrmSizeTypeDiscrete, Size[0:2] is width and height; for the others,
// Size is min_width, max_width, step_width, min_height, max_height,
// step_height.
type FrmSizeEnum struct {
	Index       uint32
	PixelFormat uint32
	Type        uint32
	Size        [6]uint32
	Reserved    [2]uint32
}

// Fract is struct v4l2_fract.
type Fract struct {
	Numerator, Denominator uint32
}

// FrmIvalEnum is struct v4l2_frmivalenum (52 bytes). For
// FrmIvalTypeDiscrete, Ival[0] is the interval; otherwise Ival is min,
// max and step.
type FrmIvalEnum struct {
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	Ival        [3]Fract
	Reserved    [2]uint32
}

// PixFormat is struct v4l2_pix_format (48 bytes).
type PixFormat struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	BytesPerLine uint32
	SizeImage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YcbcrEnc     uint32
	Quantization uint32
	XferFunc     uint32
}

// PlanePixFormat is struct v4l2_plane_pix_format (packed, 20 bytes).
type PlanePixFormat struct {
	SizeImage    uint32
	BytesPerLine uint32
	Reserved     [6]uint16
}

// PixFormatMPlane is struct v4l2_pix_format_mplane (packed, 192 bytes).
type PixFormatMPlane struct {
	Width        uint32
	Height       uint32
	PixelFormat  uint32
	Field        uint32
	Colorspace   uint32
	PlaneFmt     [8]PlanePixFormat
	NumPlanes    uint8
	Flags        uint8
	YcbcrEnc     uint8
	Quantization uint8
	XferFunc     uint8
	Reserved     [7]uint8
}

// Format is struct v4l2_format: 208 bytes on 64-bit, 204 on 32-bit,
// because the union holds pointers (struct v4l2_window).
type Format struct {
	Type uint32
	_    [0]uintptr // aligns the union like the kernel's
	Raw  [200]byte
}

// Pix returns the single-planar view of the format union.
func (f *Format) Pix() *PixFormat { return (*PixFormat)(unsafe.Pointer(&f.Raw[0])) }

// PixMP returns the multi-planar view of the format union.
func (f *Format) PixMP() *PixFormatMPlane { return (*PixFormatMPlane)(unsafe.Pointer(&f.Raw[0])) }

// RequestBuffers is struct v4l2_requestbuffers (20 bytes).
type RequestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

// Timeval is the kernel's struct timeval as V4L2 uses it: two C longs.
type Timeval struct {
	Sec  int
	Usec int
}

// Timecode is struct v4l2_timecode (16 bytes).
type Timecode struct {
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	Userbits [4]uint8
}

// Buffer is struct v4l2_buffer: 88 bytes on 64-bit, 68 on 32-bit arm.
// M is the union m: the MMAP offset (single-planar), the DMABUF fd, or,
// for multi-planar types, the address of a []Plane (see Device.Queue).
type Buffer struct {
	Index     uint32
	Type      uint32
	BytesUsed uint32
	Flags     uint32
	Field     uint32
	Timestamp Timeval
	Timecode  Timecode
	Sequence  uint32
	Memory    uint32
	M         uintptr
	Length    uint32
	Reserved2 uint32
	RequestFD int32
}

// Plane is struct v4l2_plane: 64 bytes on 64-bit, 60 on 32-bit arm. M
// is the MMAP offset or the DMABUF fd.
type Plane struct {
	BytesUsed  uint32
	Length     uint32
	M          uintptr
	DataOffset uint32
	Reserved   [11]uint32
}

// ExportBuffer is struct v4l2_exportbuffer (64 bytes).
type ExportBuffer struct {
	Type     uint32
	Index    uint32
	Plane    uint32
	Flags    uint32
	FD       int32
	Reserved [11]uint32
}

// CaptureParm is struct v4l2_captureparm (40 bytes); struct
// v4l2_outputparm has the same layout.
type CaptureParm struct {
	Capability   uint32
	CaptureMode  uint32
	TimePerFrame Fract
	ExtendedMode uint32
	ReadBuffers  uint32
	Reserved     [4]uint32
}

// StreamParm is struct v4l2_streamparm (204 bytes).
type StreamParm struct {
	Type uint32
	Parm CaptureParm
	_    [160]byte // the rest of the 200-byte union
}

// Control is struct v4l2_control (8 bytes).
type Control struct {
	ID    uint32
	Value int32
}

// QueryCtrl is struct v4l2_queryctrl (68 bytes).
type QueryCtrl struct {
	ID           uint32
	Type         uint32
	Name         [32]byte
	Minimum      int32
	Maximum      int32
	Step         int32
	DefaultValue int32
	Flags        uint32
	Reserved     [2]uint32
}

// EncoderCmd is struct v4l2_encoder_cmd (40 bytes).
type EncoderCmd struct {
	Cmd   uint32
	Flags uint32
	Data  [8]uint32
}

// Rect is struct v4l2_rect.
type Rect struct {
	Left, Top     int32
	Width, Height uint32
}

// Selection is struct v4l2_selection (64 bytes).
type Selection struct {
	Type     uint32
	Target   uint32
	Flags    uint32
	R        Rect
	Reserved [9]uint32
}

// Selection targets.
const (
	SelTgtCrop uint32 = 0
)

// CString returns a NUL-terminated C string from a fixed array.
func CString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
