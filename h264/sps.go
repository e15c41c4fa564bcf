package h264

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// SPS holds the fields of a sequence parameter set (7.3.2.1.1) that
// ipcamd uses, plus those needed to reach them. It is parsed up to and
// including the VUI timing information; HRD parameters and the rest of
// the VUI are skipped.
type SPS struct {
	ProfileIDC uint8 // profile_idc, e.g. 66 (Baseline), 77 (Main), 100 (High)
	// ConstraintFlags is the second byte of the SPS: constraint_set0_flag
	// in the most significant bit through constraint_set5_flag, then
	// reserved_zero_2bits.
	ConstraintFlags uint8
	LevelIDC        uint8 // level_idc: ten times the level number, e.g. 31
	ID              uint  // seq_parameter_set_id, 0 to 31

	// ChromaFormatIDC is chroma_format_idc: 0 (monochrome), 1 (4:2:0),
	// 2 (4:2:2) or 3 (4:4:4). It is 1 for profiles that cannot signal it.
	ChromaFormatIDC     uint
	SeparateColourPlane bool // separate_colour_plane_flag
	BitDepthLuma        int  // BitDepthY, 8 to 14
	BitDepthChroma      int  // BitDepthC, 8 to 14

	Log2MaxFrameNum       uint // log2_max_frame_num_minus4 + 4
	PicOrderCntType       uint // pic_order_cnt_type, 0 to 2
	Log2MaxPicOrderCntLsb uint // log2_max_pic_order_cnt_lsb_minus4 + 4, when PicOrderCntType is 0
	MaxNumRefFrames       uint // max_num_ref_frames
	FrameMbsOnly          bool // frame_mbs_only_flag: no field or MBAFF coding

	// Width and Height are the size of the decoded pictures in pixels,
	// after the frame cropping rectangle is applied.
	Width, Height int

	// VUI timing_info. When TimingInfoPresent is false the other
	// fields are zero.
	TimingInfoPresent bool
	NumUnitsInTick    uint32 // num_units_in_tick
	TimeScale         uint32 // time_scale
	FixedFrameRate    bool   // fixed_frame_rate_flag
}

// Limits beyond which an SPS is rejected as malformed.
const (
	maxSPSID         = 31
	maxRefFrames     = 16
	maxPOCCycle      = 255
	maxPicSizeInMbs  = 2048 // per dimension: 32768 pixels
	maxLog2Minus4    = 12
	maxBitDepthMinus = 6
)

// ParseSPS parses a sequence parameter set NAL unit, including its
// one-byte NAL unit header, as it appears in an Annex-B stream or in
// sprop-parameter-sets.
func ParseSPS(nalu []byte) (*SPS, error) {
	sps, err := parseSPS(nalu)
	if err != nil {
		return nil, fmt.Errorf("h264: SPS: %w", err)
	}
	return sps, nil
}

