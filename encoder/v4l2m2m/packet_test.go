package v4l2m2m

import (
	"bytes"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

func TestPacketAccessUnit(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00, 0x21}
	tests := []struct {
		name string
		data []byte
		want [][]byte
	}{
		{"idr with headers", h264.AppendAnnexB(nil, [][]byte{sps, pps, idr}), [][]byte{sps, pps, idr}},
		{"three-byte start codes", append(append([]byte{0, 0, 1}, sps...), append([]byte{0, 0, 1}, idr...)...), [][]byte{sps, idr}},
		{"trailing zeros", append(h264.AppendAnnexB(nil, [][]byte{idr}), 0, 0), [][]byte{idr}},
		{"empty", nil, nil},
		{"no start code", []byte{1, 2, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Packet{Data: tt.data, Timestamp: 1500 * time.Millisecond, KeyFrame: true}
			au := p.AccessUnit(nil)
			if au.PTS != p.Timestamp {
				t.Errorf("PTS %v, want %v", au.PTS, p.Timestamp)
			}
			if len(au.NALUs) != len(tt.want) {
				t.Fatalf("%d NAL units, want %d", len(au.NALUs), len(tt.want))
			}
			for i, n := range au.NALUs {
				if !bytes.Equal(n, tt.want[i]) {
					t.Errorf("NALU %d = %x, want %x", i, n, tt.want[i])
				}
				// No copy: the NAL unit lies inside the packet.
				if &n[0] != &tt.data[bytes.Index(tt.data, tt.want[i])] {
					t.Errorf("NALU %d does not alias the packet", i)
				}
			}
		})
	}
	if au := (Packet{Data: tests[0].data}).AccessUnit(nil); !au.IDR() {
		t.Error("IDR() false for SPS+PPS+IDR")
	}
}

func TestPacketAccessUnitNoAlloc(t *testing.T) {
	p := Packet{Data: h264.AppendAnnexB(nil, [][]byte{{0x67, 1}, {0x68, 2}, {0x65, 3}})}
	nalus := make([][]byte, 0, 8)
	allocs := testing.AllocsPerRun(100, func() {
		au := p.AccessUnit(nalus)
		nalus = au.NALUs
	})
	if allocs != 0 {
		t.Errorf("AccessUnit with a reused slice allocates %v times", allocs)
	}
}
