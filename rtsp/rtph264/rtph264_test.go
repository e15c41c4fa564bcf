package rtph264

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// packets splits the output of AppendAccessUnit into parsed packets.
func packets(t testing.TB, buf []byte, start int, ends []int) []rtp.Packet {
	t.Helper()
	var pkts []rtp.Packet
	for _, end := range ends {
		var pkt rtp.Packet
		if err := pkt.Unmarshal(buf[start:end]); err != nil {
			t.Fatalf("packet %d: %v", len(pkts), err)
		}
		pkts = append(pkts, pkt)
		start = end
	}
	return pkts
}

// depacketize reassembles NAL units with pion's independent depacketizer.
func depacketize(t testing.TB, pkts []rtp.Packet) [][]byte {
	t.Helper()
	d := &codecs.H264Packet{IsAVC: true}
	var nalus [][]byte
	for i, pkt := range pkts {
		b, err := d.Unmarshal(pkt.Payload)
		if err != nil {
			t.Fatalf("depacketize packet %d: %v", i, err)
		}
		for len(b) > 0 {
			n := int(binary.BigEndian.Uint32(b))
			nalus = append(nalus, b[4:4+n])
			b = b[4+n:]
		}
	}
	return nalus
}

// checkPackets verifies the invariants every access unit's packets keep.
func checkPackets(t testing.TB, p *Packetizer, pkts []rtp.Packet, seq uint16, ts uint32, maxPayload int) {
	t.Helper()
	inFU := false
	for i, pkt := range pkts {
		h := pkt.Header
		if h.Version != 2 || h.Padding || h.Extension || len(h.CSRC) != 0 {
			t.Fatalf("packet %d: header %+v", i, h)
		}
		if h.PayloadType != p.PayloadType || h.SSRC != p.SSRC || h.Timestamp != ts {
			t.Fatalf("packet %d: PT %d SSRC %x ts %d, want %d %x %d", i, h.PayloadType, h.SSRC, h.Timestamp, p.PayloadType, p.SSRC, ts)
		}
		if want := seq + uint16(i); h.SequenceNumber != want {
			t.Fatalf("packet %d: sequence number %d, want %d", i, h.SequenceNumber, want)
		}
		if h.Marker != (i == len(pkts)-1) {
			t.Fatalf("packet %d of %d: marker %v", i, len(pkts), h.Marker)
		}
		if len(pkt.Payload) > maxPayload || len(pkt.Payload) == 0 {
			t.Fatalf("packet %d: payload of %d bytes, max %d", i, len(pkt.Payload), maxPayload)
		}
		switch typ := pkt.Payload[0] & 0x1f; typ {
		case typeSTAPA:
			count := 0
			for b := pkt.Payload[1:]; len(b) > 0; count++ {
				n := int(binary.BigEndian.Uint16(b))
				if n == 0 || 2+n > len(b) {
					t.Fatalf("packet %d: bad STAP-A", i)
				}
				b = b[2+n:]
			}
			if count < 2 {
				t.Fatalf("packet %d: STAP-A of %d NAL units", i, count)
			}
		case typeFUA:
			fu := pkt.Payload[1]
			if len(pkt.Payload) < 3 || fu&0x20 != 0 {
				t.Fatalf("packet %d: bad FU-A %x", i, pkt.Payload[:2])
			}
			if start := fu&fuStart != 0; start == inFU {
				t.Fatalf("packet %d: FU-A start bit %v inside fragmented NAL unit: %v", i, start, inFU)
			}
			inFU = fu&fuEnd == 0
			if fu&fuStart != 0 && fu&fuEnd != 0 {
				t.Fatalf("packet %d: FU-A with both S and E", i)
			}
		default:
			if inFU || typ == 0 || typ >= 24 {
				t.Fatalf("packet %d: type %d", i, typ)
			}
		}
	}
	if inFU {
		t.Fatal("access unit ends inside an FU-A")
	}
}

func nalu(header byte, size int) []byte {
	b := make([]byte, size)
	b[0] = header
	for i := 1; i < size; i++ {
		b[i] = byte(i)
	}
	return b
}

