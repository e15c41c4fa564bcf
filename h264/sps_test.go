package h264

import (
	"encoding/hex"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SPSs written by libx264 through ffmpeg; the expected values are those
// ffprobe reports.
func TestParseSPSLibx264(t *testing.T) {
	tests := []struct {
		name     string
		sps      string
		want     SPS
		num, den int
	}{{
		name: "constrained baseline 1280x720 25fps", // testdata/clip-720p25.h264
		sps:  "6742c01fda014016ec0440000003004000000ca3c60ca8",
		want: SPS{ProfileIDC: 66, ConstraintFlags: 0xc0, LevelIDC: 31, ChromaFormatIDC: 1,
			BitDepthLuma: 8, BitDepthChroma: 8, Log2MaxFrameNum: 4, PicOrderCntType: 2,
			MaxNumRefFrames: 1, FrameMbsOnly: true, Width: 1280, Height: 720,
			TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 50, FixedFrameRate: true},
		num: 25, den: 1,
	}, {
		name: "high 176x100 cropped 29.97fps",
		sps:  "6764000bacd942cff9f01100000303e90000ea600f142996",
		want: SPS{ProfileIDC: 100, LevelIDC: 11, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, Log2MaxPicOrderCntLsb: 6, MaxNumRefFrames: 4, FrameMbsOnly: true,
			Width: 176, Height: 100, TimingInfoPresent: true, NumUnitsInTick: 1001, TimeScale: 60000},
		num: 30000, den: 1001,
	}, {
		name: "high monochrome 200x150 24fps",
		sps:  "6764000cf3650d15e262f016c80000030008000003018078a14cb0",
		want: SPS{ProfileIDC: 100, LevelIDC: 12, ChromaFormatIDC: 0, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, Log2MaxPicOrderCntLsb: 6, MaxNumRefFrames: 4, FrameMbsOnly: true,
			Width: 200, Height: 150, TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 48},
		num: 24, den: 1,
	}, {
		name: "high 4:2:2 10-bit 176x144",
		sps:  "677a000bb6cd942c4ec044000003000400000300c83c50a658",
		want: SPS{ProfileIDC: 122, LevelIDC: 11, ChromaFormatIDC: 2, BitDepthLuma: 10, BitDepthChroma: 10,
			Log2MaxFrameNum: 4, Log2MaxPicOrderCntLsb: 6, MaxNumRefFrames: 4, FrameMbsOnly: true,
			Width: 176, Height: 144, TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 50},
		num: 25, den: 1,
	}, {
		name: "high 4:4:4 predictive 176x144 50fps",
		sps:  "67f4000c919b28589d80880000030008000003032078a14cb0",
		want: SPS{ProfileIDC: 244, LevelIDC: 12, ChromaFormatIDC: 3, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, Log2MaxPicOrderCntLsb: 6, MaxNumRefFrames: 4, FrameMbsOnly: true,
			Width: 176, Height: 144, TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 100},
		num: 50, den: 1,
	}, {
		name: "high MBAFF 352x288",
		sps:  "67640015acd941612d808800000300080000030190f8a14cb0",
		want: SPS{ProfileIDC: 100, LevelIDC: 21, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, Log2MaxPicOrderCntLsb: 6, MaxNumRefFrames: 4, FrameMbsOnly: false,
			Width: 352, Height: 288, TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 50},
		num: 25, den: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSPS(mustHex(t, tt.sps))
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("ParseSPS =\n%+v, want\n%+v", *got, tt.want)
			}
			num, den, ok := got.FrameRate()
			if !ok || num != tt.num || den != tt.den {
				t.Errorf("FrameRate() = %d, %d, %v, want %d, %d, true", num, den, ok, tt.num, tt.den)
			}
		})
	}
}

