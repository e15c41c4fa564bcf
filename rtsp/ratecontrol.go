package rtsp

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RateController steers one stream's encoder bitrate from the RTCP receiver
// reports of its unicast UDP clients. It is pure logic, driven by the
// caller's clock: feed it every report with [RateController.Report] and
// call [RateController.Tick] about every quarter second. It is not safe for
// concurrent use.
//
// The control law (AIMD with hysteresis):
//
//   - One encoder serves every client of the stream, so the worst fresh
//     client sets the rate. Only unicast UDP clients are fed in: TCP
//     clients cannot lose packets (they count as no loss), and multicast
//     receivers share a group whose rate is not theirs alone. A client
//     whose latest report is older than StaleAfter no longer counts.
//   - Back off fast: a report with loss at or above HighLoss (3%) cuts the
//     rate at once by the factor 1−2·loss, kept within [0.5, 0.85] (5% loss
//     → ×0.85, 10% → ×0.8, 25% or more → ×0.5), at most once per
//     BackoffInterval (1 s), never below Min.
//   - Hold: loss between LowLoss (1%) and HighLoss, or jitter more than
//     JitterRise (30 ms) above the lowest the client has reported (a queue
//     building up), changes nothing but restarts the quiet period below.
//     The gap between the two loss thresholds is the hysteresis: noise
//     around 1–2% neither backs off nor probes.
//   - Probe up slowly: once no report has been bad (at or above LowLoss,
//     or jittery) for ProbeAfter (10 s) and every fresh client's latest
//     report is clean, the rate grows by ProbeStep (5%) of Max every
//     ProbeInterval (1 s), up to Max: from Min back to Max within 30 s.
//     Without fresh reports (no UDP clients) it probes likewise, so that
//     the rate returns to Max when the lossy clients leave.
//
// Every change is reported with its reason; the rate does not otherwise
// move. Since a single bad report restarts the 10 s quiet period and
// probing never starts while any client's latest report is bad, steady
// or intermittent loss only ever lowers the rate, and it rises again only
// after the loss has ended: no oscillation between the two.
type RateController struct {
	cfg RateConfig

	rate        int
	clients     map[string]*rateClient
	lastBackoff time.Time
	lastBad     time.Time
	lastProbe   time.Time
	started     bool
}

// RateConfig configures a [RateController]. Min and Max are required;
// zero values of the others take the defaults given in brackets.
type RateConfig struct {
	Min, Max int // bits per second

	HighLoss        float64       // back off at or above this loss [0.03]
	LowLoss         float64       // a report below this is clean [0.01]
	JitterRise      time.Duration // jitter this far above the client's lowest holds [30 ms]
	BackoffInterval time.Duration // at most one back-off per [1 s]
	ProbeAfter      time.Duration // quiet time before probing up [10 s]
	ProbeInterval   time.Duration // time between probe steps [1 s]
	ProbeStep       float64       // step up, as a fraction of Max [0.05]
	StaleAfter      time.Duration // a client's report counts this long [15 s]
}

func (c *RateConfig) defaults() {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.HighLoss, 0.03)
	def(&c.LowLoss, 0.01)
	def(&c.ProbeStep, 0.05)
	defDur(&c.JitterRise, 30*time.Millisecond)
	defDur(&c.BackoffInterval, time.Second)
	defDur(&c.ProbeAfter, 10*time.Second)
	defDur(&c.ProbeInterval, time.Second)
	defDur(&c.StaleAfter, 15*time.Second)
	if c.Min <= 0 {
		c.Min = 1
	}
	c.Max = max(c.Max, c.Min)
}

type rateClient struct {
	at        time.Time // of the latest report
	loss      float64
	jitter    time.Duration
	minJitter time.Duration
	bad       bool // the latest report was not clean
}

// RateChange is a decision of a [RateController].
type RateChange struct {
	Bitrate, From int
	Reason        string
	Loss          float64 // the loss that caused a back-off
}

// NewRateController returns a controller that starts at cfg.Max.
func NewRateController(cfg RateConfig) *RateController {
	cfg.defaults()
	return &RateController{cfg: cfg, rate: cfg.Max, clients: make(map[string]*rateClient)}
}

// Bitrate returns the current target.
func (rc *RateController) Bitrate() int { return rc.rate }

// Config returns the configuration with its defaults filled in.
func (rc *RateController) Config() RateConfig { return rc.cfg }

