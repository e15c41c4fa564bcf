package v4l2m2m

import (
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

// Packet is one coded frame from the CAPTURE queue. For H.264 it is an
// Annex-B access unit.
type Packet struct {
	// Data is the coded bytes. It aliases the driver's buffer and is
	// valid only until the next call to Encoder.Next, TryNext, Drain or
	// Close; copy it to keep it.
	Data []byte
	// Timestamp is that of the RawFrame this packet encodes, copied
	// through by the driver (microsecond resolution).
	Timestamp time.Duration
	// KeyFrame is set when the driver flags the buffer
	// V4L2_BUF_FLAG_KEYFRAME (an IDR for H.264). Not every driver sets
	// it (vicodec does not); for H.264, h264.AccessUnit.IDR tells.
	KeyFrame bool
	// Sequence is the driver's CAPTURE sequence number.
	Sequence uint32
}

// AccessUnit splits p's Annex-B data into NAL units without copying,
// appending them to nalus[:0] (pass the previous AccessUnit's NALUs to
// avoid allocating), and stamps the access unit with p.Timestamp. The
// NAL units alias p.Data and share its lifetime.
func (p Packet) AccessUnit(nalus [][]byte) h264.AccessUnit {
	nalus = nalus[:0]
	for n, rest := h264.NextNALU(p.Data); n != nil; n, rest = h264.NextNALU(rest) {
		nalus = append(nalus, n)
	}
	return h264.AccessUnit{NALUs: nalus, PTS: p.Timestamp}
}