// SPSs built field by field, covering syntax libx264 does not emit. The
// bit writer was checked against ffmpeg's trace_headers.
func TestParseSPSSynthetic(t *testing.T) {
	tests := []struct {
		name string
		spec spsSpec
		want SPS
	}{{
		name: "scaling lists, POC type 1, fields, cropping, full VUI",
		spec: spsSpec{profile: 100, level: 40, id: 3, chroma: 1, scalingMatrix: true,
			scaling:         map[int][]int64{0: {-8}, 1: {1, 2, 3, -4, 5, 6}, 6: {3, 3, -2, 100, -100, 7}, 7: {0}},
			log2MaxFrameNum: 2, pocType: 1, pocCycle: []int64{2, -2, 5}, refs: 3,
			widthMbs: 119, heightMapUnits: 33, crop: []uint64{2, 4, 1, 3},
			vui: &vuiSpec{aspectIDC: 255, overscan: true, colour: true, chromaLoc: true,
				tick: 1001, scale: 60000, fixed: true, hrdFlag: true}},
		want: SPS{ProfileIDC: 100, LevelIDC: 40, ID: 3, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 6, PicOrderCntType: 1, MaxNumRefFrames: 3,
			Width: 1920 - 2*(2+4), Height: 1088 - 4*(1+3), // field crop unit is 4 rows
			TimingInfoPresent: true, NumUnitsInTick: 1001, TimeScale: 60000, FixedFrameRate: true},
	}, {
		name: "4:4:4 separate planes, 12 scaling lists, deep",
		spec: spsSpec{profile: 244, level: 51, id: 31, chroma: 3, separateColourPlane: true,
			depthLuma: 6, depthChroma: 4, scalingMatrix: true, scaling: map[int][]int64{9: {5}, 11: {-8, 1}},
			log2MaxFrameNum: 12, log2MaxPOCLsb: 12, refs: 16, widthMbs: 10, heightMapUnits: 8,
			frameMbsOnly: true, crop: []uint64{1, 2, 3, 4}},
		want: SPS{ProfileIDC: 244, LevelIDC: 51, ID: 31, ChromaFormatIDC: 3, SeparateColourPlane: true,
			BitDepthLuma: 14, BitDepthChroma: 12, Log2MaxFrameNum: 16, Log2MaxPicOrderCntLsb: 16,
			MaxNumRefFrames: 16, FrameMbsOnly: true, Width: 176 - 3, Height: 144 - 7},
	}, {
		name: "4:2:2 crop units",
		spec: spsSpec{profile: 122, chroma: 2, log2MaxPOCLsb: 2, pocType: 0, refs: 1,
			widthMbs: 1, heightMapUnits: 1, frameMbsOnly: true, crop: []uint64{1, 1, 1, 2}},
		want: SPS{ProfileIDC: 122, ChromaFormatIDC: 2, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, Log2MaxPicOrderCntLsb: 6, MaxNumRefFrames: 1, FrameMbsOnly: true,
			Width: 32 - 2*2, Height: 32 - 3},
	}, {
		name: "monochrome field crop units",
		spec: spsSpec{profile: 100, chroma: 0, pocType: 2, widthMbs: 1, heightMapUnits: 0,
			crop: []uint64{3, 0, 1, 0}},
		want: SPS{ProfileIDC: 100, ChromaFormatIDC: 0, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, PicOrderCntType: 2, Width: 32 - 3, Height: 32 - 2},
	}, {
		name: "baseline VUI without timing",
		spec: spsSpec{profile: 66, constraints: 0xe0, level: 10, pocType: 2, widthMbs: 10, heightMapUnits: 8,
			frameMbsOnly: true, vui: &vuiSpec{aspectIDC: 1}},
		want: SPS{ProfileIDC: 66, ConstraintFlags: 0xe0, LevelIDC: 10, ChromaFormatIDC: 1, BitDepthLuma: 8,
			BitDepthChroma: 8, Log2MaxFrameNum: 4, PicOrderCntType: 2, FrameMbsOnly: true, Width: 176, Height: 144},
	}, {
		name: "large values escape",
		spec: spsSpec{profile: 77, pocType: 1, pocCycle: []int64{-1<<31 + 1, 1<<31 - 1, 0, 0, 0, 0},
			widthMbs: 0, heightMapUnits: 0, frameMbsOnly: true,
			vui: &vuiSpec{tick: 0xffffffff, scale: 0xffffffff}},
		want: SPS{ProfileIDC: 77, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8,
			Log2MaxFrameNum: 4, PicOrderCntType: 1, FrameMbsOnly: true, Width: 16, Height: 16,
			TimingInfoPresent: true, NumUnitsInTick: 0xffffffff, TimeScale: 0xffffffff},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nalu, _ := writeSPS(tt.spec)
			got, err := ParseSPS(nalu)
			if err != nil {
				t.Fatalf("ParseSPS(%x): %v", nalu, err)
			}
			if *got != tt.want {
				t.Errorf("ParseSPS(%x) =\n%+v, want\n%+v", nalu, *got, tt.want)
			}
		})
	}
}

