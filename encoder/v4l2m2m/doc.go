// Package v4l2m2m drives a stateful V4L2 memory-to-memory (M2M) video
// encoder, such as the Raspberry Pi's bcm2835-codec, through the
// kernel's stateful encoder interface
// (Documentation/userspace-api/media/v4l/dev-encoder.rst), in pure Go on
// internal/v4l2.
//
// # Queues and state machine
//
// An M2M encoder has two queues on one file descriptor: OUTPUT takes raw
// frames in, CAPTURE gives coded frames back. Open runs the initialisation
// sequence:
//
//	QUERYCAP                 M2M (single-planar) or M2M_MPLANE; both are handled
//	S_FMT(CAPTURE)           codec fourcc and a generous sizeimage, first: the
//	                         coded format governs what OUTPUT accepts
//	S_FMT(OUTPUT)            raw fourcc and size; the driver's bytesperline and
//	                         sizeimage per plane are read back and honoured
//	G_FMT(CAPTURE)           the coded buffer size the driver settled on
//	S_SELECTION(OUTPUT crop) only when the driver aligned the size up
//	S_PARM(OUTPUT)           frame interval (skipped if the driver lacks it)
//	S_CTRL ...               bitrate, GOP, profile, level, QP, headers; each
//	                         one the driver lacks (EINVAL/ENOTTY) is skipped
//	REQBUFS, QUERYBUF, mmap  both queues (OUTPUT as DMABUF when asked)
//	QBUF(CAPTURE) all, STREAMON(OUTPUT), STREAMON(CAPTURE)
//
// Then, in the encoding state, Encode queues raw frames on OUTPUT
// (reclaiming returned OUTPUT buffers, and polling for POLLOUT when none
// is free) and Next dequeues coded frames from CAPTURE (polling for
// POLLIN). The driver copies each OUTPUT buffer's timestamp to the
// CAPTURE buffer that encodes it, so Packet.Timestamp is the frame's
// capture time. Drain sends V4L2_ENC_CMD_STOP, hands out every pending
// coded frame until the buffer flagged V4L2_BUF_FLAG_LAST (possibly
// empty; DQBUF returns EPIPE after it), and resumes with
// V4L2_ENC_CMD_START; a driver whose CAPTURE queue still returns EPIPE
// after START (vicodec, whose START does not clear vb2's
// last-buffer-dequeued state) gets STREAMOFF/STREAMON on CAPTURE
// instead, the spec's reset. Close stops both queues, unmaps, frees the
// buffers with REQBUFS(0) and closes the node.
//
// A camera pipeline runs one goroutine that calls Encode at the frame
// rate and one that loops on Next and hands each Packet (for H.264,
// Packet.AccessUnit) to the ring; or a single goroutine that calls
// Encode and then TryNext until ErrNotReady. Neither path allocates per
// frame.
//
// # Boards
//
//	board / SoC            driver          node            notes
//	Raspberry Pi 0-4, Z2W  bcm2835-codec   /dev/video11    M2M_MPLANE only, up to 1920x1920,
//	                                                       YU12 bytesperline aligned to 64,
//	                                                       NV12 to 32; YUYV/UYVY accepted
//	Raspberry Pi 5         none            -               no H.264 block: use encoder/software
//	i.MX6                  coda (CODA960)  varies          single-planar M2M
//	i.MX8QXP/QM            amphion venc    varies          M2M_MPLANE
//	i.MX8MM/8MP            vsi_v4l2enc     varies          vendor kernel, needs vsidaemon
//	Qualcomm               venus           varies          M2M_MPLANE, FORCE_KEY_FRAME
//	Exynos                 s5p-mfc         varies          M2M_MPLANE
//	TI AM62A/J721S2        wave5           varies          M2M_MPLANE
//	QEMU lab               vicodec         /dev/video1?    FWHT, not H.264; single-planar unless
//	                                                       loaded with multiplanar=1; frames
//	                                                       from 640x360 to 4096x2160
//
// Detect finds the node by its capabilities and formats rather than by
// path, since node numbers vary.
//
// # Copy once or DMABUF
//
// By default the OUTPUT queue owns MMAP buffers and Encode copies each
// RawFrame into one, once, row by row when strides differ. This is the
// path for UVC cameras: uvcvideo's buffers are vmalloc memory, which a
// dma-contig codec like bcm2835-codec cannot import, so one copy is
// unavoidable (about 55 MB/s for 720p30 YUYV).
//
// With Options.DMABUF the OUTPUT queue is V4L2_MEMORY_DMABUF and
// EncodeDMABUF queues a file descriptor, with no copy: the path for the
// Raspberry Pi camera stack (unicam/ISP buffers are dma-contig and export
// with VIDIOC_EXPBUF), as rpicam-apps does. The buffer must already have
// the encoder's layout (Config.BytesPerLine and SizeImage). The QEMU lab
// exercises this path with vicodec importing buffers exported from a
// second vicodec context (vmalloc to vmalloc); the dma-contig import
// from the Pi camera stack is untested.
package v4l2m2m