var (
	spsNALU = []byte{0x67, 0x42, 0xc0, 0x1f}
	ppsNALU = []byte{0x68, 0xce, 0x3c, 0x80}
	audNALU = []byte{0x09, 0xf0}
)

func TestAppendAccessUnit(t *testing.T) {
	type pkt struct {
		payload []byte // nil: only the length is checked
		size    int
	}
	tests := []struct {
		name       string
		maxPayload int
		nalus      [][]byte
		want       []pkt
	}{{
		name:  "single NAL unit",
		nalus: [][]byte{{0x65, 1, 2, 3}},
		want:  []pkt{{payload: []byte{0x65, 1, 2, 3}}},
	}, {
		name:  "parameter sets and IDR in one STAP-A",
		nalus: [][]byte{audNALU, spsNALU, ppsNALU, {0x65, 0x88}},
		want: []pkt{{payload: []byte{0x78, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 4, 0x68, 0xce, 0x3c, 0x80,
			0, 2, 0x65, 0x88}}},
	}, {
		name:       "STAP-A exactly MaxPayload",
		maxPayload: 1 + 2 + 4 + 2 + 4,
		nalus:      [][]byte{spsNALU, ppsNALU},
		want:       []pkt{{payload: []byte{0x78, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 4, 0x68, 0xce, 0x3c, 0x80}}},
	}, {
		name:       "STAP-A one byte too big",
		maxPayload: 1 + 2 + 4 + 2 + 4 - 1,
		nalus:      [][]byte{spsNALU, ppsNALU},
		want:       []pkt{{payload: spsNALU}, {payload: ppsNALU}},
	}, {
		name:       "STAP-A then single then STAP-A",
		maxPayload: 20,
		nalus:      [][]byte{spsNALU, ppsNALU, nalu(0x06, 15), {0x41, 1}, {0x41, 2}},
		want: []pkt{
			{payload: []byte{0x78, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 4, 0x68, 0xce, 0x3c, 0x80}},
			{payload: nalu(0x06, 15)},
			{payload: []byte{0x58, 0, 2, 0x41, 1, 0, 2, 0x41, 2}},
		},
	}, {
		name:  "STAP-A F and NRI",
		nalus: [][]byte{{0x26, 1}, {0xc1, 2}},
		want:  []pkt{{payload: []byte{0xd8, 0, 2, 0x26, 1, 0, 2, 0xc1, 2}}},
	}, {
		name:       "exactly MaxPayload is one packet",
		maxPayload: 100,
		nalus:      [][]byte{nalu(0x65, 100)},
		want:       []pkt{{payload: nalu(0x65, 100)}},
	}, {
		name:       "MaxPayload+1 is two FU-As",
		maxPayload: 100,
		nalus:      [][]byte{nalu(0x65, 101)},
		want: []pkt{
			{payload: append([]byte{0x7c, 0x85}, nalu(0x65, 101)[1:51]...)},
			{payload: append([]byte{0x7c, 0x45}, nalu(0x65, 101)[51:]...)},
		},
	}, {
		name:       "FU-A keeps F and NRI",
		maxPayload: 3,
		nalus:      [][]byte{{0xa1, 7, 8, 9}},
		want: []pkt{
			{payload: []byte{0xbc, 0x81, 7}},
			{payload: []byte{0xbc, 0x01, 8}},
			{payload: []byte{0xbc, 0x41, 9}},
		},
	}, {
		name:       "FU-A even split",
		maxPayload: 10,
		nalus:      [][]byte{nalu(0x41, 1+8+8+1)}, // 17 payload bytes: 6, 6, 5
		want:       []pkt{{size: 8}, {size: 8}, {size: 7}},
	}, {
		name:  "huge NAL unit",
		nalus: [][]byte{spsNALU, ppsNALU, nalu(0x65, 1+1398*50)},
		want: append([]pkt{{payload: []byte{0x78, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 4, 0x68, 0xce, 0x3c, 0x80}}},
			slices.Repeat([]pkt{{size: 1400}}, 50)...),
	}, {
		name:       "NAL units too big for STAP-A go alone",
		maxPayload: 70000,
		nalus:      [][]byte{spsNALU, nalu(0x65, 65536), ppsNALU},
		want:       []pkt{{payload: spsNALU}, {payload: nalu(0x65, 65536)}, {payload: ppsNALU}},
	}, {
		name:  "dropped NAL units",
		nalus: [][]byte{audNALU, {}, {0x0c, 0xff}, {0x00, 1}, {0x18, 1}, {0x1c, 1}, {0x1f, 1}, {0x41, 1}, audNALU},
		want:  []pkt{{payload: []byte{0x41, 1}}},
	}, {
		name:  "nothing to send",
		nalus: [][]byte{audNALU, {}, {0x0c, 0xff}},
	}, {
		name: "no NAL units",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Packetizer{PayloadType: 96, SSRC: 0xdeadbeef, MaxPayload: tt.maxPayload}
			p.SetSequence(65534)
			prefix := []byte("prefix")
			buf, ends, err := p.AppendAccessUnit(slices.Clone(prefix), nil, tt.nalus, 123456)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(buf, prefix) {
				t.Fatal("buf prefix overwritten")
			}
			if len(ends) != len(tt.want) {
				t.Fatalf("%d packets, want %d", len(ends), len(tt.want))
			}
			if len(ends) > 0 && ends[len(ends)-1] != len(buf) {
				t.Fatalf("last end %d, len(buf) %d", ends[len(ends)-1], len(buf))
			}
			pkts := packets(t, buf, len(prefix), ends)
			maxPayload := cmpOr(tt.maxPayload, DefaultMaxPayload)
			checkPackets(t, p, pkts, 65534, 123456, maxPayload)
			for i, w := range tt.want {
				if w.payload != nil && !bytes.Equal(pkts[i].Payload, w.payload) {
					t.Errorf("packet %d payload\n%x, want\n%x", i, pkts[i].Payload, w.payload)
				}
				if w.payload == nil && len(pkts[i].Payload) != w.size {
					t.Errorf("packet %d payload is %d bytes, want %d", i, len(pkts[i].Payload), w.size)
				}
			}
			if got, want := p.Sequence(), uint16(65534+len(tt.want)); got != want {
				t.Errorf("Sequence() = %d, want %d", got, want)
			}
			want := slices.DeleteFunc(slices.Clone(tt.nalus), func(n []byte) bool { return !sent(n) })
			if got := depacketize(t, pkts); !slices.EqualFunc(got, want, sameNALU) {
				t.Errorf("depacketized %x, want %x", got, want)
			}
		})
	}
}

