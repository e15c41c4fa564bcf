// Package capture holds the video sources ipcamd can stream from: v4l2 for
// cameras, testsrc for a synthetic live pattern, file to replay Annex-B
// H.264. Each source delivers h264.AccessUnit values, one coded picture at
// a time in decoding order, to a consumer as they are produced, with a PTS
// that increases on the source's monotonic clock. Every IDR access unit
// carries its SPS and PPS in band, so a client can start decoding at any
// IDR.
//
// This package itself only holds documentation; the sources are in its
// subdirectories.
package capture
