// Package e2e holds end-to-end tests that start the real ipcamd binary and
// play its RTSP stream with real third-party clients: ffprobe and ffmpeg,
// GStreamer's rtspsrc, the gortsplib v5 client, and a raw-socket RTSP client
// written here (protocol conformance, slow-reader eviction, session
// keepalive/timeout, RTCP BYE on shutdown).
//
// It is its own Go module so that the product module does not depend on the
// test peers (gortsplib raises the go line; see shared notes test-peers.md §9).
//
// Needs: Go, and on PATH ffmpeg/ffprobe (Debian ffmpeg), gst-launch-1.0 and
// gst-inspect-1.0 with rtspsrc, rtph264depay, h264parse, srtpdec, avdec_h264
// (gstreamer1.0-tools, -plugins-good, -plugins-bad, -libav). Run
// e2e/install-peers.sh first on a fresh Debian 12 machine; a missing peer
// fails the test that needs it (tests never skip).
//
// Run:
//
//	cd e2e && go test -race -count=1 ./...
//
// By default the tests build ../cmd/ipcamd (CGO_ENABLED=0) and serve
// ../testdata/clip-720p25.h264 with it, one fresh instance per test.
// E2E_SERVER=gst runs the same tests against gst-rtsp-server instead
// (testdata/gst_rtsp_server.py, driven by /usr/bin/python3 with python3-gi
// and gir1.2-gst-rtsp-server-1.0), which validates the harness itself. Where
// ipcamd's contract is stricter than gst-rtsp-server 1.22, these fail there
// by design: 501 for an unknown method (gst: 400), CSeq echoed on a 400 and no
// reset after it, ";timeout=60" in the Session header (gst omits the
// default), expiry of a silent UDP session whose RTSP connection stays open
// (gst keeps it alive), and closing a stalled TCP client's connection (gst
// only stops sending to it).
//
// The tests are mostly waiting on the network, so unless -parallel is given
// TestMain raises it to 8.
package e2e
