package rtph264_test

import (
	"fmt"

	"github.com/ipcamd/ipcamd/rtsp/rtph264"
)

func ExamplePacketizer_AppendAccessUnit() {
	p := &rtph264.Packetizer{PayloadType: 96, SSRC: 0x1234, MaxPayload: 1000}
	au := [][]byte{
		{0x67, 0x42, 0xc0, 0x1f}, // SPS
		{0x68, 0xce, 0x3c, 0x80}, // PPS
		make([]byte, 2500),       // IDR slice
	}
	au[2][0] = 0x65

	var (
		buf  []byte // reused for every access unit
		ends []int
		err  error
	)
	buf, ends, err = p.AppendAccessUnit(buf[:0], ends[:0], au, 90000)
	if err != nil {
		fmt.Println(err)
		return
	}
	start := 0
	for _, end := range ends {
		pkt := buf[start:end]
		fmt.Printf("%d bytes, marker %v, payload type %d\n", len(pkt), pkt[1]&0x80 != 0, pkt[12]&0x1f)
		start = end
	}
	// Output:
	// 25 bytes, marker false, payload type 24
	// 847 bytes, marker false, payload type 28
	// 847 bytes, marker false, payload type 28
	// 847 bytes, marker true, payload type 28
}
