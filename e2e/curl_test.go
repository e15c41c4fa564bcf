package e2e

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCurlRTSP plays ipcamd with curl.
//
// The curl command-line tool (7.88.1 in bookworm, and upstream too) has no
// RTSP options: there is no --rtsp-request, --rtsp-session,
// --rtsp-stream-uri or --rtsp-transport. The tool never sets
// CURLOPT_RTSP_REQUEST, so every rtsp:// transfer is "OPTIONS * RTSP/1.0",
// and -X DESCRIBE is ignored (it still sends OPTIONS *). The RTSP client
// (DESCRIBE, SETUP, PLAY, RECEIVE, TEARDOWN) exists only in libcurl, as
// CURLOPT_RTSP_REQUEST and friends. A single connection is also required:
// interleaved RTP arrives on the RTSP connection, and separate curl
// processes cannot share one. So the test uses:
//
//   - cli_options: the curl tool, the one request it can make, twice in one
//     process with --next: the second reuses the connection.
//   - libcurl_tcp_interleaved: libcurl's own RTSP state machine through
//     Debian's python3-pycurl (one easy handle = one connection, as
//     libcurl's docs/examples/rtsp.c does), writing the received '$'
//     frames to a file that the test parses.
func TestCurlRTSP(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{})

	t.Run("cli_options", func(t *testing.T) {
		t.Parallel()
		requireTools(t, "curl")
		w := `\nipcamd-e2e: connects=%{num_connects} code=%{response_code}\n`
		r := runTool(t, 15*time.Second, t.TempDir(), "curl", "-sS", "-v", "-i", "--max-time", "10", "-w", w, srv.URL,
			"--next", "-sS", "-v", "-i", "--max-time", "10", "-w", w, srv.URL)
		if r.ExitCode != 0 {
			// 85 = CSeq mismatch, 86 = Session mismatch (curl's exit codes).
			t.Fatalf("curl OPTIONS failed:\n%s", r)
		}
		replies := strings.Split(r.Stdout, "ipcamd-e2e: ")
		if len(replies) != 3 {
			t.Fatalf("want two replies from curl --next, got:\n%s", r)
		}
		// The CSeq values curl sent (-v prints "> CSeq: N"): curl 7.88.1
		// sends 1, then 0 for the --next request (the tool resets the
		// handle's options); it checks the echo itself (exit 85).
		var sent []string
		for _, l := range strings.Split(r.Stderr, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "> CSeq:"); ok {
				sent = append(sent, strings.TrimSpace(v))
			}
		}
		if len(sent) != 2 {
			t.Fatalf("curl -v shows %d requests, want 2:\n%s", len(sent), r)
		}
		for i, want := range []string{"connects=1 code=200", "connects=0 code=200"} {
			if !strings.HasPrefix(replies[i+1], want) {
				t.Errorf("request %d: curl reports %q, want %q (a new connection for the first request, "+
					"the same one reused for the second)\n%s", i+1, strings.TrimSpace(replies[i+1]), want, r)
			}
			reply := replies[i]
			if i > 0 { // after the -w line of the previous request
				_, reply, _ = strings.Cut(reply, "\n")
			}
			if !strings.HasPrefix(strings.TrimLeft(reply, "\r\n"), "RTSP/1.0 200 OK\r\n") {
				t.Errorf("request %d: reply does not start with RTSP/1.0 200 OK:\n%q", i+1, reply)
			}
			if got := headerValue(reply, "CSeq"); got != sent[i] {
				t.Errorf("request %d: CSeq %q, want %s echoed", i+1, got, sent[i])
			}
			assertPublic(t, headerValue(reply, "Public"))
		}
	})

	t.Run("libcurl_tcp_interleaved", func(t *testing.T) {
		t.Parallel()
		requirePycurl(t)
		dir := t.TempDir()
		script := filepath.Join(dir, "curl_rtsp.py")
		if err := os.WriteFile(script, []byte(pycurlRTSPScript), 0o644); err != nil {
			t.Fatal(err)
		}
		rtpFile := filepath.Join(dir, "interleaved.bin")
		r := runTool(t, 25*time.Second, dir, "/usr/bin/python3", script, srv.URL, rtpFile, "2")
		if r.ExitCode != 0 {
			t.Fatalf("libcurl RTSP client failed:\n%s", r)
		}
		var steps []curlStep
		if err := json.Unmarshal([]byte(r.Stdout), &steps); err != nil {
			t.Fatalf("client output is not JSON: %v\n%s", err, r)
		}
		byName := map[string]curlStep{}
		var order []string
		for _, s := range steps {
			byName[s.Step] = s
			order = append(order, s.Step)
			if s.Error != "" {
				t.Errorf("libcurl %s failed: %s\n%s", s.Step, s.Error, s.Headers)
			}
		}
		want := []string{"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "RECEIVE", "TEARDOWN"}
		if !slices.Equal(order, want) {
			t.Fatalf("libcurl steps %v, want %v\n%s", order, want, r)
		}

		// One connection for the whole session (libcurl would reconnect
		// and lose the interleaved channel otherwise).
		for _, s := range steps[1:] {
			if s.Connects != 0 {
				t.Errorf("libcurl opened a new connection for %s", s.Step)
			}
		}
		for i, name := range []string{"OPTIONS", "DESCRIBE", "SETUP", "PLAY"} {
			s := byName[name]
			if s.Code != 200 {
				t.Errorf("%s: status %d, want 200\n%s", name, s.Code, s.Headers)
			}
			if got := headerValue(s.Headers, "CSeq"); got != strconv.Itoa(i+1) {
				t.Errorf("%s: CSeq %q, want %d", name, got, i+1)
			}
		}
		assertPublic(t, headerValue(byName["OPTIONS"].Headers, "Public"))

		sdp := byName["DESCRIBE"].Body
		for _, w := range []string{"m=video ", "a=rtpmap:96 H264/90000"} {
			if !strings.Contains(sdp, w) {
				t.Errorf("DESCRIBE SDP lacks %q:\n%s", w, sdp)
			}
		}
		if !regexp.MustCompile(`sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+`).MatchString(sdp) {
			t.Errorf("DESCRIBE SDP has no sprop-parameter-sets=<SPS>,<PPS>:\n%s", sdp)
		}

		setup := byName["SETUP"]
		tr := strings.ToUpper(headerValue(setup.Headers, "Transport"))
		if !strings.HasPrefix(tr, "RTP/AVP/TCP") || !strings.Contains(tr, "INTERLEAVED=0-1") {
			t.Errorf("SETUP reply Transport %q, want RTP/AVP/TCP;...;interleaved=0-1", tr)
		}
		id, _, _ := parseSession(headerValue(setup.Headers, "Session"))
		if id == "" || setup.Session != id {
			t.Errorf("SETUP: Session header %q, libcurl session id %q", headerValue(setup.Headers, "Session"), setup.Session)
		}
		for _, name := range []string{"PLAY", "TEARDOWN"} {
			if s := byName[name]; s.Session != id {
				t.Errorf("%s: libcurl session id %q, want %q", name, s.Session, id)
			}
		}
		if got, _, _ := parseSession(headerValue(byName["PLAY"].Headers, "Session")); got != id {
			t.Errorf("PLAY reply Session %q, want %q", got, id)
		}
		td := byName["TEARDOWN"]
		if td.Code != 200 {
			t.Errorf("TEARDOWN: status %d, want 200\n%s", td.Code, td.Headers)
		}
		if got := headerValue(td.Headers, "CSeq"); got != "5" {
			t.Errorf("TEARDOWN: CSeq %q, want 5", got)
		}

		// The received bytes: '$' <channel> <length> <RTP packet>, ...
		data, err := os.ReadFile(rtpFile)
		if err != nil {
			t.Fatal(err)
		}
		pkts, err := parseInterleavedFile(data)
		if err != nil {
			t.Fatalf("received data (%d bytes) is not a sequence of '$' frames: %v", len(data), err)
		}
		ri, err := parseRTPInfo(headerValue(byName["PLAY"].Headers, "RTP-Info"))
		if err != nil || !ri.HasSeq {
			t.Errorf("PLAY RTP-Info %q: %v", headerValue(byName["PLAY"].Headers, "RTP-Info"), err)
		}
		var rtp []rtpHeader
		for _, p := range pkts {
			if p.channel == 0 {
				rtp = append(rtp, p.rtp)
			} else if p.channel != 1 {
				t.Errorf("interleaved frame on channel %d, SETUP asked for 0-1", p.channel)
			}
		}
		frames := 0
		for i, h := range rtp {
			if h.version != 2 || h.pt != 96 {
				t.Fatalf("RTP packet %d: version %d payload type %d, want 2 and 96", i, h.version, h.pt)
			}
			if h.marker {
				frames++
			}
			if i == 0 {
				if ri.HasSeq && h.seq != ri.Seq {
					t.Errorf("first RTP packet seq %d, PLAY RTP-Info says seq=%d", h.seq, ri.Seq)
				}
				continue
			}
			if h.seq != rtp[i-1].seq+1 {
				t.Errorf("RTP seq %d after %d: want consecutive sequence numbers over TCP", h.seq, rtp[i-1].seq)
			}
			if int32(h.ts-rtp[i-1].ts) < 0 {
				t.Errorf("RTP timestamp went backwards: %d after %d", h.ts, rtp[i-1].ts)
			}
		}
		// 2 s of a 25 fps stream.
		if frames < 25 {
			t.Errorf("received %d RTP packets, %d frames (marker bits) in 2 s, want >= 25 frames", len(rtp), frames)
		}
		t.Logf("libcurl received %d bytes: %d RTP packets, %d frames, seq %d..%d", len(data), len(rtp), frames,
			rtp[0].seq, rtp[len(rtp)-1].seq)
	})
}