// Every truncation of an SPS before the end of the fields ParseSPS reads
// must fail, not panic.
func TestParseSPSTruncated(t *testing.T) {
	specs := []spsSpec{
		{profile: 100, chroma: 1, scalingMatrix: true, scaling: map[int][]int64{0: {1, 2}, 7: {-3}},
			pocType: 1, pocCycle: []int64{1, 2}, widthMbs: 79, heightMapUnits: 44, frameMbsOnly: true,
			crop: []uint64{0, 0, 0, 8}, vui: &vuiSpec{aspectIDC: 255, colour: true, tick: 1, scale: 50}},
		{profile: 66, pocType: 2, widthMbs: 10, heightMapUnits: 8, frameMbsOnly: true},
	}
	for _, spec := range specs {
		nalu, bits := writeSPS(spec)
		if _, err := ParseSPS(nalu); err != nil {
			t.Fatalf("ParseSPS(%x): %v", nalu, err)
		}
		for n := range (bits + 7) / 8 {
			if sps, err := ParseSPS(nalu[:n]); err == nil {
				t.Errorf("ParseSPS(%x) = %+v, want error", nalu[:n], sps)
			}
		}
	}
}

func TestParseSPSErrors(t *testing.T) {
	valid := spsSpec{profile: 100, chroma: 1, pocType: 0, refs: 1, widthMbs: 10, heightMapUnits: 8, frameMbsOnly: true}
	tests := []struct {
		name    string
		nalu    []byte
		errText string
	}{
		{"empty", nil, "empty"},
		{"PPS", []byte{0x68, 0xce, 0x38, 0x80}, "type 8"},
		{"forbidden bit", []byte{0xe7, 0x42, 0xc0, 0x1f, 0x80}, "forbidden_zero_bit"},
		{"header only", []byte{0x67, 0x42, 0xc0}, "truncated"},
		{"no id", []byte{0x67, 0x42, 0xc0, 0x1f}, "truncated"},
		{"exp-Golomb overflow", []byte{0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 0, 0, 1}, "exp-Golomb"},
	}
	bad := func(name, errText string, edit func(*spsSpec)) {
		s := valid
		edit(&s)
		nalu, _ := writeSPS(s)
		tests = append(tests, struct {
			name    string
			nalu    []byte
			errText string
		}{name, nalu, errText})
	}
	bad("sps id", "seq_parameter_set_id 32", func(s *spsSpec) { s.id = 32 })
	bad("chroma", "chroma_format_idc 4", func(s *spsSpec) { s.chroma = 4 })
	bad("bit depth", "bit depth 15/8", func(s *spsSpec) { s.depthLuma = 7 })
	bad("delta_scale", "delta_scale -129", func(s *spsSpec) {
		s.scalingMatrix, s.scaling = true, map[int][]int64{2: {-129}}
	})
	bad("frame num", "log2_max_frame_num_minus4 13", func(s *spsSpec) { s.log2MaxFrameNum = 13 })
	bad("poc lsb", "log2_max_pic_order_cnt_lsb_minus4 13", func(s *spsSpec) { s.log2MaxPOCLsb = 13 })
	bad("poc type", "pic_order_cnt_type 3", func(s *spsSpec) { s.pocType = 3 })
	bad("poc cycle", "num_ref_frames_in_pic_order_cnt_cycle 256", func(s *spsSpec) {
		s.pocType, s.pocCycle = 1, make([]int64, 256)
	})
	bad("refs", "max_num_ref_frames 17", func(s *spsSpec) { s.refs = 17 })
	bad("width", "too large", func(s *spsSpec) { s.widthMbs = 1<<32 - 2 })
	bad("height", "too large", func(s *spsSpec) { s.frameMbsOnly, s.heightMapUnits = false, 1024 })
	bad("crop all", "frame cropping", func(s *spsSpec) { s.crop = []uint64{44, 44, 0, 0} })
	bad("crop huge", "frame cropping", func(s *spsSpec) { s.crop = []uint64{0, 0, 1<<32 - 2, 1<<32 - 2} })
	bad("zero tick", "num_units_in_tick 0", func(s *spsSpec) { s.vui = &vuiSpec{tick: 0, scale: 50} })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sps, err := ParseSPS(tt.nalu)
			if err == nil {
				t.Fatalf("ParseSPS(%x) = %+v, want error", tt.nalu, sps)
			}
			if !strings.HasPrefix(err.Error(), "h264: SPS: ") || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("ParseSPS(%x) error = %q, want it to contain %q", tt.nalu, err, tt.errText)
			}
		})
	}
}

