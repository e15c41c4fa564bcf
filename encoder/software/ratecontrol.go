package software

import "math"

// rateControl chooses the QP of each frame: fixed, or steered by a leaky
// bucket of one second towards the target bitrate.
type rateControl struct {
	fixed    int
	perFrame float64 // target bits per frame
	window   float64 // bucket size in bits
	fullness float64 // bits spent above target so far, within ±window
	qpf      float64
}

func newRateControl(o Options) rateControl {
	rc := rateControl{fixed: o.QP, qpf: 30}
	rc.perFrame = float64(o.Bitrate) / o.FPS
	rc.window = float64(o.Bitrate)
	return rc
}

// setBitrate retargets the bucket. Its level scales with it, so that a
// bucket that was full stays full and the QP moves at once.
func (rc *rateControl) setBitrate(bps, fps float64) {
	if rc.window > 0 {
		rc.fullness *= bps / rc.window
	}
	rc.perFrame = bps / fps
	rc.window = bps
}

func (rc *rateControl) qp(idr bool) int {
	if rc.fixed > 0 {
		return rc.fixed
	}
	q := rc.qpf
	if idr {
		q -= 2 // IDRs are what every later frame refers to
	}
	return int(math.Round(min(max(q, 10), 51)))
}

func (rc *rateControl) update(bits int, idr bool) {
	if rc.fixed > 0 {
		return
	}
	rc.fullness = min(max(rc.fullness+float64(bits)-rc.perFrame, -rc.window), rc.window)
	// Aim the QP at the bucket: +6 QP halves the bits, so the correction
	// is logarithmic in how far off the last frame was, plus a pull from
	// the bucket's level.
	ratio := max(float64(bits), 1) / rc.perFrame
	if idr {
		ratio /= 4
	}
	rc.qpf += 0.5*6*math.Log2(ratio)*0.25 + 4*rc.fullness/rc.window*0.25
	rc.qpf = min(max(rc.qpf, 10), 51)
}