func assertPublic(t *testing.T, public string) {
	t.Helper()
	var got []string
	for _, m := range strings.Split(public, ",") {
		got = append(got, strings.ToUpper(strings.TrimSpace(m)))
	}
	for _, m := range []string{"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"} {
		if !slices.Contains(got, m) {
			t.Errorf("Public header %q does not list %s", public, m)
		}
	}
}

// headerValue returns the first header k in an RTSP status line + headers.
func headerValue(msg, k string) string {
	for _, l := range strings.Split(msg, "\n") {
		name, v, ok := strings.Cut(strings.TrimRight(l, "\r"), ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), k) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

type curlStep struct {
	Step     string `json:"step"`
	Error    string `json:"error"`
	Code     int    `json:"code"`
	Headers  string `json:"headers"`
	Body     string `json:"body"`
	Session  string `json:"session"`
	Connects int    `json:"connects"`
}

type rtpHeader struct {
	version, pt int
	marker      bool
	seq         uint16
	ts          uint32
}

type interleavedPkt struct {
	channel byte
	rtp     rtpHeader
}

// parseInterleavedFile splits RTSP interleaved data; a frame cut off at the
// end (the client stopped reading) is ignored.
func parseInterleavedFile(b []byte) ([]interleavedPkt, error) {
	var out []interleavedPkt
	for off := 0; off+4 <= len(b); {
		if b[off] != '$' {
			return out, fmt.Errorf("byte %d: 0x%02x, want '$' (after %d frames)", off, b[off], len(out))
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if off+4+n > len(b) {
			break
		}
		p := b[off+4 : off+4+n]
		pkt := interleavedPkt{channel: b[off+1]}
		if pkt.channel%2 == 0 {
			if n < 12 {
				return out, fmt.Errorf("byte %d: RTP packet of %d bytes", off, n)
			}
			pkt.rtp = rtpHeader{version: int(p[0] >> 6), pt: int(p[1] & 0x7f), marker: p[1]&0x80 != 0,
				seq: binary.BigEndian.Uint16(p[2:]), ts: binary.BigEndian.Uint32(p[4:])}
		}
		out = append(out, pkt)
		off += 4 + n
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no complete frame")
	}
	return out, nil
}

// requirePycurl fails the test when Debian's /usr/bin/python3 cannot load
// pycurl (python3-pycurl), the binding the libcurl RTSP client runs in.
func requirePycurl(t *testing.T) {
	t.Helper()
	requireTools(t, "/usr/bin/python3")
	r := runTool(t, 10*time.Second, "", "/usr/bin/python3", "-c", "import pycurl; print(pycurl.version)")
	if r.ExitCode != 0 {
		t.Fatalf("/usr/bin/python3 cannot import pycurl (Debian package python3-pycurl); %s\n%s", installHint, r)
	}
}

// pycurlRTSPScript is an RTSP client made of libcurl's RTSP requests, one
// easy handle (so one connection, and libcurl's own CSeq and Session
// handling) for OPTIONS, DESCRIBE, SETUP (TCP interleaved 0-1), PLAY,
// RECEIVE for argv[3] seconds and TEARDOWN. Without an interleave callback
// (pycurl has none) libcurl hands each whole '$' frame to the write
// callback, which appends it to argv[2]. It prints the steps as JSON.
const pycurlRTSPScript = `import json, sys, time, urllib.parse, pycurl
url, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = pycurl.Curl()
c.setopt(pycurl.URL, url)
c.setopt(pycurl.TIMEOUT, 10)
steps = []
rtp = open(out, 'wb')
def do(name, req, **opts):
    hdr, body = [], []
    c.setopt(pycurl.HEADERFUNCTION, lambda b: hdr.append(b.decode('latin-1')))
    c.setopt(pycurl.WRITEFUNCTION, rtp.write if req in (pycurl.RTSPREQ_PLAY, pycurl.RTSPREQ_RECEIVE) else body.append)
    c.setopt(pycurl.OPT_RTSP_REQUEST, req)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    err = ''
    try:
        c.perform()
    except pycurl.error as e:
        err = str(e)
    steps.append({'step': name, 'error': err, 'code': c.getinfo(pycurl.RESPONSE_CODE),
                  'headers': ''.join(hdr), 'body': b''.join(body).decode('latin-1'),
                  'session': c.getinfo(pycurl.INFO_RTSP_SESSION_ID) or '',
                  'connects': c.getinfo(pycurl.NUM_CONNECTS)})
    return not err
def control(sdp):
    media = False
    for l in sdp.splitlines():
        media = media or l.startswith('m=video')
        if media and l.startswith('a=control:'):
            return l[len('a=control:'):]
    return ''
def run():
    if not do('OPTIONS', pycurl.RTSPREQ_OPTIONS, OPT_RTSP_STREAM_URI=url): return
    if not do('DESCRIBE', pycurl.RTSPREQ_DESCRIBE): return
    d = steps[-1]
    base = url
    for l in d['headers'].splitlines():
        if l.lower().startswith('content-base:'): base = l.split(':', 1)[1].strip()
    track = urllib.parse.urljoin(base, control(d['body']))
    if not do('SETUP', pycurl.RTSPREQ_SETUP, OPT_RTSP_STREAM_URI=track,
              OPT_RTSP_TRANSPORT='RTP/AVP/TCP;unicast;interleaved=0-1'): return
    if not do('PLAY', pycurl.RTSPREQ_PLAY, OPT_RTSP_STREAM_URI=base): return
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        ok = do('RECEIVE', pycurl.RTSPREQ_RECEIVE)
        last = steps.pop()
        n += 1
        if not ok:
            steps.append(last)
            return
    steps.append({'step': 'RECEIVE', 'error': '', 'code': 0, 'headers': '', 'body': '%d calls' % n,
                  'session': last['session'], 'connects': last['connects']})
    do('TEARDOWN', pycurl.RTSPREQ_TEARDOWN, OPT_RTSP_STREAM_URI=base)
run()
rtp.close()
print(json.dumps(steps))
`
