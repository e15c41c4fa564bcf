package h264_test

import (
	"fmt"

	"github.com/ipcamd/ipcamd/h264"
)

func ExampleNextNALU() {
	stream := []byte{
		0, 0, 0, 1, 0x09, 0xf0, // access unit delimiter
		0, 0, 1, 0x68, 0xce, 0x3c, 0x80, // PPS, three-byte start code
		0, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0, // IDR slice, trailing zero bytes
	}
	for nalu, rest := h264.NextNALU(stream); nalu != nil; nalu, rest = h264.NextNALU(rest) {
		fmt.Printf("type %d: % x\n", h264.Type(nalu), nalu)
	}
	// Output:
	// type 9: 09 f0
	// type 8: 68 ce 3c 80
	// type 5: 65 88 84
}

func ExampleParseSPS() {
	nalu := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40,
		0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c, 0xa3, 0xc6, 0x0c, 0xa8}
	sps, err := h264.ParseSPS(nalu)
	if err != nil {
		fmt.Println(err)
		return
	}
	num, den, _ := sps.FrameRate()
	fmt.Printf("%dx%d %d/%d fps profile-level-id=%s\n", sps.Width, sps.Height, num, den, h264.ProfileLevelID(nalu))
	// Output: 1280x720 25/1 fps profile-level-id=42c01f
}
