// Package h264 holds the small amount of H.264 (ITU-T H.264 / ISO 14496-10)
// bitstream knowledge that the rest of ipcamd shares: NAL unit types, the
// access unit that flows from a source to the RTSP server, Annex-B framing,
// and the few SPS fields that SDP and logging need.
//
// It does not decode pictures.
package h264
