package rtsp

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/ipcamd/ipcamd/rtsp/mikey"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// startTLSServer is startServer with one plain and one TLS listener.
func startTLSServer(t *testing.T, opts Options) (ts *testServer, tlsAddr string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ipcamd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts = startServerStream(t, opts, StreamOptions{}, 20*time.Millisecond, tls.NewListener(tln, cfg))
	return ts, tln.Addr().String()
}

func dialTLS(t *testing.T, addr string) *client {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// testClientKey is an SRTP client's own key, as the MIKEY message of its
// SETUP request's KeyMgmt header, like gortsplib's.
func testClientKey(t *testing.T, ssrc uint32) (key []byte, header string) {
	t.Helper()
	return testClientKeyAt(t, ssrc, time.Now())
}

// testClientKeyAt is testClientKey from a client whose clock says at.
func testClientKeyAt(t *testing.T, ssrc uint32, at time.Time) (key []byte, header string) {
	t.Helper()
	key = make([]byte, srtpKeyLen+srtpSaltLen)
	rand.Read(key)
	m := mikey.Message{
		CSBID:          7,
		CryptoSessions: []mikey.CryptoSession{{SSRC: ssrc}},
		HasTime:        true,
		Time:           mikey.NTPTime(at),
		Rand:           []byte("0123456789abcdef"),
		Policies: []mikey.Policy{{Params: []mikey.Param{
			{Type: mikey.ParamEncrAlg, Value: []byte{1}}, {Type: mikey.ParamEncrKeyLen, Value: []byte{16}},
			{Type: mikey.ParamAuthAlg, Value: []byte{1}}, {Type: mikey.ParamAuthKeyLen, Value: []byte{20}},
			{Type: mikey.ParamSRTPEncr, Value: []byte{1}}, {Type: mikey.ParamSRTCPEncr, Value: []byte{1}},
			{Type: mikey.ParamSRTPAuth, Value: []byte{1}}, {Type: mikey.ParamAuthTagLen, Value: []byte{10}},
		}}},
		Keys: []mikey.KeyData{{Type: mikey.KeyTEK, Key: key}},
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return key, headers.KeyMgmt{URL: "rtsps://x/main/trackID=0", Data: b}.Marshal()
}

// serverKey reads the stream's key from a MIKEY message and returns the
// context that decrypts its packets.
func serverKey(t *testing.T, data []byte, ssrc uint32) (*srtp.Context, []byte) {
	t.Helper()
	var m mikey.Message
	if err := m.Unmarshal(data); err != nil {
		t.Fatalf("server's MIKEY message: %v", err)
	}
	if len(m.CryptoSessions) != 1 || m.CryptoSessions[0].SSRC != ssrc {
		t.Fatalf("MIKEY crypto sessions %+v, want SSRC %08x", m.CryptoSessions, ssrc)
	}
	if d := time.Since(mikey.TimeFromNTP(m.Time)); !m.HasTime || d.Abs() > time.Minute {
		t.Fatalf("MIKEY timestamp %v ago", d)
	}
	if len(m.Keys) != 1 || len(m.Keys[0].Key) != 30 {
		t.Fatalf("MIKEY keys %+v, want one of 30 bytes", m.Keys)
	}
	k := m.Keys[0].Key
	ctx, err := srtp.CreateContext(k[:16], k[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	ctx.SetROC(ssrc, m.CryptoSessions[0].ROC)
	return ctx, k
}

// TestDescribeOverTLSOffersSRTP checks that DESCRIBE over TLS offers
// RTP/SAVP with the stream's key, while plain RTSP offers RTP/AVP with no
// key, and that the key in SDP and in the SETUP reply is the same.
func TestDescribeOverTLSOffersSRTP(t *testing.T) {
	ts, tlsAddr := startTLSServer(t, Options{})
	plain := string(dial(t, ts.addr).do("DESCRIBE", ts.url()).Body)
	if !strings.Contains(plain, "m=video 0 RTP/AVP 96\r\n") || strings.Contains(plain, "key-mgmt") {
		t.Fatalf("plain DESCRIBE:\n%s", plain)
	}
	c := dialTLS(t, tlsAddr)
	res := c.do("DESCRIBE", "rtsps://"+tlsAddr+"/main")
	body := string(res.Body)
	if res.StatusCode != 200 || !strings.Contains(body, "m=video 0 RTP/SAVP 96\r\n") {
		t.Fatalf("DESCRIBE over TLS: %d\n%s", res.StatusCode, body)
	}
	_, after, ok := strings.Cut(body, "a=key-mgmt:mikey ")
	if !ok {
		t.Fatalf("no a=key-mgmt in\n%s", body)
	}
	b64, _, _ := strings.Cut(after, "\r\n")
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	_, sdpKey := serverKey(t, data, ts.stream.SSRC())
	// Apart from the profile and the key, the same SDP.
	secure := strings.Replace(body, "RTP/SAVP", "RTP/AVP", 1)
	secure = strings.Replace(secure, "a=key-mgmt:mikey "+b64+"\r\n", "", 1)
	if noOrigin(secure) != noOrigin(plain) {
		t.Errorf("SDP over TLS differs beyond the profile and key:\n%s\nplain:\n%s", body, plain)
	}

	_, kh := testClientKey(t, 0x1234)
	res = c.do("SETUP", "rtsps://"+tlsAddr+"/main/trackID=0",
		"Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1", "KeyMgmt", kh)
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d %s", res.StatusCode, res.Reason)
	}
	var km headers.KeyMgmt
	if err := km.Unmarshal(res.Header.Get("KeyMgmt")); err != nil {
		t.Fatalf("SETUP reply KeyMgmt: %v", err)
	}
	if km.URL != "rtsps://"+tlsAddr+"/main/trackID=0" {
		t.Errorf("KeyMgmt uri %q", km.URL)
	}
	if _, k := serverKey(t, km.Data, ts.stream.SSRC()); string(k) != string(sdpKey) {
		t.Error("the SETUP reply's key differs from the SDP's")
	}
}

// noOrigin drops the o= line, whose address differs between listeners.
func noOrigin(sdp string) string {
	var keep []string
	for l := range strings.SplitSeq(sdp, "\r\n") {
		if !strings.HasPrefix(l, "o=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\r\n")
}

// TestSAVPRefusedWithoutTLS checks that a client cannot set up SRTP over
// plain RTSP, where its key would travel in clear, that a bad key is
// refused over TLS, and that under TLS plain RTP over UDP is refused.
func TestSAVPRefusedWithoutTLS(t *testing.T) {
	ts, tlsAddr := startTLSServer(t, Options{})
	_, kh := testClientKey(t, 1)
	res := dial(t, ts.addr).do("SETUP", ts.url()+"/trackID=0",
		"Transport", "RTP/SAVP;unicast;client_port=5000-5001", "KeyMgmt", kh)
	if res.StatusCode != 461 {
		t.Errorf("SAVP SETUP over plain RTSP: status %d, want 461", res.StatusCode)
	}
	// Offered beside AVP, plain RTSP takes the AVP alternative.
	res = dial(t, ts.addr).do("SETUP", ts.url()+"/trackID=0",
		"Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1,RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Transport"), "RTP/AVP/TCP;") || res.Header.Get("KeyMgmt") != "" {
		t.Errorf("SETUP SAVP or AVP over plain RTSP: %d, Transport %q, KeyMgmt %q", res.StatusCode, res.Header.Get("Transport"), res.Header.Get("KeyMgmt"))
	}
	for _, bad := range []string{`prot=mikey;data="AQAFAA=="`, `prot=mikey;data="%%%"`, "prot=sdes"} {
		res = dialTLS(t, tlsAddr).do("SETUP", "rtsps://"+tlsAddr+"/main/trackID=0",
			"Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1", "KeyMgmt", bad)
		if res.StatusCode != 400 || res.Reason != "Bad KeyMgmt Header" {
			t.Errorf("SETUP with KeyMgmt %q: %d %s, want 400 Bad KeyMgmt Header", bad, res.StatusCode, res.Reason)
		}
	}
	// Under rtsps:// plain RTP over UDP would leave the video in clear.
	res = dialTLS(t, tlsAddr).do("SETUP", "rtsps://"+tlsAddr+"/main/trackID=0",
		"Transport", "RTP/AVP;unicast;client_port=5000-5001")
	if res.StatusCode != 461 {
		t.Errorf("plain RTP/AVP over UDP under TLS: status %d, want 461", res.StatusCode)
	}
	res = dialTLS(t, tlsAddr).do("SETUP", "rtsps://"+tlsAddr+"/main/trackID=0",
		"Transport", "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Transport"), "RTP/AVP/TCP;") {
		t.Errorf("UDP or TCP under TLS: %d, Transport %q; want TCP inside TLS", res.StatusCode, res.Header.Get("Transport"))
	}
	if n := len(ts.srv.Stats().Sessions); n != 2 {
		t.Errorf("%d sessions, want the plain one and the TCP one under TLS", n)
	}
}

// TestSRTPOverUDP plays RTP/SAVP over UDP under RTSPS: the packets on the
// wire are SRTP that decrypts with the announced key to the stream's H.264,
// starting on an IDR; the sender reports are SRTCP; and the client's SRTCP
// receiver reports reach the session's figures.
func TestSRTPOverUDP(t *testing.T) {
	ts, tlsAddr := startTLSServer(t, Options{SenderReportInterval: 200 * time.Millisecond})
	rtpConn, rtcpConn, port := udpPair(t)
	const clientSSRC = 0xc11e27
	ckey, kh := testClientKey(t, clientSSRC)

	c := dialTLS(t, tlsAddr)
	base := "rtsps://" + tlsAddr + "/main"
	res := c.do("SETUP", base+"/trackID=0",
		"Transport", fmt.Sprintf("RTP/SAVP;unicast;client_port=%d-%d", port, port+1), "KeyMgmt", kh)
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d %s", res.StatusCode, res.Reason)
	}
	var tr headers.Transport
	if err := tr.Unmarshal(res.Header.Get("Transport")); err != nil || tr.Profile != headers.ProfileSAVP || tr.ServerPorts == nil {
		t.Fatalf("SETUP reply Transport %q (%v), want RTP/SAVP with server ports", res.Header.Get("Transport"), err)
	}
	var km headers.KeyMgmt
	if err := km.Unmarshal(res.Header.Get("KeyMgmt")); err != nil {
		t.Fatalf("SETUP reply KeyMgmt %q: %v", res.Header.Get("KeyMgmt"), err)
	}
	dec, _ := serverKey(t, km.Data, ts.stream.SSRC())
	id := sessionID(t, res)
	if res := c.do("PLAY", base, "Session", id); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}

	buf := make([]byte, 2048)
	var first []int
	for i := range 60 {
		rtpConn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := rtpConn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		plain, err := dec.DecryptRTP(nil, buf[:n], nil)
		if err != nil {
			t.Fatalf("packet %d (seq %d) does not decrypt with the announced key: %v", i, p.SequenceNumber, err)
		}
		if len(plain) != n-srtpTagLen || bytes.Equal(buf[12:n-srtpTagLen], plain[12:]) {
			t.Fatalf("packet %d: %d bytes on the wire carry %d in clear: not SRTP", i, n, len(plain))
		}
		if i == 0 {
			var q rtp.Packet
			if err := q.Unmarshal(plain); err != nil {
				t.Fatal(err)
			}
			first = nalTypesOf(q.Payload)
		}
	}
	// The client starts on the SPS and PPS in front of an IDR.
	if len(first) == 0 || first[0] != int(h264.NALUSPS) {
		t.Errorf("first decrypted packet carries NAL types %v, want an SPS first", first)
	}

	// Sender reports are SRTCP that decrypt with the same key.
	rtcpConn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := rtcpConn.Read(buf)
	if err != nil {
		t.Fatalf("no SRTCP sender report: %v", err)
	}
	plain, err := dec.DecryptRTCP(nil, buf[:n], nil)
	if err != nil {
		t.Fatalf("sender report does not decrypt: %v", err)
	}
	pkts, err := rtcp.Unmarshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if sr, ok := pkts[0].(*rtcp.SenderReport); !ok || sr.SSRC != ts.stream.SSRC() || sr.PacketCount == 0 {
		t.Fatalf("first SRTCP packet %#v, want a sender report", pkts[0])
	}

	// An SRTCP receiver report in the client's key reaches the stats; one
	// in another key does not.
	enc, err := srtp.CreateContext(ckey[:16], ckey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	rr := func(lost uint8) []byte {
		b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: clientSSRC,
			Reports: []rtcp.ReceptionReport{{SSRC: ts.stream.SSRC(), FractionLost: lost, Jitter: 90}}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other, _ := srtp.CreateContext(make([]byte, 16), make([]byte, 14), srtp.ProtectionProfileAes128CmHmacSha1_80)
	forged, _ := other.EncryptRTCP(nil, rr(200), nil)
	srvRTCP := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tr.ServerPorts[1]}
	rtcpConn.WriteTo(forged, srvRTCP)
	real, err := enc.EncryptRTCP(nil, rr(64), nil)
	if err != nil {
		t.Fatal(err)
	}
	rtcpConn.WriteTo(real, srvRTCP)
	deadline := time.Now().Add(3 * time.Second)
	for {
		st := ts.srv.Stats().Sessions
		if len(st) == 1 && st[0].FractionLost == 0.25 {
			if !st[0].SRTP {
				t.Error("Stats: session not marked SRTP")
			}
			break
		}
		if len(st) == 1 && st[0].FractionLost != 0 {
			t.Fatalf("fraction lost %v: a report in the wrong key was taken", st[0].FractionLost)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client's SRTCP receiver report did not reach the stats: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSRTPOverTCPBesidePlain plays RTP/SAVP interleaved in TLS next to a
// plain client of the same stream: both get the same packet sequence, one
// encrypted and one not, and the plain client's packets are not SRTP.
func TestSRTPOverTCPBesidePlain(t *testing.T) {
	ts, tlsAddr := startTLSServer(t, Options{})
	plain := dial(t, ts.addr)
	res := plain.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 {
		t.Fatalf("plain SETUP %d", res.StatusCode)
	}
	if res := plain.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("plain PLAY %d", res.StatusCode)
	}
	// Let the plain client run alone for a while: frames then have no
	// SRTP twin, and the GOP the SRTP client joins on is encrypted late.
	for range 5 {
		plain.readRTP()
	}

	c := dialTLS(t, tlsAddr)
	_, kh := testClientKey(t, 99)
	base := "rtsps://" + tlsAddr + "/main"
	res = c.do("SETUP", base+"/trackID=0", "Transport", "RTP/SAVP/TCP;unicast;interleaved=2-3", "KeyMgmt", kh)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Transport"), "RTP/SAVP/TCP;unicast;interleaved=2-3") {
		t.Fatalf("SETUP %d, Transport %q", res.StatusCode, res.Header.Get("Transport"))
	}
	var km headers.KeyMgmt
	if err := km.Unmarshal(res.Header.Get("KeyMgmt")); err != nil {
		t.Fatal(err)
	}
	dec, _ := serverKey(t, km.Data, ts.stream.SSRC())
	if res := c.do("PLAY", base, "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY %d", res.StatusCode)
	}
	var last uint16
	for i := range 80 {
		c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		ch, payload, err := message.ReadInterleaved(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ch != 2 {
			continue
		}
		out, err := dec.DecryptRTP(nil, payload, nil)
		if err != nil {
			t.Fatalf("interleaved packet %d does not decrypt: %v", i, err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(out); err != nil {
			t.Fatal(err)
		}
		if i > 0 && p.SequenceNumber != last+1 {
			t.Fatalf("sequence %d after %d", p.SequenceNumber, last)
		}
		last = p.SequenceNumber
	}
	// The plain client still gets plain H.264.
	for range 20 {
		_, p := plain.readRTP()
		if len(p.Payload) == 0 || (p.Payload[0]&0x1f != 28 && p.Payload[0]&0x1f != 1 && p.Payload[0]&0x1f != 24 && p.Payload[0]&0x1f != 5) {
			t.Fatalf("plain client got payload %x..., not H.264", p.Payload[:min(4, len(p.Payload))])
		}
	}
}

// TestSRTPWhateverTheClocks: a camera without NTP may be years away from
// its clients' clocks. A client's key is accepted whatever its timestamp,
// and the SETUP reply's key carries the client's timestamp back, so that a
// client that checks it against its own clock (gortsplib: within an hour)
// accepts it. The key in DESCRIBE, before the client has said anything,
// carries the camera's clock.
func TestSRTPWhateverTheClocks(t *testing.T) {
	_, tlsAddr := startTLSServer(t, Options{})
	for _, at := range []time.Time{
		time.Date(2046, 3, 1, 12, 0, 0, 0, time.UTC),
		time.Now().Add(-20 * 365 * 24 * time.Hour),
	} {
		c := dialTLS(t, tlsAddr)
		_, kh := testClientKeyAt(t, 5, at)
		res := c.do("SETUP", "rtsps://"+tlsAddr+"/main/trackID=0", "Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1", "KeyMgmt", kh)
		if res.StatusCode != 200 {
			t.Fatalf("SETUP from a client whose clock says %v: %d %s", at, res.StatusCode, res.Reason)
		}
		var km headers.KeyMgmt
		if err := km.Unmarshal(res.Header.Get("KeyMgmt")); err != nil {
			t.Fatal(err)
		}
		var m mikey.Message
		if err := m.Unmarshal(km.Data); err != nil {
			t.Fatal(err)
		}
		if got := mikey.TimeFromNTP(m.Time); !m.HasTime || got.Sub(at).Abs() > time.Millisecond {
			t.Errorf("the reply's MIKEY time is %v, want the client's %v", got, at)
		}
	}
}

// TestSRTPROCAcrossWrap checks that the rollover counter the stream
// announces and encrypts with follows sequence number wraps, also for a
// frame encrypted after frames that were never encrypted.
func TestSRTPROCAcrossWrap(t *testing.T) {
	f := newFanoutOpts(t, 0, 0, false)
	st := f.stream
	for range 25 {
		f.step(t)
	}
	// The IDR of the next GOP (several packets) wraps.
	st.pk.SetSequence(65534)
	st.extSeq.Store(65534)
	for range 5 {
		f.step(t)
	}
	if roc := uint32(st.extSeq.Load() >> 16); roc != 1 {
		t.Fatalf("ROC %d after a wrap, want 1", roc)
	}
	sp, err := st.secureKey()
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := st.keyMgmt(0)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := serverKey(t, data, st.SSRC())
	var m mikey.Message
	m.Unmarshal(data)
	st.mu.Lock()
	gop := append([]*frame(nil), st.gop...)
	for _, fr := range gop {
		if err := sp.encrypt(fr); err != nil {
			t.Fatal(err)
		}
	}
	st.mu.Unlock()
	if len(gop) != 5 || m.CryptoSessions[0].ROC != 0 || gop[0].roc != 0 || gop[1].roc != 1 {
		t.Fatalf("announced ROC %d for a GOP of %d frames", m.CryptoSessions[0].ROC, len(gop))
	}
	for _, fr := range gop {
		for i := range fr.packets() {
			if _, err := dec.DecryptRTP(nil, fr.wirePacket(true, i), nil); err != nil {
				t.Fatalf("frame seq %d ROC %d packet %d: %v", fr.seq, fr.roc, i, err)
			}
		}
	}
}

// TestSRTPJoinROC: the rollover counter a client is told at SETUP is that
// of the first packet it gets at PLAY, also when the sequence number has
// wrapped since the current GOP began. A stream that can make IDRs on
// request starts a client on a fresh IDR once its GOP is older than
// JoinReplayLimit: the counter is then the current one, not the GOP's.
// And if the GOP ages past that limit between SETUP and PLAY, the client
// is replayed the GOP its counter belongs to rather than a fresh IDR.
func TestSRTPJoinROC(t *testing.T) {
	setup := func(t *testing.T) (*fanout, *atomic.Int32) {
		f := newFanoutOpts(t, 0, 0, false)
		requested := new(atomic.Int32)
		f.stream.requestIDR = func() { requested.Add(1) }
		f.step(t) // the IDR, at ROC 0
		f.stream.pk.SetSequence(65534)
		f.stream.extSeq.Store(65534)
		for range 5 { // P frames across the wrap
			f.step(t)
		}
		if _, err := f.stream.secureKey(); err != nil {
			t.Fatal(err)
		}
		return f, requested
	}
	age := func(st *Stream, d time.Duration) {
		st.mu.Lock()
		st.gop[0].wall = time.Now().Add(-d)
		st.mu.Unlock()
	}
	// first subscribes a secure client told roc and returns the ROC of
	// the first frame it is queued, or of the next IDR published.
	first := func(t *testing.T, f *fanout, roc uint32) (uint32, bool) {
		sub := newSubscriber(nopSink{}, 64, 1<<20, &counters{})
		sub.secure, sub.roc = true, roc
		f.stream.subscribe(sub)
		defer f.stream.unsubscribe(sub)
		if fr := sub.take(make([]*frame, 0, 1)); len(fr) > 0 {
			return fr[0].roc, fr[0].idr
		}
		return uint32(f.stream.extSeq.Load() >> 16), false
	}

	t.Run("old GOP, fresh IDR", func(t *testing.T) {
		f, requested := setup(t)
		age(f.stream, time.Second)
		_, roc, err := f.stream.keyMgmt(0)
		if err != nil || roc != 1 {
			t.Fatalf("announced ROC %d (%v), want 1: the fresh IDR comes after the wrap", roc, err)
		}
		if got, _ := first(t, f, roc); got != roc || requested.Load() != 1 {
			t.Errorf("first packet's ROC %d, IDR requests %d; want %d and 1", got, requested.Load(), roc)
		}
	})
	t.Run("young GOP, replayed", func(t *testing.T) {
		f, requested := setup(t)
		age(f.stream, 100*time.Millisecond)
		_, roc, _ := f.stream.keyMgmt(0)
		if roc != 0 {
			t.Fatalf("announced ROC %d, want 0: the replayed IDR is before the wrap", roc)
		}
		if got, idr := first(t, f, roc); got != 0 || !idr || requested.Load() != 0 {
			t.Errorf("first frame ROC %d IDR %v, IDR requests %d; want the replayed IDR at 0", got, idr, requested.Load())
		}
	})
	t.Run("GOP aged between SETUP and PLAY", func(t *testing.T) {
		f, requested := setup(t)
		age(f.stream, 100*time.Millisecond)
		_, roc, _ := f.stream.keyMgmt(0)
		age(f.stream, time.Second)
		if got, idr := first(t, f, roc); got != roc || !idr || requested.Load() != 0 {
			t.Errorf("first frame ROC %d IDR %v, IDR requests %d; want the replayed IDR at %d", got, idr, requested.Load(), roc)
		}
	})
}

// nopSink takes every frame.
type nopSink struct{}

func (nopSink) tryWrite(*frame) (bool, error) { return true, nil }
func (nopSink) writeFrames([]*frame) error    { return nil }
func (nopSink) partial() bool                 { return false }
