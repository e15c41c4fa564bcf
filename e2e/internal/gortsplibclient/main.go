// Command gortsplibclient plays an RTSP URL with the gortsplib v5 client
// and reports on the H.264 access units it received as one JSON line on
// stdout. The e2e tests run it where the test binary cannot put
// gortsplib's sockets, such as inside a network namespace
// (ip netns exec NS gortsplibclient ...).
//
// With -hold it prints the report as soon as it has -n access units, then
// keeps playing until its standard input closes, and tears down.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// Report is what the client saw.
type Report struct {
	AUs          int      `json:"aus"`
	FirstTypes   []int    `json:"first_types"` // NAL unit types of the first access unit
	FirstIDR     bool     `json:"first_idr"`
	DecodeErrors []string `json:"decode_errors,omitempty"`
	ClientErrors []string `json:"client_errors,omitempty"`
	Lost         uint64   `json:"lost"`
	BadTSSteps   int      `json:"bad_ts_steps"` // timestamp steps between access units other than 3600
	NoMarker     int      `json:"no_marker"`    // access units without the marker bit on their last packet
	Error        string   `json:"error,omitempty"`
}

func main() {
	url := flag.String("url", "", "RTSP URL")
	transport := flag.String("transport", "tcp", "tcp, udp or multicast")
	n := flag.Int("n", 50, "access units to receive")
	timeout := flag.Duration("timeout", 20*time.Second, "time limit for receiving them")
	hold := flag.Bool("hold", false, "after the report, keep playing until stdin closes")
	flag.Parse()
	r := run(*url, *transport, *n, *timeout, *hold)
	if r.Error != "" {
		os.Exit(1)
	}
}

func run(rawURL, transport string, want int, timeout time.Duration, hold bool) (rep *Report) {
	rep = &Report{}
	var mu sync.Mutex
	printed := false
	report := func() {
		mu.Lock()
		defer mu.Unlock()
		if printed {
			return
		}
		printed = true
		b, _ := json.Marshal(rep)
		fmt.Println(string(b))
	}
	defer report()
	fail := func(format string, a ...any) *Report {
		mu.Lock()
		rep.Error = fmt.Sprintf(format, a...)
		mu.Unlock()
		return rep
	}

	u, err := base.ParseURL(rawURL)
	if err != nil {
		return fail("parse URL: %v", err)
	}
	var p gortsplib.Protocol
	switch transport {
	case "tcp":
		p = gortsplib.ProtocolTCP
	case "udp":
		p = gortsplib.ProtocolUDP
	case "multicast":
		p = gortsplib.ProtocolUDPMulticast
	default:
		return fail("unknown transport %q", transport)
	}
	done := make(chan struct{})
	c := gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		Protocol:    &p,
		ReadTimeout: 5 * time.Second,
		OnPacketsLost: func(n uint64) {
			mu.Lock()
			rep.Lost += n
			mu.Unlock()
		},
		OnDecodeError: func(err error) {
			mu.Lock()
			rep.ClientErrors = append(rep.ClientErrors, err.Error())
			mu.Unlock()
		},
	}
	if err := c.Start(); err != nil {
		return fail("start: %v", err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		return fail("DESCRIBE: %v", err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		return fail("no H.264 in the SDP")
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		return fail("create decoder: %v", err)
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return fail("SETUP over %s: %v", transport, err)
	}
	var lastTS, lastAUTS uint32
	havePkt, lastMarker := false, false
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		if rep.AUs >= want {
			return
		}
		// The decoder also ends an access unit when the timestamp
		// changes; then the access unit belongs to the previous packet.
		prevTS, hadPrev, prevMarker := lastTS, havePkt, lastMarker
		lastTS, havePkt, lastMarker = pkt.Timestamp, true, pkt.Marker
		nalus, err := dec.Decode(pkt)
		if err != nil {
			// A client that joins a running multicast group starts
			// mid-frame; that is not an error before its first unit.
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && rep.AUs > 0 {
				rep.DecodeErrors = append(rep.DecodeErrors, fmt.Sprintf("seq %d: %v", pkt.SequenceNumber, err))
			}
			return
		}
		ts := pkt.Timestamp
		if hadPrev && prevTS != pkt.Timestamp && !prevMarker {
			ts = prevTS
			rep.NoMarker++
		}
		if rep.AUs == 0 {
			for _, n := range nalus {
				if len(n) > 0 {
					rep.FirstTypes = append(rep.FirstTypes, int(n[0]&0x1f))
					rep.FirstIDR = rep.FirstIDR || n[0]&0x1f == 5
				}
			}
		} else if ts-lastAUTS != 3600 {
			rep.BadTSSteps++
		}
		lastAUTS = ts
		rep.AUs++
		if rep.AUs == want {
			close(done)
		}
	})
	if _, err := c.Play(nil); err != nil {
		return fail("PLAY: %v", err)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		mu.Lock()
		got := rep.AUs
		mu.Unlock()
		return fail("got %d/%d access units within %v", got, want, timeout)
	}
	if hold {
		report()
		io.Copy(io.Discard, os.Stdin)
	}
	return rep
}
