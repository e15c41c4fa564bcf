package v4l2

import (
	"errors"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

// ErrNoParameterSets is returned by H264Assembler.AccessUnit for an IDR
// frame when no SPS and PPS have been seen yet: a decoder could not use
// it.
var ErrNoParameterSets = errors.New("capture/v4l2: H.264 IDR frame before any SPS and PPS")

// H264Assembler turns the frames of an H.264 camera into access units
// whose IDRs always carry the SPS and PPS in band, as ipcamd's sources
// must deliver them. Many UVC cameras send the parameter sets only with
// the first IDR, or only once: the assembler keeps copies of the last
// SPS and PPS seen (a new SPS clears the PPS, which may depend on it)
// and inserts them before an IDR that lacks them.
//
// The zero value is ready to use. An H264Assembler is not safe for
// concurrent use.
type H264Assembler struct {
	sps, pps []byte
	nalus    [][]byte
}

// AccessUnit returns the access unit in data, an Annex-B frame, with
// PTS pts. Its NAL units alias data (but for inserted parameter sets,
// which are the assembler's own copies) and the slice holding them is
// reused by the next call: the result is valid as long as data and
// until the next call. It fails with ErrNoParameterSets for an IDR
// without parameter sets in the frame or before it, and if data holds
// no NAL unit.
func (a *H264Assembler) AccessUnit(data []byte, pts time.Duration) (h264.AccessUnit, error) {
	a.nalus = a.nalus[:0]
	var haveSPS, havePPS, idr bool
	for n, rest := h264.NextNALU(data); n != nil; n, rest = h264.NextNALU(rest) {
		switch h264.Type(n) {
		case h264.NALUSPS:
			haveSPS = true
			if string(n) != string(a.sps) {
				a.sps, a.pps = append(a.sps[:0], n...), a.pps[:0]
			}
		case h264.NALUPPS:
			havePPS = true
			a.pps = append(a.pps[:0], n...)
		case h264.NALUIDR:
			idr = true
		}
		a.nalus = append(a.nalus, n)
	}
	if len(a.nalus) == 0 {
		return h264.AccessUnit{}, errors.New("capture/v4l2: H.264 frame without NAL units")
	}
	if idr && (!haveSPS || !havePPS) {
		if len(a.sps) == 0 || len(a.pps) == 0 {
			return h264.AccessUnit{}, ErrNoParameterSets
		}
		a.insertParameterSets(!haveSPS, !havePPS)
	}
	return h264.AccessUnit{NALUs: a.nalus, PTS: pts}, nil
}

// insertParameterSets inserts the cached SPS and/or PPS after a leading
// access unit delimiter, before every other NAL unit of the access unit.
func (a *H264Assembler) insertParameterSets(sps, pps bool) {
	at := 0
	if len(a.nalus) > 0 && h264.Type(a.nalus[0]) == h264.NALUAUD {
		at = 1
	}
	var ins [][]byte
	if sps {
		ins = append(ins, a.sps)
	}
	if pps {
		ins = append(ins, a.pps)
	}
	if !sps { // keep the SPS in the frame before the inserted PPS
		for i := at; i < len(a.nalus); i++ {
			if h264.Type(a.nalus[i]) == h264.NALUSPS {
				at = i + 1
				break
			}
		}
	}
	a.nalus = append(a.nalus[:at], append(ins, a.nalus[at:]...)...)
}

// ParameterSets returns the last SPS and PPS seen, for SDP's
// sprop-parameter-sets; nil until they have been seen. They are the
// assembler's copies, valid until the next call to AccessUnit.
func (a *H264Assembler) ParameterSets() (sps, pps []byte) {
	if len(a.sps) == 0 || len(a.pps) == 0 {
		return nil, nil
	}
	return a.sps, a.pps
}
