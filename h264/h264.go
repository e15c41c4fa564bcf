package h264

import "time"

// NALUType is the nal_unit_type field of a NAL unit header (Table 7-1).
type NALUType uint8

// NAL unit types used by ipcamd.
const (
	NALUNonIDR NALUType = 1  // coded slice of a non-IDR picture
	NALUIDR    NALUType = 5  // coded slice of an IDR picture
	NALUSEI    NALUType = 6  // supplemental enhancement information
	NALUSPS    NALUType = 7  // sequence parameter set
	NALUPPS    NALUType = 8  // picture parameter set
	NALUAUD    NALUType = 9  // access unit delimiter
	NALUFiller NALUType = 12 // filler data
)

// Type returns the type of a NAL unit, or 0 for an empty one.
func Type(nalu []byte) NALUType {
	if len(nalu) == 0 {
		return 0
	}
	return NALUType(nalu[0] & 0x1f)
}

// AccessUnit is one coded picture: the NAL units that share a presentation
// time, without start codes or length prefixes.
type AccessUnit struct {
	// NALUs are the NAL units in decoding order.
	NALUs [][]byte
	// PTS is the capture time on the source's monotonic clock. It only
	// ever increases within one stream.
	PTS time.Duration
}

// IDR reports whether the access unit contains an IDR slice, that is,
// whether a decoder can start on it.
func (au *AccessUnit) IDR() bool {
	for _, n := range au.NALUs {
		if Type(n) == NALUIDR {
			return true
		}
	}
	return false
}