// sameNALU compares NAL units but for the forbidden_zero_bit, which
// pion's FU-A reassembly drops.
func sameNALU(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && a[0]&0x7f == b[0]&0x7f && bytes.Equal(a[1:], b[1:])
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestAppendAccessUnitErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Packetizer
	}{
		{"MaxPayload 2", Packetizer{PayloadType: 96, MaxPayload: 2}},
		{"negative MaxPayload", Packetizer{PayloadType: 96, MaxPayload: -1}},
		{"payload type", Packetizer{PayloadType: 128}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.SetSequence(7)
			buf, ends, err := tt.p.AppendAccessUnit([]byte{1}, []int{1}, [][]byte{spsNALU, nalu(0x65, 5000)}, 0)
			if err == nil {
				t.Fatal("no error")
			}
			if !bytes.Equal(buf, []byte{1}) || !slices.Equal(ends, []int{1}) || tt.p.Sequence() != 7 {
				t.Errorf("on error: buf %x, ends %v, sequence %d", buf, ends, tt.p.Sequence())
			}
		})
	}
}

func clipAccessUnits(tb testing.TB) []h264.AccessUnit {
	tb.Helper()
	b, err := os.ReadFile("../../testdata/clip-720p25.h264")
	if err != nil {
		tb.Fatal(err)
	}
	return h264.SplitAccessUnits(b)
}

