package main

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestConnLimiter: beyond the per-address cap a connection is closed at
// once while the others are served; closing one frees its slot; and the
// limit sits beneath TLS, so that the HTTP server still sees TLS.
func TestConnLimiter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := newConnLimiter(100, 3, slog.New(slog.DiscardHandler))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "no TLS", 500)
			return
		}
		io.WriteString(w, "ok")
	}))
	srv.Listener.Close()
	srv.Listener = lim.listener(ln)
	srv.StartTLS()
	defer srv.Close()

	dial := func() *tls.Conn {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// get sends a request on c and reports whether it was answered "ok".
	get := func(c *tls.Conn) bool {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		b := make([]byte, 512)
		n, _ := io.ReadAtLeast(c, b, 1)
		return n > 0 && string(b[:12]) == "HTTP/1.1 200"
	}
	var held []*tls.Conn
	for i := range 3 {
		c := dial()
		if !get(c) {
			t.Fatalf("connection %d within the cap was not served", i)
		}
		held = append(held, c)
	}
	// The fourth from the same address: the TLS handshake itself fails,
	// since the server closes the connection on accept.
	if c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true}); err == nil {
		if get(c) {
			t.Error("a fourth connection from one address was served (cap 3)")
		}
		c.Close()
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lim.mu.Lock()
		open := lim.open
		lim.mu.Unlock()
		if open == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections counted after one of 3 closed", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := dial(); !get(c) {
		t.Error("a connection after one closed was not served")
	}
}

// TestLimitedConnPassesTCPMethods: what net/http and the RTSP tunnel look
// for on a *net.TCPConn still works through the limiter.
func TestLimitedConnPassesTCPMethods(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lln := newConnLimiter(10, 10, slog.New(slog.DiscardHandler)).listener(ln)
	defer lln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			io.Copy(io.Discard, c) // until the server half-closes
			c.Close()
		}
	}()
	c, err := lln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if sw, ok := c.(interface{ SetWriteBuffer(int) error }); !ok || sw.SetWriteBuffer(64<<10) != nil {
		t.Error("SetWriteBuffer is not passed on")
	}
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		t.Fatal("CloseWrite is not passed on")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after CloseWrite the peer did not hang up: %v", err)
	}
}