// Report takes one receiver report of client (any stable key, such as the
// session ID): fractionLost in 1/256 as RTCP carries it, and the
// interarrival jitter. It returns the change it makes, if any.
func (rc *RateController) Report(now time.Time, client string, fractionLost uint8, jitter time.Duration) (RateChange, bool) {
	c := rc.clients[client]
	if c == nil {
		c = &rateClient{minJitter: jitter}
		rc.clients[client] = c
	}
	loss := float64(fractionLost) / 256
	c.at, c.loss, c.jitter = now, loss, jitter
	c.minJitter = min(c.minJitter, jitter)
	jittery := jitter > c.minJitter+rc.cfg.JitterRise
	c.bad = loss >= rc.cfg.LowLoss || jittery
	if c.bad {
		rc.lastBad = now
	}
	if loss < rc.cfg.HighLoss || rc.rate <= rc.cfg.Min ||
		(!rc.lastBackoff.IsZero() && now.Sub(rc.lastBackoff) < rc.cfg.BackoffInterval) {
		return RateChange{}, false
	}
	factor := min(max(1-2*loss, 0.5), 0.85)
	ch := RateChange{From: rc.rate, Bitrate: max(rc.cfg.Min, int(float64(rc.rate)*factor)), Loss: loss,
		Reason: fmt.Sprintf("back off: a client reported %.1f%% loss", 100*loss)}
	rc.rate, rc.lastBackoff = ch.Bitrate, now
	return ch, true
}

// Tick forgets stale clients and probes up when the time has come. It
// returns the change it makes, if any.
func (rc *RateController) Tick(now time.Time) (RateChange, bool) {
	if !rc.started {
		// The quiet period counts from the controller's first tick.
		rc.started, rc.lastBad = true, now
	}
	clean := true
	for k, c := range rc.clients {
		if now.Sub(c.at) > rc.cfg.StaleAfter {
			delete(rc.clients, k)
			continue
		}
		clean = clean && !c.bad
	}
	if !clean || rc.rate >= rc.cfg.Max || now.Sub(rc.lastBad) < rc.cfg.ProbeAfter ||
		now.Sub(rc.lastBackoff) < rc.cfg.ProbeAfter ||
		(!rc.lastProbe.IsZero() && now.Sub(rc.lastProbe) < rc.cfg.ProbeInterval) {
		return RateChange{}, false
	}
	step := max(1, int(rc.cfg.ProbeStep*float64(rc.cfg.Max)))
	ch := RateChange{From: rc.rate, Bitrate: min(rc.cfg.Max, rc.rate+step)}
	if len(rc.clients) == 0 {
		ch.Reason = "probe up: no client reports"
	} else {
		ch.Reason = fmt.Sprintf("probe up: no loss for %v", now.Sub(rc.lastBad).Round(time.Second))
	}
	rc.rate, rc.lastProbe = ch.Bitrate, now
	return ch, true
}

// rateTick is how often a stream's controller is ticked.
const rateTick = 250 * time.Millisecond

// streamRate is a stream's controller with its output.
type streamRate struct {
	mu  sync.Mutex
	rc  *RateController
	set func(bps int)
}

// receiverReport feeds a unicast UDP client's report to the stream's rate
// controller, if it has one. jitter is in RTP timestamp units (90 kHz).
func (s *Stream) receiverReport(client string, fractionLost uint8, jitter uint32) {
	if s.rate == nil {
		return
	}
	s.log.Debug("rtsp: receiver report", "path", s.path, "session", client,
		"fraction_lost", fmt.Sprintf("%.3f", float64(fractionLost)/256), "jitter", jitter)
	s.rate.mu.Lock()
	defer s.rate.mu.Unlock()
	ch, ok := s.rate.rc.Report(time.Now(), client, fractionLost, time.Duration(jitter)*time.Second/90000)
	if ok {
		s.applyRateLocked(ch)
	}
}

// runRate ticks the rate controller until ctx ends.
func (s *Stream) runRate(ctx context.Context) {
	t := time.NewTicker(rateTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.rate.mu.Lock()
			if ch, ok := s.rate.rc.Tick(now); ok {
				s.applyRateLocked(ch)
			}
			s.rate.mu.Unlock()
		}
	}
}

func (s *Stream) applyRateLocked(ch RateChange) {
	s.rate.set(ch.Bitrate)
	s.log.Info("rtsp: encoder bitrate changed", "path", s.path, "bitrate", ch.Bitrate, "from", ch.From,
		"loss", fmt.Sprintf("%.3f", ch.Loss), "reason", ch.Reason)
}

// Bitrate returns the bitrate the stream's rate controller last chose, or
// 0 without rate adaptation.
func (s *Stream) Bitrate() int {
	if s.rate == nil {
		return 0
	}
	s.rate.mu.Lock()
	defer s.rate.mu.Unlock()
	return s.rate.rc.Bitrate()
}
