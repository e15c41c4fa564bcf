package push

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/message"
)

// conn is the RTSP client side of one TCP connection to a relay. One
// goroutine (the session's) writes; a reader goroutine parses what the
// relay sends: responses go to resps, interleaved frames (RTCP receiver
// reports) are discarded.
type conn struct {
	nc           net.Conn
	userAgent    string
	timeout      time.Duration // for a request's answer
	writeTimeout time.Duration
	auth         *authorizer

	cseq    int
	session string // Session ID once SETUP succeeded

	resps   chan *message.Response
	readErr chan error // gets the reader's error, then is closed
	wbuf    []byte
}

// newConn starts the reader goroutine on nc.
func newConn(nc net.Conn, auth *authorizer, userAgent string, timeout, writeTimeout time.Duration) *conn {
	c := &conn{
		nc:           nc,
		userAgent:    userAgent,
		timeout:      timeout,
		writeTimeout: writeTimeout,
		auth:         auth,
		resps:        make(chan *message.Response, 8),
		readErr:      make(chan error, 1),
	}
	go c.readLoop()
	return c
}

// readLoop reads until the connection fails or is closed.
func (c *conn) readLoop() {
	defer close(c.readErr)
	br := bufio.NewReaderSize(c.nc, 16<<10)
	buf := make([]byte, 2048)
	for {
		inter, err := message.IsInterleaved(br)
		if err != nil {
			c.readErr <- err
			return
		}
		if inter {
			if _, _, err := message.ReadInterleaved(br, buf); err != nil {
				c.readErr <- err
				return
			}
			continue
		}
		resp, err := message.ReadResponse(br)
		if err != nil {
			c.readErr <- fmt.Errorf("reading response: %w", err)
			return
		}
		select {
		case c.resps <- resp:
		default:
			c.readErr <- errors.New("relay sent unsolicited responses")
			return
		}
	}
}

// close closes the connection and waits for the reader to end.
func (c *conn) close() {
	c.nc.Close()
	for range c.readErr {
	}
}

// write writes b with the write timeout.
func (c *conn) write(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	_, err := c.nc.Write(b)
	return err
}

// send writes a request without waiting for its answer and returns its
// CSeq. It adds CSeq, User-Agent, Session and Authorization.
func (c *conn) send(method, url string, h message.Header, body []byte) (int, error) {
	if h == nil {
		h = message.Header{}
	}
	c.cseq++
	h.Set("CSeq", strconv.Itoa(c.cseq))
	if c.userAgent != "" {
		h.Set("User-Agent", c.userAgent)
	}
	if c.session != "" {
		h.Set("Session", c.session)
	}
	if v := c.auth.header(method, url); v != "" {
		h.Set("Authorization", v)
	}
	req := message.Request{Method: method, URL: url, Header: h, Body: body}
	c.wbuf = req.AppendTo(c.wbuf[:0])
	return c.cseq, c.write(c.wbuf)
}

// await waits for the answer with the given CSeq; answers to earlier
// requests (keepalives) are skipped.
func (c *conn) await(ctx context.Context, cseq int) (*message.Response, error) {
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	for {
		select {
		case resp := <-c.resps:
			n, err := strconv.Atoi(resp.Header.Get("CSeq"))
			if err != nil {
				return nil, fmt.Errorf("answer without a valid CSeq (%q)", resp.Header.Get("CSeq"))
			}
			if n < cseq {
				continue
			}
			if n > cseq {
				return nil, fmt.Errorf("answer with CSeq %d to request %d", n, cseq)
			}
			return resp, nil
		case err, ok := <-c.readErr:
			if !ok || err == nil {
				err = errors.New("connection closed")
			}
			return nil, fmt.Errorf("relay closed the connection: %w", err)
		case <-timer.C:
			return nil, fmt.Errorf("no answer within %v", c.timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// do sends a request and waits for its answer. A 401 is answered once
// with credentials (twice when the relay says the nonce was stale). Any
// status other than 2xx is an error.
func (c *conn) do(ctx context.Context, method, url string, h message.Header, body []byte) (*message.Response, error) {
	for range 3 {
		var hh message.Header
		if h != nil {
			hh = h.Clone()
		}
		cseq, err := c.send(method, url, hh, body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		resp, err := c.await(ctx, cseq)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		switch {
		case resp.StatusCode == 401:
			if err := c.auth.challenge(resp.Header.Values("WWW-Authenticate")); err != nil {
				return nil, fmt.Errorf("%s: %w", method, err)
			}
			continue
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			return nil, &StatusError{Method: method, Code: resp.StatusCode, Reason: resp.Reason}
		}
		return resp, nil
	}
	return nil, fmt.Errorf("%s: %w", method, errAuthFailed)
}

// StatusError is a relay's answer other than 2xx.
type StatusError struct {
	Method string // the request's method
	Code   int    // the status code
	Reason string // the reason phrase
}

// Error returns, for instance, "push: ANNOUNCE: relay answered 403 Forbidden".
func (e *StatusError) Error() string {
	return fmt.Sprintf("push: %s: relay answered %d %s", e.Method, e.Code, e.Reason)
}
