package v4l2m2m

import (
	"fmt"
	"log/slog"
	"math"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// BitrateMode selects the encoder's rate control.
type BitrateMode int

// Bitrate modes. The zero value leaves the driver's default.
const (
	BitrateModeDefault BitrateMode = iota
	BitrateModeVBR                 // variable bitrate
	BitrateModeCBR                 // constant bitrate
)

// Profile is an H.264 profile.
type Profile int

// H.264 profiles. The zero value is Constrained Baseline, which every
// RTSP client and browser decodes.
const (
	ProfileConstrainedBaseline Profile = iota
	ProfileBaseline
	ProfileMain
	ProfileHigh
)

// v4l2 returns the V4L2_CID_MPEG_VIDEO_H264_PROFILE value.
func (p Profile) v4l2() int32 {
	switch p {
	case ProfileBaseline:
		return 0
	case ProfileMain:
		return v4l2.H264ProfileMain
	case ProfileHigh:
		return v4l2.H264ProfileHigh
	}
	return v4l2.H264ProfileConstrainedBaseline
}

func (p Profile) String() string {
	switch p {
	case ProfileConstrainedBaseline:
		return "constrained-baseline"
	case ProfileBaseline:
		return "baseline"
	case ProfileMain:
		return "main"
	case ProfileHigh:
		return "high"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// h264Levels maps level names to V4L2_CID_MPEG_VIDEO_H264_LEVEL values
// (enum v4l2_mpeg_video_h264_level).
var h264Levels = map[string]int32{
	"1.0": 0, "1b": 1, "1.1": 2, "1.2": 3, "1.3": 4,
	"2.0": 5, "2.1": 6, "2.2": 7,
	"3.0": 8, "3.1": 9, "3.2": 10,
	"4.0": 11, "4.1": 12, "4.2": 13,
	"5.0": 14, "5.1": 15, "5.2": 16,
	"6.0": 17, "6.1": 18, "6.2": 19,
}

// Options configures an [Encoder]. Width and Height are required; every
// other field has a default. Codec controls are optional for the driver:
// one it lacks is logged at debug level and skipped.
type Options struct {
	// Width and Height of the raw input, in pixels; even.
	Width, Height int
	// FPS is the input frame rate, set with VIDIOC_S_PARM; default 30.
	FPS float64
	// PixelFormat of the raw input: v4l2.PixFmtYU12 (the default),
	// PixFmtYV12, PixFmtNV12, PixFmtNV21, PixFmtYUYV or PixFmtUYVY.
	PixelFormat uint32
	// Codec is the coded format on the CAPTURE queue; default
	// v4l2.PixFmtH264. Tests use v4l2.PixFmtFWHT (vicodec).
	Codec uint32

	// Bitrate in bits per second; 0 leaves the driver's default.
	Bitrate int
	// BitrateMode selects VBR or CBR; default: the driver's.
	BitrateMode BitrateMode
	// GOP is the number of frames from one key frame to the next
	// (V4L2_CID_MPEG_VIDEO_GOP_SIZE, and H264_I_PERIOD for H.264); 0
	// leaves the driver's default.
	GOP int
	// Profile for H.264; default Constrained Baseline.
	Profile Profile
	// Level for H.264, such as "3.1" or "4.0"; "" leaves the driver's
	// default.
	Level string
	// MinQP and MaxQP bound the H.264 quantiser (1..51); 0 leaves the
	// driver's default.
	MinQP, MaxQP int
	// DisableRepeatSequenceHeader stops the encoder from repeating SPS
	// and PPS before every IDR frame. They are repeated by default, so
	// that any access unit with KeyFrame set can start a stream.
	DisableRepeatSequenceHeader bool

	// OutputBuffers is the number of raw frame buffers (OUTPUT queue);
	// default 4, raised to the driver's minimum.
	OutputBuffers int
	// CaptureBuffers is the number of coded frame buffers (CAPTURE
	// queue); default 8.
	CaptureBuffers int
	// CaptureBufferSize is the size of a coded frame buffer in bytes;
	// default max(512 KiB, Width*Height/2). The driver may change it.
	CaptureBufferSize int

	// DMABUF makes the OUTPUT queue import DMABUF file descriptors (see
	// Encoder.EncodeDMABUF) instead of owning MMAP buffers that
	// Encoder.Encode copies into.
	DMABUF bool

	// Logger receives the negotiated formats and skipped controls;
	// default slog.Default().
	Logger *slog.Logger
}

// Limits on what Options accepts.
const (
	maxDimension = 8192
	maxBuffers   = 32
)

// withDefaults returns a copy of o with defaults filled in, or an error
// naming the first invalid field.
func (o Options) withDefaults() (Options, error) {
	if o.Width <= 0 || o.Height <= 0 || o.Width > maxDimension || o.Height > maxDimension {
		return o, fmt.Errorf("v4l2m2m: size %dx%d out of range 1..%d", o.Width, o.Height, maxDimension)
	}
	if o.Width%2 != 0 || o.Height%2 != 0 {
		return o, fmt.Errorf("v4l2m2m: size %dx%d must be even", o.Width, o.Height)
	}
	if math.IsNaN(o.FPS) || math.IsInf(o.FPS, 0) || o.FPS < 0 || o.FPS > 1000 {
		return o, fmt.Errorf("v4l2m2m: frame rate %v out of range 0..1000", o.FPS)
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.PixelFormat == 0 {
		o.PixelFormat = v4l2.PixFmtYU12
	}
	if _, ok := rawFormats[o.PixelFormat]; !ok {
		return o, fmt.Errorf("v4l2m2m: unsupported input pixel format %s", v4l2.FourCCString(o.PixelFormat))
	}
	if o.Codec == 0 {
		o.Codec = v4l2.PixFmtH264
	}
	if _, ok := rawFormats[o.Codec]; ok {
		return o, fmt.Errorf("v4l2m2m: codec %s is a raw format", v4l2.FourCCString(o.Codec))
	}
	if o.Bitrate < 0 || o.Bitrate > math.MaxInt32 {
		return o, fmt.Errorf("v4l2m2m: bitrate %d out of range", o.Bitrate)
	}
	if o.BitrateMode < BitrateModeDefault || o.BitrateMode > BitrateModeCBR {
		return o, fmt.Errorf("v4l2m2m: unknown bitrate mode %d", o.BitrateMode)
	}
	if o.GOP < 0 || o.GOP > math.MaxInt32 {
		return o, fmt.Errorf("v4l2m2m: GOP %d out of range", o.GOP)
	}
	if o.Profile < ProfileConstrainedBaseline || o.Profile > ProfileHigh {
		return o, fmt.Errorf("v4l2m2m: unknown H.264 profile %d", o.Profile)
	}
	if _, ok := h264Levels[o.Level]; o.Level != "" && !ok {
		return o, fmt.Errorf("v4l2m2m: unknown H.264 level %q", o.Level)
	}
	for _, qp := range []int{o.MinQP, o.MaxQP} {
		if qp < 0 || qp > 51 {
			return o, fmt.Errorf("v4l2m2m: QP %d out of range 1..51", qp)
		}
	}
	if o.MinQP > 0 && o.MaxQP > 0 && o.MinQP > o.MaxQP {
		return o, fmt.Errorf("v4l2m2m: MinQP %d above MaxQP %d", o.MinQP, o.MaxQP)
	}
	if o.OutputBuffers < 0 || o.OutputBuffers > maxBuffers || o.CaptureBuffers < 0 || o.CaptureBuffers > maxBuffers {
		return o, fmt.Errorf("v4l2m2m: buffer counts %d/%d out of range 0..%d", o.OutputBuffers, o.CaptureBuffers, maxBuffers)
	}
	if o.OutputBuffers == 0 {
		o.OutputBuffers = 4
	}
	if o.CaptureBuffers == 0 {
		o.CaptureBuffers = 8
	}
	if o.CaptureBufferSize < 0 || o.CaptureBufferSize > 64<<20 {
		return o, fmt.Errorf("v4l2m2m: capture buffer size %d out of range 0..64 MiB", o.CaptureBufferSize)
	}
	if o.CaptureBufferSize == 0 {
		o.CaptureBufferSize = max(512<<10, o.Width*o.Height/2)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// frameInterval returns the frame interval for fps as a fraction in
// milliframes, reduced: 30 gives 1/30, 29.97 gives 100/2997.
func frameInterval(fps float64) v4l2.Fract {
	num, den := uint32(1000), uint32(math.Round(fps*1000))
	a, b := num, den
	for b != 0 {
		a, b = b, a%b
	}
	return v4l2.Fract{Numerator: num / a, Denominator: den / a}
}
