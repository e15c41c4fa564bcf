// Package capture holds the video sources ipcamd can stream from, each in
// its own subdirectory: v4l2 for cameras, testsrc for a synthetic live
// pattern, file to replay Annex-B H.264.
//
// Sources deliver one of two things, as they are produced, with a PTS that
// increases on the source's monotonic clock:
//
//   - raw 4:2:0 frames (testsrc, and cameras without an H.264 output),
//     which an encoder turns into H.264;
//   - h264.AccessUnit values, one coded picture at a time in decoding
//     order (file, and cameras with an H.264 output). Every IDR access
//     unit carries its SPS and PPS in band, so a client can start
//     decoding at any IDR.
//
// This package itself only holds documentation.
package capture