func TestRoundTripClip(t *testing.T) {
	aus := clipAccessUnits(t)
	for _, maxPayload := range []int{0, 3, 200, 1200, 65535} {
		t.Run(fmt.Sprint(maxPayload), func(t *testing.T) {
			p := &Packetizer{PayloadType: 96, SSRC: 1, MaxPayload: maxPayload}
			var (
				buf  []byte
				ends []int
				err  error
			)
			for i, au := range aus {
				seq := p.Sequence()
				ts := uint32(i * 3600)
				buf, ends, err = p.AppendAccessUnit(buf[:0], ends[:0], au.NALUs, ts)
				if err != nil {
					t.Fatal(err)
				}
				pkts := packets(t, buf, 0, ends)
				checkPackets(t, p, pkts, seq, ts, cmpOr(maxPayload, DefaultMaxPayload))
				if got := depacketize(t, pkts); !slices.EqualFunc(got, au.NALUs, bytes.Equal) {
					t.Fatalf("access unit %d: NAL units differ after round trip", i)
				}
			}
		})
	}
}

func TestAppendAccessUnitAllocs(t *testing.T) {
	aus := clipAccessUnits(t)
	p := &Packetizer{PayloadType: 96, SSRC: 1}
	var (
		buf  []byte
		ends []int
	)
	for _, au := range aus { // warm up
		buf, ends, _ = p.AppendAccessUnit(buf[:0], ends[:0], au.NALUs, 0)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		buf, ends, _ = p.AppendAccessUnit(buf[:0], ends[:0], aus[i%len(aus)].NALUs, uint32(i))
		i++
	})
	if allocs != 0 {
		t.Errorf("AppendAccessUnit: %v allocations per access unit, want 0", allocs)
	}
}

func BenchmarkAppendAccessUnit(b *testing.B) {
	aus := clipAccessUnits(b)
	total := 0
	for _, au := range aus {
		for _, n := range au.NALUs {
			total += len(n)
		}
	}
	p := &Packetizer{PayloadType: 96, SSRC: 1}
	var (
		buf  []byte
		ends []int
		err  error
	)
	b.ReportAllocs()
	b.SetBytes(int64(total / len(aus)))
	i := 0
	for b.Loop() {
		buf, ends, err = p.AppendAccessUnit(buf[:0], ends[:0], aus[i%len(aus)].NALUs, uint32(i))
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// FuzzAppendAccessUnit reads MaxPayload-3 from the first byte and then
// NAL units, each preceded by its length byte.
func FuzzAppendAccessUnit(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		maxPayload := MinMaxPayload + int(data[0])
		var nalus [][]byte
		for b := data[1:]; len(b) > 0; {
			n := min(int(b[0]), len(b)-1)
			nalus = append(nalus, b[1:1+n])
			b = b[1+n:]
		}
		p := &Packetizer{PayloadType: 96, SSRC: 42, MaxPayload: maxPayload}
		p.SetSequence(65533)
		buf, ends, err := p.AppendAccessUnit(nil, nil, nalus, 90000)
		if err != nil {
			t.Fatal(err)
		}
		pkts := packets(t, buf, 0, ends)
		checkPackets(t, p, pkts, 65533, 90000, maxPayload)
		if got, want := p.Sequence(), uint16(65533+len(pkts)); got != want {
			t.Fatalf("Sequence() = %d, want %d", got, want)
		}
		want := slices.DeleteFunc(nalus, func(n []byte) bool { return !sent(n) })
		if got := depacketize(t, pkts); !slices.EqualFunc(got, want, sameNALU) {
			t.Fatalf("depacketized\n%x, want\n%x", got, want)
		}
	})
}

func TestMediaDescription(t *testing.T) {
	sps, pps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xaa}, []byte{0x68, 0xce}
	md, err := MediaDescription(sps, pps, "trackID=0")
	if err != nil {
		t.Fatal(err)
	}
	want := "96 packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=Z0LAH6o=,aM4="
	if v, _ := md.Attribute("fmtp"); v != want {
		t.Errorf("fmtp %q, want %q", v, want)
	}
	if v, _ := md.Attribute("control"); v != "trackID=0" {
		t.Errorf("control %q", v)
	}
	if _, err := MediaDescription(sps[:3], pps, "x"); err == nil {
		t.Error("a 3-byte SPS was accepted")
	}
}
