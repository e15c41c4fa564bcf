package software

import "math"

// log2MaxFrameNum is log2(MaxFrameNum) of the SPS.
const log2MaxFrameNum = 8

// levelIDC picks the lowest level (Table A-1) whose frame size and
// macroblock rate fit the stream.
func levelIDC(mbs int, fps float64) uint32 {
	rate := float64(mbs) * fps
	levels := []struct {
		idc        uint32
		frame, mbs float64
	}{
		{10, 99, 1485}, {11, 396, 3000}, {12, 396, 6000}, {13, 396, 11880},
		{20, 396, 11880}, {21, 792, 19800}, {22, 1620, 20250}, {30, 1620, 40500},
		{31, 3600, 108000}, {32, 5120, 216000}, {40, 8192, 245760}, {41, 8192, 245760},
		{42, 8704, 522240}, {50, 22080, 589824}, {51, 36864, 983040}, {52, 36864, 2073600},
	}
	for _, l := range levels {
		if float64(mbs) <= l.frame && rate <= l.mbs {
			return l.idc
		}
	}
	return 52
}

// writeSPS writes the sequence parameter set RBSP: Constrained Baseline,
// POC type 2 (output order is decoding order), one reference frame,
// cropping for sizes that are not whole macroblocks, and VUI with timing
// and a bitstream restriction that lets decoders output every frame at
// once.
func (e *Encoder) writeSPS(w *bitWriter) {
	w.reset()
	w.u(8, 66)   // profile_idc: Baseline
	w.u(8, 0xc0) // constraint_set0 and set1: Constrained Baseline
	w.u(8, levelIDC(e.mbW*e.mbH, e.fps))
	w.ue(0)                   // seq_parameter_set_id
	w.ue(log2MaxFrameNum - 4) // log2_max_frame_num_minus4
	w.ue(2)                   // pic_order_cnt_type
	w.ue(1)                   // max_num_ref_frames
	w.flag(false)             // gaps_in_frame_num_value_allowed_flag
	w.ue(uint32(e.mbW - 1))   // pic_width_in_mbs_minus1
	w.ue(uint32(e.mbH - 1))   // pic_height_in_map_units_minus1
	w.flag(true)              // frame_mbs_only_flag
	w.flag(true)              // direct_8x8_inference_flag
	cropR, cropB := e.mbW*16-e.width, e.mbH*16-e.height
	w.flag(cropR > 0 || cropB > 0) // frame_cropping_flag
	if cropR > 0 || cropB > 0 {
		w.ue(0)
		w.ue(uint32(cropR / 2)) // in units of 2 luma samples for 4:2:0
		w.ue(0)
		w.ue(uint32(cropB / 2))
	}
	w.flag(true)  // vui_parameters_present_flag
	w.flag(false) // aspect_ratio_info_present_flag
	w.flag(false) // overscan_info_present_flag
	w.flag(true)  // video_signal_type_present_flag
	w.u(3, 5)     // video_format: unspecified
	w.flag(false) // video_full_range_flag: limited range, as produced
	w.flag(true)  // colour_description_present_flag
	w.u(8, 6)     // colour_primaries: BT.601 (SMPTE 170M)
	w.u(8, 6)     // transfer_characteristics
	w.u(8, 6)     // matrix_coefficients
	w.flag(false) // chroma_loc_info_present_flag
	w.flag(true)  // timing_info_present_flag
	units, scale := timing(e.fps)
	w.u(32, units)
	w.u(32, scale)
	w.flag(true)  // fixed_frame_rate_flag
	w.flag(false) // nal_hrd_parameters_present_flag
	w.flag(false) // vcl_hrd_parameters_present_flag
	w.flag(false) // pic_struct_present_flag
	w.flag(true)  // bitstream_restriction_flag
	w.flag(true)  // motion_vectors_over_pic_boundaries_flag
	w.ue(0)       // max_bytes_per_pic_denom
	w.ue(0)       // max_bits_per_mb_denom
	w.ue(16)      // log2_max_mv_length_horizontal
	w.ue(16)      // log2_max_mv_length_vertical
	w.ue(0)       // max_num_reorder_frames
	w.ue(1)       // max_dec_frame_buffering
	w.trailing()
}

// timing returns num_units_in_tick and time_scale for a frame rate: a
// frame lasts two ticks.
func timing(fps float64) (units, scale uint32) {
	if r := math.Round(fps); math.Abs(fps-r) < 1e-6 {
		return 1, uint32(2 * r)
	}
	if r := math.Round(fps * 1001 / 1000); math.Abs(fps-r*1000/1001) < 1e-3 {
		return 1001, uint32(2 * r * 1000) // 29.97 and friends
	}
	return 1000, uint32(math.Round(2000 * fps))
}

// writePPS writes the picture parameter set RBSP: CAVLC, one slice group,
// QP 26 at picture level, and the deblocking control that lets slices turn
// the loop filter off.
func (e *Encoder) writePPS(w *bitWriter) {
	w.reset()
	w.ue(0)       // pic_parameter_set_id
	w.ue(0)       // seq_parameter_set_id
	w.flag(false) // entropy_coding_mode_flag: CAVLC
	w.flag(false) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)       // num_slice_groups_minus1
	w.ue(0)       // num_ref_idx_l0_default_active_minus1
	w.ue(0)       // num_ref_idx_l1_default_active_minus1
	w.flag(false) // weighted_pred_flag
	w.u(2, 0)     // weighted_bipred_idc
	w.se(0)       // pic_init_qp_minus26
	w.se(0)       // pic_init_qs_minus26
	w.se(0)       // chroma_qp_index_offset
	w.flag(true)  // deblocking_filter_control_present_flag
	w.flag(false) // constrained_intra_pred_flag
	w.flag(false) // redundant_pic_cnt_present_flag
	w.trailing()
}
