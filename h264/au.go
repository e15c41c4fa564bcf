package h264

import (
	"fmt"
	"slices"
)

// MaxAccessUnitNALUs is the most NAL units AUSplitter puts in one access
// unit. H.264 lets a picture have many slices, but cameras send one to a
// few dozen; the bound, generous for any real stream, keeps one that
// never starts a new picture (nothing but access unit delimiters, say, or
// slices that all continue the first) from growing one access unit
// without end.
const MaxAccessUnitNALUs = 4096

// ErrAccessUnitTooLong is returned by AUSplitter.Push for an access unit
// of more than MaxAccessUnitNALUs NAL units.
var ErrAccessUnitTooLong = fmt.Errorf("h264: more than %d NAL units in one access unit", MaxAccessUnitNALUs)

// AUSplitter groups NAL units, pushed in decoding order, into access
// units following the rules of H.264 section 7.4.1.2.3: after a VCL NAL
// unit of the current access unit, an access unit delimiter, SPS, PPS,
// SEI, a NAL unit of type 14 to 18, or a slice that starts a new primary
// coded picture begins the next access unit.
//
// A slice starts a new picture when its first_mb_in_slice is 0. This
// is a simplification of section 7.4.1.2.4 that holds for streams
// without arbitrary slice order or redundant pictures, which is every
// stream a camera encoder produces. Pictures made of several slices are
// grouped correctly.
//
// The zero value is ready to use.
type AUSplitter struct {
	cur, done [][]byte
	vcl       bool // cur holds a VCL NAL unit
	drop      bool // the current access unit is too long: discard it
}

// Push adds the next NAL unit. When nalu begins a new access unit, Push
// returns the NAL units of the previous, now complete, access unit;
// otherwise it returns nil. Empty NAL units are ignored.
//
// An access unit holds at most MaxAccessUnitNALUs NAL units. The Push
// that would add one more returns ErrAccessUnitTooLong, and the access
// unit is dropped: the NAL units pushed for it so far, and those pushed
// after it until the next access unit begins, are discarded without
// further error. Splitting then goes on as before.
//
// The returned slice is only valid until the next call to Push or
// Flush; the NAL units themselves are those that were pushed. In steady
// state Push does not allocate.
func (s *AUSplitter) Push(nalu []byte) ([][]byte, error) {
	if len(nalu) == 0 {
		return nil, nil
	}
	var au [][]byte
	if s.vcl && startsAccessUnit(nalu) {
		if s.drop {
			s.drop, s.vcl = false, false // the dropped access unit ends
		} else {
			au = s.swap()
		}
	}
	if isVCL(Type(nalu)) {
		s.vcl = true
	}
	switch {
	case s.drop:
		return nil, nil
	case len(s.cur) == MaxAccessUnitNALUs:
		clear(s.cur) // drop references to the discarded NAL units
		s.cur, s.drop = s.cur[:0], true
		return nil, ErrAccessUnitTooLong
	}
	s.cur = append(s.cur, nalu)
	return au, nil
}

// Flush returns the NAL units pushed since the last access unit was
// returned, or nil if there are none or they are being dropped, and
// resets the splitter. Call it at the end of the stream. The returned
// slice is only valid until the next call to Push or Flush.
func (s *AUSplitter) Flush() [][]byte {
	if s.drop {
		s.drop, s.vcl = false, false
		return nil
	}
	if len(s.cur) == 0 {
		return nil
	}
	return s.swap()
}

// swap completes the current access unit and returns it.
func (s *AUSplitter) swap() [][]byte {
	clear(s.done) // drop references to NAL units no longer needed
	s.done, s.cur = s.cur, s.done[:0]
	s.vcl = false
	return s.done
}

// isVCL reports whether t is a coded slice or slice data partition
// (types 1 to 5).
func isVCL(t NALUType) bool { return t >= NALUNonIDR && t <= NALUIDR }

// startsAccessUnit reports whether nalu, following a VCL NAL unit of
// the current access unit, begins a new one.
func startsAccessUnit(nalu []byte) bool {
	switch t := Type(nalu); {
	case t == NALUAUD, t == NALUSPS, t == NALUPPS, t == NALUSEI, t >= 14 && t <= 18:
		return true
	case t == NALUNonIDR, t == NALUIDR, t == 2: // slice or data partition A
		// slice_header begins with first_mb_in_slice.
		r := newBitReader(nalu[1:])
		first := r.ue()
		return r.err == nil && first == 0
	}
	return false
}

// SplitAccessUnits splits the Annex-B byte stream b into access units
// as AUSplitter does. The NAL units alias b; PTS is left zero. Access
// units of more than MaxAccessUnitNALUs NAL units are left out; use an
// AUSplitter to learn of them.
func SplitAccessUnits(b []byte) []AccessUnit {
	var (
		aus []AccessUnit
		s   AUSplitter
	)
	for nalu, rest := NextNALU(b); nalu != nil; nalu, rest = NextNALU(rest) {
		if au, _ := s.Push(nalu); au != nil {
			aus = append(aus, AccessUnit{NALUs: slices.Clone(au)})
		}
	}
	if au := s.Flush(); au != nil {
		aus = append(aus, AccessUnit{NALUs: slices.Clone(au)})
	}
	return aus
}
