// Package v4l2 captures video from V4L2 cameras (USB UVC webcams, CSI
// cameras behind a V4L2 capture node, the kernel's vivid test driver).
//
// Open chooses a mode — pixel format, size, frame rate — from what the
// device offers and Options, sets it and starts streaming; Run delivers
// frames to a callback until its context ends:
//
//	src, err := v4l2.Open("/dev/video0", v4l2.Options{Width: 1280, Height: 720, FPS: 30})
//	if err != nil { ... }
//	defer src.Close()
//	err = src.Run(ctx, func(f *v4l2.Frame) error { ... })
//
// # Formats
//
// Without Options.Format the preference is H.264 (passed through,
// nothing to encode), then raw NV12, YU12 (I420) and YUYV (for an
// encoder; the 4:2:0 ones first, since encoders take them as they are),
// then MJPEG; but a format that reaches the wanted frame rate at the
// chosen size beats a preferred one that does not (a USB camera's 720p
// YUYV often runs at 10 fps where its MJPEG runs at 30). Raw frames come as planes with the driver's strides
// (Frame.Planes), compressed ones as bytes (Frame.Data); an
// H264Assembler turns H.264 frames into h264.AccessUnit values with the
// SPS and PPS in front of every IDR. Frames point into the driver's
// mmap'd buffers, without copying, and are only valid during the
// callback.
//
// Timestamps are the driver's buffer timestamps (CLOCK_MONOTONIC), not
// the time of dequeueing.
//
// # Failures
//
// A device that fails while streaming — unplugged (ENODEV), I/O errors,
// poll errors, or no frame within the stall timeout — is closed and
// reopened in the same mode, with exponential backoff from MinBackoff
// to MaxBackoff, while Run keeps running: a USB camera can be replugged.
// One warning is logged when the outage starts and one line when it
// ends. The first frame after the gap has Frame.Discontinuity set, so
// that an encoder can start a new GOP. If the device comes back unable
// to deliver the same format and size (ErrFormatChanged), or as a node
// that is not a capture device (ErrNotCapture), Run returns the error:
// the pipeline was configured for the old mode and must be rebuilt.
// Open itself does not retry. Stable paths such as /dev/v4l/by-id/...
// avoid opening another device after a replug renumbers the nodes.
//
// # blackjack/webcam and internal/v4l2
//
// The project uses github.com/blackjack/webcam for what it does well,
// on single-planar capture nodes: it validates the node as a streaming
// capture device, enumerates the formats (GetSupportedFormats), frame
// sizes (GetSupportedFrameSizes) and frame rates
// (GetSupportedFramerates), sets the format (SetImageFormat) and the
// frame rate (SetFramerate, VIDIOC_S_PARM), and sets controls.
//
// It cannot stream the way ipcamd needs: it hides the buffer timestamps
// and sequence numbers, and its file descriptor. So the package opens
// the node a second time with ipcamd's internal/v4l2 binding and streams
// on that descriptor: VIDIOC_REQBUFS, mmap, VIDIOC_QBUF and
// VIDIOC_DQBUF with the driver's timestamps, and poll with a timeout.
// A capture node's format is device state, shared by every open file,
// but the package does not rely on it: it reads the format back with
// VIDIOC_G_FMT on its own descriptor, sets it there if it differs, and
// takes the strides and image size from that. The frame rate is read
// back with VIDIOC_G_PARM.
//
// internal/v4l2 also fills what webcam's enumeration loses: format flags
// (compressed) and the driver's format order, which webcam's map drops;
// continuous frame-size and frame-interval ranges, which it reports as
// zero or fails on.
//
// Multi-planar-only capture nodes (V4L2_CAP_VIDEO_CAPTURE_MPLANE without
// V4L2_CAP_VIDEO_CAPTURE, such as vivid with multiplanar=2 and some SoC
// capture drivers), which webcam refuses to open, are handled entirely
// with internal/v4l2, including NV12M and YU12M (one buffer per plane).
//
// # Listing devices
//
// List and Describe report every /dev/video* node with its driver,
// card, bus and capabilities and, for capture nodes, formats, sizes and
// rates; DeviceInfo.WriteText renders them for "ipcamd devices". They
// do not classify memory-to-memory encoders (encoder/v4l2m2m does that),
// but Caps tells them apart.
//
// # Tests
//
// The tests named TestLab... need a V4L2 device and run only with
// IPCAMD_LAB=1, inside the lab's QEMU guest with vivid as /dev/video0
// (IPCAMD_LAB_VIDEO overrides the path); elsewhere they pass at once.
package v4l2