func TestFrameRate(t *testing.T) {
	tests := []struct {
		sps      SPS
		num, den int
		ok       bool
	}{
		{SPS{}, 0, 0, false},
		{SPS{TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 50}, 25, 1, true},
		{SPS{TimingInfoPresent: true, NumUnitsInTick: 1001, TimeScale: 60000}, 30000, 1001, true},
		{SPS{TimingInfoPresent: true, NumUnitsInTick: 1, TimeScale: 25}, 25, 2, true},
		{SPS{TimingInfoPresent: true, NumUnitsInTick: 1800, TimeScale: 90000}, 25, 1, true},
		{SPS{TimingInfoPresent: true, NumUnitsInTick: 0, TimeScale: 90000}, 0, 0, false},
		{SPS{TimingInfoPresent: true, NumUnitsInTick: 0xffffffff, TimeScale: 0xfffffffe}, 0x7fffffff, 0xffffffff, true},
	}
	for _, tt := range tests {
		num, den, ok := tt.sps.FrameRate()
		if num != tt.num || den != tt.den || ok != tt.ok {
			t.Errorf("%d/%d: FrameRate() = %d, %d, %v, want %d, %d, %v",
				tt.sps.TimeScale, tt.sps.NumUnitsInTick, num, den, ok, tt.num, tt.den, tt.ok)
		}
	}
}

func TestProfileLevelID(t *testing.T) {
	tests := []struct {
		sps  []byte
		want string
	}{
		{[]byte{0x67, 0x42, 0xc0, 0x1f, 0xd9}, "42c01f"},
		{[]byte{0x67, 0x64, 0x00, 0x28}, "640028"},
		{[]byte{0x67, 0x64, 0x00}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := ProfileLevelID(tt.sps); got != tt.want {
			t.Errorf("ProfileLevelID(%x) = %q, want %q", tt.sps, got, tt.want)
		}
	}
}

func FuzzParseSPS(f *testing.F) {
	f.Fuzz(func(t *testing.T, nalu []byte) {
		sps, err := ParseSPS(nalu)
		if err != nil {
			if sps != nil {
				t.Fatal("non-nil SPS with error")
			}
			return
		}
		if sps.Width <= 0 || sps.Height <= 0 || sps.Width > 16*maxPicSizeInMbs || sps.Height > 16*maxPicSizeInMbs {
			t.Fatalf("size %dx%d", sps.Width, sps.Height)
		}
		if sps.ID > maxSPSID || sps.ChromaFormatIDC > 3 || sps.PicOrderCntType > 2 {
			t.Fatalf("out of range field: %+v", sps)
		}
		if num, den, ok := sps.FrameRate(); ok && (num <= 0 || den <= 0) {
			t.Fatalf("FrameRate() = %d, %d", num, den)
		}
		if got, want := ProfileLevelID(nalu), hex.EncodeToString(nalu[1:4]); got != want {
			t.Fatalf("ProfileLevelID = %q, want %q", got, want)
		}
	})
}
