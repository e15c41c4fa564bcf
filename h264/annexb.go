package h264

import "bytes"

// indexStartCode returns the index of the first three-byte start code
// prefix 0x000001 in b, or -1. A four-byte start code is a zero_byte
// followed by one.
func indexStartCode(b []byte) int {
	for off := 0; ; {
		i := bytes.IndexByte(b[off:], 1)
		if i < 0 {
			return -1
		}
		i += off
		if i >= 2 && b[i-1] == 0 && b[i-2] == 0 {
			return i - 2
		}
		off = i + 1
	}
}

// NextNALU returns the first NAL unit of the Annex-B byte stream b and the
// remainder of b, which begins at the following start code.
//
// Both three- and four-byte start codes are accepted. Bytes before the
// first start code are skipped, as are trailing zero bytes after a NAL
// unit and empty NAL units. When b holds no further NAL unit, NextNALU
// returns nil, nil. It does not allocate, and nalu aliases b.
//
// A typical loop is:
//
//	for nalu, rest := h264.NextNALU(b); nalu != nil; nalu, rest = h264.NextNALU(rest) {
//		...
//	}
func NextNALU(b []byte) (nalu, rest []byte) {
	for {
		i := indexStartCode(b)
		if i < 0 {
			return nil, nil
		}
		b = b[i+3:]
		end := indexStartCode(b)
		if end < 0 {
			end = len(b)
		}
		rest = b[end:]
		// Strip trailing_zero_8bits and the zero_byte of a four-byte
		// start code: a NAL unit never ends in 0x00.
		for end > 0 && b[end-1] == 0 {
			end--
		}
		if end > 0 {
			return b[:end:end], rest
		}
		b = rest
	}
}

// SplitAnnexB returns the NAL units of the Annex-B byte stream b, as
// NextNALU finds them. The NAL units alias b.
func SplitAnnexB(b []byte) [][]byte {
	var nalus [][]byte
	for nalu, rest := NextNALU(b); nalu != nil; nalu, rest = NextNALU(rest) {
		nalus = append(nalus, nalu)
	}
	return nalus
}

// AppendAnnexB appends nalus to dst as an Annex-B byte stream, each NAL
// unit preceded by a four-byte start code, and returns the extended
// buffer. Empty NAL units are skipped.
func AppendAnnexB(dst []byte, nalus [][]byte) []byte {
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		dst = append(dst, 0, 0, 0, 1)
		dst = append(dst, n...)
	}
	return dst
}
