package e2e

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestRTSPVersion: a request in an RTSP version other than 1.0 gets
// "RTSP/1.0 505 RTSP Version Not Supported" with its CSeq echoed (RFC 2326
// §7.1.1 and §11.3.5; RFC 7826 §17.5.6: the server answers in a version it
// supports), and the connection stays usable: the request was complete and
// well framed, so, as for 501, there is no reason to close it. A following
// RTSP/1.0 request on the same connection gets 200.
//
// ipcamd only: gst-rtsp-server 1.22 implements RTSP 2.0 (it answers
// "RTSP/2.0 200 OK") and resets the connection on RTSP/1.1.
func TestRTSPVersion(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{})
	for _, v := range []string{"RTSP/2.0", "RTSP/1.1"} {
		t.Run(strings.ReplaceAll(v, "/", "_"), func(t *testing.T) {
			t.Parallel()
			c, err := dialRTSP(srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.writeRaw(fmt.Sprintf("OPTIONS %s %s\r\nCSeq: 41\r\nUser-Agent: ipcamd-e2e\r\n\r\n", srv.URL, v)); err != nil {
				t.Fatal(err)
			}
			res, err := c.readResponse(time.Now().Add(ioTimeout))
			if err != nil {
				t.Fatalf("OPTIONS %s: no response: %v", v, err)
			}
			statusLine, _, _ := strings.Cut(res.Raw, "\n")
			statusLine = strings.TrimRight(statusLine, "\r")
			if want := "RTSP/1.0 505 RTSP Version Not Supported"; !strings.EqualFold(statusLine, want) {
				t.Errorf("OPTIONS %s: status line %q, want %q", v, statusLine, want)
			}
			if res.get("CSeq") != "41" {
				t.Errorf("OPTIONS %s: CSeq %q, want 41 echoed\n%s", v, res.get("CSeq"), res)
			}
			if res.get("Public") != "" {
				t.Errorf("OPTIONS %s was answered as if understood (Public: %s)", v, res.get("Public"))
			}

			c.cseq = 41
			res, err = c.request("OPTIONS", srv.URL, nil, "")
			switch {
			case err == nil && res.Status == 200:
			case errors.Is(err, io.EOF):
				t.Errorf("after 505 the server closed the connection; want it kept open for an RTSP/1.0 request")
			default:
				t.Errorf("RTSP/1.0 OPTIONS after the 505: %v, want 200 on the same connection\n%s", err, res)
			}
			// And a whole RTSP/1.0 play still works on that connection.
			if t.Failed() {
				return
			}
			ps, err := startPlayOn(c, srv.URL, nil)
			if err != nil {
				t.Fatalf("RTSP/1.0 DESCRIBE/SETUP/PLAY after the 505: %v", err)
			}
			if _, err := ps.readRTP(time.Now().Add(5 * time.Second)); err != nil {
				t.Errorf("no RTP after PLAY on the connection that got the 505: %v", err)
			}
		})
	}
}