func parseSPS(nalu []byte) (*SPS, error) {
	if len(nalu) == 0 {
		return nil, errors.New("empty NAL unit")
	}
	if nalu[0]&0x80 != 0 {
		return nil, errors.New("forbidden_zero_bit is set")
	}
	if t := Type(nalu); t != NALUSPS {
		return nil, fmt.Errorf("NAL unit type %d, want %d", t, NALUSPS)
	}
	if len(nalu) < 4 {
		return nil, errors.New("truncated")
	}
	s := &SPS{
		ProfileIDC:      nalu[1],
		ConstraintFlags: nalu[2],
		LevelIDC:        nalu[3],
		ChromaFormatIDC: 1,
		BitDepthLuma:    8,
		BitDepthChroma:  8,
	}
	r := newBitReader(nalu[1:])
	r.bits(24) // profile_idc, constraint flags, level_idc
	id := r.ue()
	if r.err == nil && id > maxSPSID {
		return nil, fmt.Errorf("seq_parameter_set_id %d out of range", id)
	}
	s.ID = uint(id)

	if hasChromaInfo(s.ProfileIDC) {
		s.ChromaFormatIDC = uint(r.ue())
		if r.err == nil && s.ChromaFormatIDC > 3 {
			return nil, fmt.Errorf("chroma_format_idc %d out of range", s.ChromaFormatIDC)
		}
		if s.ChromaFormatIDC == 3 {
			s.SeparateColourPlane = r.flag()
		}
		luma, chroma := r.ue(), r.ue()
		if r.err == nil && (luma > maxBitDepthMinus || chroma > maxBitDepthMinus) {
			return nil, fmt.Errorf("bit depth %d/%d out of range", luma+8, chroma+8)
		}
		s.BitDepthLuma, s.BitDepthChroma = int(luma)+8, int(chroma)+8
		r.flag()      // qpprime_y_zero_transform_bypass_flag
		if r.flag() { // seq_scaling_matrix_present_flag
			n := 8
			if s.ChromaFormatIDC == 3 {
				n = 12
			}
			for i := range n {
				if !r.flag() { // seq_scaling_list_present_flag[i]
					continue
				}
				size := 16
				if i >= 6 {
					size = 64
				}
				if err := skipScalingList(&r, size); err != nil {
					return nil, err
				}
			}
		}
	}

	log2MaxFrameNum := r.ue()
	if r.err == nil && log2MaxFrameNum > maxLog2Minus4 {
		return nil, fmt.Errorf("log2_max_frame_num_minus4 %d out of range", log2MaxFrameNum)
	}
	s.Log2MaxFrameNum = uint(log2MaxFrameNum) + 4

	s.PicOrderCntType = uint(r.ue())
	switch s.PicOrderCntType {
	case 0:
		lsb := r.ue()
		if r.err == nil && lsb > maxLog2Minus4 {
			return nil, fmt.Errorf("log2_max_pic_order_cnt_lsb_minus4 %d out of range", lsb)
		}
		s.Log2MaxPicOrderCntLsb = uint(lsb) + 4
	case 1:
		r.flag()    // delta_pic_order_always_zero_flag
		r.se()      // offset_for_non_ref_pic
		r.se()      // offset_for_top_to_bottom_field
		n := r.ue() // 0 on a read error, so the loop below is bounded
		if r.err == nil && n > maxPOCCycle {
			return nil, fmt.Errorf("num_ref_frames_in_pic_order_cnt_cycle %d out of range", n)
		}
		for range n {
			r.se() // offset_for_ref_frame[i]
		}
	case 2:
	default:
		if r.err == nil {
			return nil, fmt.Errorf("pic_order_cnt_type %d out of range", s.PicOrderCntType)
		}
	}

	refs := r.ue()
	if r.err == nil && refs > maxRefFrames {
		return nil, fmt.Errorf("max_num_ref_frames %d out of range", refs)
	}
	s.MaxNumRefFrames = uint(refs)
	r.flag() // gaps_in_frame_num_value_allowed_flag

	widthMbs := uint64(r.ue()) + 1
	heightMapUnits := uint64(r.ue()) + 1
	s.FrameMbsOnly = r.flag()
	if !s.FrameMbsOnly {
		r.flag() // mb_adaptive_frame_field_flag
	}
	r.flag() // direct_8x8_inference_flag
	var cropLeft, cropRight, cropTop, cropBottom uint64
	if r.flag() { // frame_cropping_flag
		cropLeft, cropRight = uint64(r.ue()), uint64(r.ue())
		cropTop, cropBottom = uint64(r.ue()), uint64(r.ue())
	}
	if r.err != nil {
		return nil, r.err
	}

	frameHeightMbs := heightMapUnits
	if !s.FrameMbsOnly {
		frameHeightMbs *= 2
	}
	if widthMbs > maxPicSizeInMbs || frameHeightMbs > maxPicSizeInMbs {
		return nil, fmt.Errorf("picture size %dx%d macroblocks too large", widthMbs, frameHeightMbs)
	}
	// Table 6-1 and equations 7-19 to 7-22.
	cropUnitX, cropUnitY := uint64(1), uint64(1)
	if !s.SeparateColourPlane && s.ChromaFormatIDC != 0 {
		if s.ChromaFormatIDC != 3 {
			cropUnitX = 2 // SubWidthC
		}
		if s.ChromaFormatIDC == 1 {
			cropUnitY = 2 // SubHeightC
		}
	}
	if !s.FrameMbsOnly {
		cropUnitY *= 2
	}
	width, height := widthMbs*16, frameHeightMbs*16
	// The offsets are bounded individually first so that the sums and
	// products below cannot overflow.
	if cropLeft >= width || cropRight >= width || cropTop >= height || cropBottom >= height ||
		cropUnitX*(cropLeft+cropRight) >= width || cropUnitY*(cropTop+cropBottom) >= height {
		return nil, fmt.Errorf("frame cropping %d,%d,%d,%d exceeds %dx%d picture",
			cropLeft, cropRight, cropTop, cropBottom, width, height)
	}
	s.Width = int(width - cropUnitX*(cropLeft+cropRight))
	s.Height = int(height - cropUnitY*(cropTop+cropBottom))

	if r.flag() { // vui_parameters_present_flag
		if err := parseVUI(&r, s); err != nil {
			return nil, fmt.Errorf("VUI: %w", err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// hasChromaInfo reports whether an SPS of the profile carries
// chroma_format_idc, bit depths and scaling matrices.
func hasChromaInfo(profileIDC uint8) bool {
	switch profileIDC {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// skipScalingList parses scaling_list (7.3.2.1.1.1) without keeping it.
func skipScalingList(r *bitReader, size int) error {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			delta := r.se()
			if r.err != nil {
				return r.err
			}
			if delta < -128 || delta > 127 {
				return fmt.Errorf("scaling list delta_scale %d out of range", delta)
			}
			next = (last + delta + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
	return nil
}

// parseVUI parses vui_parameters (E.1.1) up to and including the timing
// information.
func parseVUI(r *bitReader, s *SPS) error {
	if r.flag() { // aspect_ratio_info_present_flag
		const extendedSAR = 255
		if r.bits(8) == extendedSAR { // aspect_ratio_idc
			r.bits(16) // sar_width
			r.bits(16) // sar_height
		}
	}
	if r.flag() { // overscan_info_present_flag
		r.flag() // overscan_appropriate_flag
	}
	if r.flag() { // video_signal_type_present_flag
		r.bits(3)     // video_format
		r.flag()      // video_full_range_flag
		if r.flag() { // colour_description_present_flag
			r.bits(8) // colour_primaries
			r.bits(8) // transfer_characteristics
			r.bits(8) // matrix_coefficients
		}
	}
	if r.flag() { // chroma_loc_info_present_flag
		r.ue() // chroma_sample_loc_type_top_field
		r.ue() // chroma_sample_loc_type_bottom_field
	}
	if r.flag() { // timing_info_present_flag
		s.NumUnitsInTick = r.bits(32)
		s.TimeScale = r.bits(32)
		s.FixedFrameRate = r.flag()
		s.TimingInfoPresent = true
	}
	if r.err != nil {
		return r.err
	}
	if s.TimingInfoPresent && (s.NumUnitsInTick == 0 || s.TimeScale == 0) {
		return fmt.Errorf("timing_info: num_units_in_tick %d, time_scale %d: must be greater than 0",
			s.NumUnitsInTick, s.TimeScale)
	}
	return nil
}

// FrameRate returns the frame rate signalled by the VUI timing
// information as the fraction num/den, reduced, which is
// time_scale / (2 * num_units_in_tick). ok is false when the SPS carries
// no timing information. With fixed_frame_rate_flag unset the rate is
// only an upper bound.
func (s *SPS) FrameRate() (num, den int, ok bool) {
	if !s.TimingInfoPresent || s.NumUnitsInTick == 0 || s.TimeScale == 0 {
		return 0, 0, false
	}
	n, d := uint64(s.TimeScale), 2*uint64(s.NumUnitsInTick)
	g := gcd(n, d)
	n, d = n/g, d/g
	const maxInt = uint64(^uint(0) >> 1)
	if n > maxInt || d > maxInt {
		return 0, 0, false
	}
	return int(n), int(d), true
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ProfileLevelID returns the profile-level-id of an SPS NAL unit for SDP
// (RFC 6184 section 8.1): the hexadecimal profile_idc, constraint flags
// and level_idc, that is, bytes 1 to 3 of the NAL unit, e.g. "42c01f".
// It returns "" if sps is shorter than four bytes.
func ProfileLevelID(sps []byte) string {
	if len(sps) < 4 {
		return ""
	}
	return hex.EncodeToString(sps[1:4])
}
