// Package software is a pure-Go H.264 encoder (ITU-T H.264, Constrained
// Baseline profile) for boards without a hardware encoder and for the
// synthetic test pattern.
//
// # What it codes
//
//   - Any even picture size; sizes that are not whole macroblocks are
//     padded by edge replication and cropped in the SPS.
//   - I420 or NV12 input.
//   - I slices of Intra16x16 macroblocks, all four luma modes and all four
//     chroma modes chosen by SAD.
//   - P slices of P_Skip, P_L0_16x16 and Intra16x16 macroblocks. Motion is
//     whole-sample, from a few predictor candidates refined by a shrinking
//     diamond over ±24 samples; chroma is interpolated to eighth samples
//     as the decoder does. A macroblock whose source did not change since
//     the previous frame is skipped without any search, so a static scene
//     costs almost nothing.
//   - The 4x4 integer transform, the luma and chroma DC transforms, flat
//     quantisation, and CAVLC (9.2) with levels kept within Baseline's
//     level_prefix limit.
//   - POC type 2 and max_num_reorder_frames 0: decoders output every frame
//     at once. The loop filter is off (disable_deblocking_filter_idc 1).
//   - VUI with timing, BT.601 colour and a bitstream restriction.
//   - A fixed QP, or a rate control that steers each frame's QP with a
//     one-second leaky bucket towards a target bitrate.
//   - An IDR period, and an IDR on request ([Encoder.RequestIDR], safe from
//     any goroutine), used when a client joins.
//   - Optional slices of whole macroblock rows, encoded in parallel.
//
// The encoder keeps its own reconstruction; the tests decode its streams
// with ffmpeg and require every decoded frame to equal that reconstruction
// bit for bit. Encode allocates nothing in steady state.
package software
