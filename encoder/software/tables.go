package software

// quantMF is the forward quantisation multiplier per QP%6 for the three
// classes of 4x4 positions: both coordinates even, both odd, mixed.
var quantMF = [6][3]int32{
	{13107, 5243, 8066},
	{11916, 4660, 7490},
	{10082, 4194, 6554},
	{9362, 3647, 5825},
	{8192, 3355, 5243},
	{7282, 2893, 4559},
}

// dequantV is normAdjust4x4 of 8.5.9 (flat scaling matrices) per QP%6 for
// the same three position classes.
var dequantV = [6][3]int32{
	{10, 16, 13},
	{11, 18, 14},
	{13, 20, 16},
	{14, 23, 18},
	{16, 25, 20},
	{18, 29, 23},
}

// posClass gives the class (0 even/even, 1 odd/odd, 2 mixed) of raster
// position i of a 4x4 block.
var posClass = [16]uint8{
	0, 2, 0, 2,
	2, 1, 2, 1,
	0, 2, 0, 2,
	2, 1, 2, 1,
}

// zigzag maps scan index to raster position in a 4x4 block (Table 8-13).
var zigzag = [16]uint8{0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15}

// blk4x4XY gives the (x, y) of luma4x4BlkIdx in units of 4x4 blocks (6.4.3).
var blk4x4XY = [16][2]uint8{
	{0, 0}, {1, 0}, {0, 1}, {1, 1},
	{2, 0}, {3, 0}, {2, 1}, {3, 1},
	{0, 2}, {1, 2}, {0, 3}, {1, 3},
	{2, 2}, {3, 2}, {2, 3}, {3, 3},
}

// chromaQP maps qPI to QPc for 4:2:0 (Table 8-15).
var chromaQP = [52]uint8{
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 29, 30, 31, 32, 32, 33, 34, 34, 35, 35,
	36, 36, 37, 37, 37, 38, 38, 38, 39, 39, 39, 39,
}

// golombToInterCBP maps the codeNum of coded_block_pattern to its value
// for inter macroblocks (Table 9-4, ChromaArrayType 1).
var golombToInterCBP = [48]uint8{
	0, 16, 1, 2, 4, 8, 32, 3, 5, 10, 12, 15, 47, 7, 11, 13,
	14, 6, 9, 31, 35, 37, 42, 44, 33, 34, 36, 40, 39, 43, 45, 46,
	17, 18, 20, 24, 19, 21, 26, 28, 23, 27, 29, 30, 22, 25, 38, 41,
}

// interCBPCode is the inverse of golombToInterCBP.
var interCBPCode = func() (t [48]uint8) {
	for code, cbp := range golombToInterCBP {
		t[cbp] = uint8(code)
	}
	return t
}()
