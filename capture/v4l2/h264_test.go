package v4l2

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

// annexB builds an Annex-B frame of NAL units given as "type:payload".
func annexB(nalus ...string) []byte {
	var b []byte
	for _, n := range nalus {
		var typ int
		var payload string
		fmt.Sscanf(n, "%d:%s", &typ, &payload)
		b = append(b, 0, 0, 0, 1, byte(0x60|typ))
		b = append(b, payload...)
	}
	return b
}

// describe renders an access unit as "type:payload" NAL units.
func describe(au h264.AccessUnit) string {
	var s []string
	for _, n := range au.NALUs {
		s = append(s, fmt.Sprintf("%d:%s", h264.Type(n), n[1:]))
	}
	return strings.Join(s, " ")
}

func TestH264Assembler(t *testing.T) {
	// Each case feeds frames in order to one assembler.
	tests := []struct {
		name   string
		frames [][]byte
		want   []string // describe() of each AU, or "error: ..." text
	}{
		{"parameter sets only once", [][]byte{
			annexB("7:spsA", "8:ppsA", "5:idr1"),
			annexB("1:p1"),
			annexB("5:idr2"),
			annexB("9:aud", "6:sei", "5:idr3"),
		}, []string{
			"7:spsA 8:ppsA 5:idr1",
			"1:p1",
			"7:spsA 8:ppsA 5:idr2",
			"9:aud 7:spsA 8:ppsA 6:sei 5:idr3",
		}},
		{"IDR with SPS but no PPS", [][]byte{
			annexB("7:spsA", "8:ppsA", "5:idr1"),
			annexB("7:spsA", "5:idr2"),
		}, []string{
			"7:spsA 8:ppsA 5:idr1",
			"7:spsA 8:ppsA 5:idr2",
		}},
		{"IDR with PPS but no SPS", [][]byte{
			annexB("7:spsA", "8:ppsA", "5:idr1"),
			annexB("8:ppsB", "5:idr2"),
			annexB("5:idr3"),
		}, []string{
			"7:spsA 8:ppsA 5:idr1",
			"7:spsA 8:ppsB 5:idr2",
			"7:spsA 8:ppsB 5:idr3",
		}},
		{"new SPS clears the PPS", [][]byte{
			annexB("7:spsA", "8:ppsA", "5:idr1"),
			annexB("7:spsB", "5:idr2"),
		}, []string{
			"7:spsA 8:ppsA 5:idr1",
			"error: " + ErrNoParameterSets.Error(),
		}},
		{"IDR before parameter sets", [][]byte{
			annexB("5:idr1"),
			annexB("1:p1"),
			annexB("7:spsA", "8:ppsA"),
			annexB("5:idr2"),
		}, []string{
			"error: " + ErrNoParameterSets.Error(),
			"1:p1",
			"7:spsA 8:ppsA",
			"7:spsA 8:ppsA 5:idr2",
		}},
		{"empty frame", [][]byte{{0, 0, 0, 0}}, []string{"error: capture/v4l2: H.264 frame without NAL units"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a H264Assembler
			for i, fr := range tt.frames {
				au, err := a.AccessUnit(fr, time.Duration(i)*time.Second)
				got := describe(au)
				if err != nil {
					got = "error: " + err.Error()
				} else if au.PTS != time.Duration(i)*time.Second {
					t.Errorf("frame %d: PTS %v", i, au.PTS)
				}
				if got != tt.want[i] {
					t.Errorf("frame %d: got %q, want %q", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestH264AssemblerAliases(t *testing.T) {
	var a H264Assembler
	fr := annexB("7:sps", "8:pps", "5:idr")
	au, err := a.AccessUnit(fr, 0)
	if err != nil {
		t.Fatal(err)
	}
	if &au.NALUs[2][0] != &fr[len(fr)-4] {
		t.Error("IDR NAL unit was copied, want it to alias the frame")
	}
	// The cached parameter sets must not alias the frame, which the
	// driver reuses.
	fr[5] = 'X'
	if sps, pps := a.ParameterSets(); string(sps[1:]) != "sps" || string(pps[1:]) != "pps" {
		t.Errorf("ParameterSets = %q, %q after the frame changed", sps, pps)
	}
}

func TestHasIDR(t *testing.T) {
	if !hasIDR(annexB("9:a", "5:idr")) || hasIDR(annexB("1:p")) || hasIDR(nil) {
		t.Error("hasIDR wrong")
	}
}
