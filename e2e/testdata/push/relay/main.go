// Command relay is a minimal RTSP relay for the push tests: it accepts one
// publisher per path (ANNOUNCE + RECORD, over TCP or UDP) and serves what
// it receives to any number of players (DESCRIBE + PLAY) of the same
// path. It is built on the gortsplib v5 server, as mediamtx is.
//
// Usage:
//
//	relay -addr 127.0.0.1:8554 [-user u -pass p] [-methods basic,digest] [-tls]
//
// With -user, publishers must authenticate (players never have to). With
// -tls it serves rtsps:// with a fresh self-signed certificate for
// 127.0.0.1 and prints "fingerprint <sha-256 hex>" before listening. It
// prints "publishing <path>" when a RECORD succeeds and "packets <path> N"
// every 100 RTP packets, so tests can follow the publisher.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/auth"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
)

type path struct {
	stream    *gortsplib.ServerStream
	publisher *gortsplib.ServerSession
}

type handler struct {
	server     *gortsplib.Server
	user, pass string

	mu    sync.Mutex
	paths map[string]*path
}

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, p := range h.paths {
		if p.publisher == ctx.Session {
			p.stream.Close()
			delete(h.paths, name)
			fmt.Printf("unpublished %s\n", name)
		}
	}
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.paths[ctx.Path]
	if p == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, p.stream, nil
}

func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	if h.user != "" && !ctx.Conn.VerifyCredentials(ctx.Request, h.user, h.pass) {
		fmt.Printf("auth challenge %s\n", ctx.Path)
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.paths[ctx.Path]; old != nil {
		old.stream.Close()
		old.publisher.Close()
	}
	st := &gortsplib.ServerStream{Server: h.server, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	h.paths[ctx.Path] = &path{stream: st, publisher: ctx.Session}
	fmt.Printf("announced %s\n", ctx.Path)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.paths[ctx.Path]
	if p == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, p.stream, nil
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	fmt.Printf("playing %s\n", ctx.Path)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	h.mu.Lock()
	p := h.paths[ctx.Path]
	h.mu.Unlock()
	if p == nil || p.publisher != ctx.Session {
		return &base.Response{StatusCode: base.StatusBadRequest}, nil
	}
	name := ctx.Path
	n := 0
	ctx.Session.OnPacketRTPAny(func(m *description.Media, _ format.Format, pkt *rtp.Packet) {
		if err := p.stream.WritePacketRTP(m, pkt); err != nil {
			log.Printf("write: %v", err)
		}
		n++
		if n%100 == 0 {
			fmt.Printf("packets %s %d\n", name, n)
		}
	})
	proto := "?"
	if tr := ctx.Session.Transport(); tr != nil {
		proto = strings.ToLower(tr.Protocol.String())
	}
	fmt.Printf("publishing %s over %s\n", name, proto)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8554", "RTSP listen address")
	user := flag.String("user", "", "publisher user name; empty: no authentication")
	pass := flag.String("pass", "", "publisher password")
	methods := flag.String("methods", "basic,digest", "authentication methods offered: basic, digest, sha256")
	udp := flag.Int("udp", 0, "UDP port for RTP (RTCP on the next one); 0: TCP only")
	useTLS := flag.Bool("tls", false, "serve rtsps:// with a self-signed certificate")
	flag.Parse()
	h := &handler{user: *user, pass: *pass, paths: map[string]*path{}}
	h.server = &gortsplib.Server{Handler: h, RTSPAddress: *addr}
	if *useTLS {
		cert, fp := selfSigned()
		h.server.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		fmt.Printf("fingerprint %s\n", fp)
	}
	if *udp > 0 {
		h.server.UDPRTPAddress = fmt.Sprintf(":%d", *udp)
		h.server.UDPRTCPAddress = fmt.Sprintf(":%d", *udp+1)
	}
	for m := range strings.SplitSeq(*methods, ",") {
		switch m {
		case "basic":
			h.server.AuthMethods = append(h.server.AuthMethods, auth.VerifyMethodBasic)
		case "digest":
			h.server.AuthMethods = append(h.server.AuthMethods, auth.VerifyMethodDigestMD5)
		case "sha256":
			h.server.AuthMethods = append(h.server.AuthMethods, auth.VerifyMethodDigestSHA256)
		default:
			log.Fatalf("unknown method %q", m)
		}
	}
	if err := h.server.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", *addr)
	os.Stdout.Sync()
	log.Fatal(h.server.Wait())
}

// selfSigned makes a certificate for 127.0.0.1 and returns it with its
// SHA-256 fingerprint in hex.
func selfSigned() (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:])
}
