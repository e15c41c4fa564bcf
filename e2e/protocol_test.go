package e2e

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRTSPProtocol drives the server with a plain socket: method list, SDP,
// TCP interleaved play (RTP-Info matches the first packet, the stream starts
// with SPS/PPS/IDR) and error handling.
func TestRTSPProtocol(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{})

	dial := func(t *testing.T) *rtspConn {
		t.Helper()
		c, err := dialRTSP(srv.Addr)
		if err != nil {
			t.Fatalf("dial %s: %v", srv.Addr, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("options", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		res, err := c.request("OPTIONS", srv.URL, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 200 {
			t.Fatalf("OPTIONS: status %d, want 200\n%s", res.Status, res)
		}
		var public []string
		for _, m := range strings.Split(res.get("Public"), ",") {
			public = append(public, strings.ToUpper(strings.TrimSpace(m)))
		}
		for _, m := range []string{"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"} {
			if !slices.Contains(public, m) {
				t.Errorf("OPTIONS Public header %q does not list %s", res.get("Public"), m)
			}
		}
	})

	t.Run("describe_setup_play_tcp", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		ps, err := startPlayOn(c, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}

		// DESCRIBE
		d := ps.Describe
		if ct := d.get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
			t.Errorf("DESCRIBE Content-Type %q, want application/sdp", ct)
		}
		if d.get("Content-Base") == "" {
			t.Errorf("DESCRIBE reply has no Content-Base header\n%s", d)
		}
		sdp := d.Body
		for _, want := range []string{"a=rtpmap:96 H264/90000", "packetization-mode=1", "profile-level-id=", "a=control", "a=range:npt=now-"} {
			if !strings.Contains(sdp, want) {
				t.Errorf("SDP lacks %q", want)
			}
		}
		m := regexp.MustCompile(`sprop-parameter-sets=([A-Za-z0-9+/=]+),([A-Za-z0-9+/=]+)`).FindStringSubmatch(sdp)
		if m == nil {
			t.Errorf("SDP has no non-empty sprop-parameter-sets=<SPS>,<PPS>")
		}
		if t.Failed() {
			t.Logf("SDP:\n%s", sdp)
		}

		// SETUP
		if !ps.HasTimeout || ps.Timeout != 60 {
			t.Errorf("SETUP Session header %q: want timeout=60 with the default config", ps.Setup.get("Session"))
		}
		if !strings.Contains(strings.ToUpper(ps.Setup.get("Transport")), "RTP/AVP/TCP") {
			t.Errorf("SETUP reply Transport %q is not RTP/AVP/TCP", ps.Setup.get("Transport"))
		}

		// PLAY: RTP-Info matches the first RTP packet.
		ri, err := parseRTPInfo(ps.Play.get("RTP-Info"))
		if err != nil || !ri.HasSeq || !ri.HasTime {
			t.Fatalf("PLAY RTP-Info %q: want url=...;seq=N;rtptime=T (%v)\n%s", ps.Play.get("RTP-Info"), err, ps.Play)
		}
		deadline := time.Now().Add(5 * time.Second)
		first, err := ps.readRTP(deadline)
		if err != nil {
			t.Fatalf("reading the first RTP packet: %v", err)
		}
		if first.SequenceNumber != ri.Seq || first.Timestamp != ri.RTPTime {
			t.Errorf("first RTP packet seq=%d ts=%d, RTP-Info says seq=%d rtptime=%d",
				first.SequenceNumber, first.Timestamp, ri.Seq, ri.RTPTime)
		}
		if first.PayloadType != 96 {
			t.Errorf("RTP payload type %d, want 96", first.PayloadType)
		}

		// The first access unit: SPS, PPS, then IDR.
		var types []int
		pkt := first
		prevSeq := first.SequenceNumber
		for i := 0; ; i++ {
			types = append(types, nalTypes(pkt.Payload)...)
			if pkt.Marker || i > 2000 {
				break
			}
			pkt, err = ps.readRTP(deadline)
			if err != nil {
				t.Fatalf("reading the first access unit: %v (NAL types so far %v)", err, types)
			}
			if pkt.SequenceNumber != prevSeq+1 {
				t.Errorf("sequence gap in the first access unit: %d -> %d", prevSeq, pkt.SequenceNumber)
			}
			prevSeq = pkt.SequenceNumber
		}
		if err := checkIDRStart(types); err != nil {
			t.Errorf("first access unit NAL types %v: %v", types, err)
		}

		res, err := c.request("TEARDOWN", srv.URL, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 200 {
			t.Errorf("TEARDOWN: status %d, want 200\n%s", res.Status, res)
		}
	})

	t.Run("unknown_method_501", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		res, err := c.request("FROBNICATE", srv.URL, nil, "")
		if err != nil {
			t.Fatal(err) // includes a CSeq mismatch
		}
		if res.Status != 501 {
			t.Errorf("unknown method: status %d, want 501 Not Implemented\n%s", res.Status, res)
		}
		res, err = c.request("OPTIONS", srv.URL, nil, "")
		if err != nil || res.Status != 200 {
			t.Errorf("OPTIONS after the unknown method: %v, want 200 on the same connection\n%s", err, res)
		}
	})

	t.Run("garbage_request_400", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		if err := c.writeRaw("HELLO THERE\r\nCSeq: 7\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := c.readResponse(time.Now().Add(ioTimeout))
		if err != nil {
			t.Fatalf("garbage request line: no response: %v", err)
		}
		if res.Status != 400 {
			t.Errorf("garbage request line: status %d, want 400\n%s", res.Status, res)
		}
		if res.get("CSeq") != "7" {
			t.Errorf("garbage request line: CSeq %q, want 7 echoed\n%s", res.get("CSeq"), res)
		}
		// Either the connection still works or the server closed it cleanly.
		c.cseq = 7
		res, err = c.request("OPTIONS", srv.URL, nil, "")
		switch {
		case err == nil && res.Status == 200:
		case errors.Is(err, io.EOF):
		case err != nil && errors.Is(err, syscall.ECONNRESET):
			t.Errorf("after the garbage request the connection was reset, not closed cleanly: %v", err)
		default:
			t.Errorf("after the garbage request: OPTIONS got %v, want 200 or a clean close (EOF)\n%s", err, res)
		}
	})

	t.Run("set_parameter_451", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		res, err := c.request("SET_PARAMETER", srv.URL, []string{"Content-Type", "text/parameters"}, "foo: bar\r\n")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 451 {
			t.Errorf("SET_PARAMETER foo: bar: status %d, want 451 Parameter Not Understood\n%s", res.Status, res)
		}
	})

	t.Run("get_parameter_200", func(t *testing.T) {
		t.Parallel()
		c := dial(t)
		res, err := c.request("GET_PARAMETER", srv.URL, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != 200 {
			t.Errorf("GET_PARAMETER with an empty body: status %d, want 200\n%s", res.Status, res)
		}
	})
}

// checkIDRStart checks that a stream starts SPS, PPS, then IDR, with no
// non-IDR slice before the IDR (AUD and SEI may appear in between).
func checkIDRStart(types []int) error {
	idx := func(v int) int { return slices.Index(types, v) }
	sps, pps, idr := idx(7), idx(8), idx(5)
	first := -1
	for _, ty := range types {
		if ty != 9 { // access unit delimiter
			first = ty
			break
		}
	}
	switch {
	case idr < 0:
		return errors.New("no IDR (5)")
	case sps < 0 || pps < 0:
		return errors.New("no in-band SPS (7) and PPS (8)")
	case first != 7:
		return fmt.Errorf("first NAL is type %d, want SPS (7)", first)
	case !(sps < pps && pps < idr):
		return errors.New("want SPS, then PPS, then IDR")
	}
	if i := slices.Index(types, 1); i >= 0 && i < idr {
		return errors.New("non-IDR slice (1) before the IDR: the client joined mid-GOP")
	}
	return nil
}
