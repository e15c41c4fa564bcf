package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"testing"
)

// headersEqualIgnoringLength compares headers, ignoring Content-Length,
// which AppendTo derives from the body.
func headersEqualIgnoringLength(a, b Header) bool {
	a, b = a.Clone(), b.Clone()
	a.Del("Content-Length")
	b.Del("Content-Length")
	return maps.EqualFunc(a, b, slices.Equal)
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("OPTIONS rtsp://192.168.1.10:8554/main RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf61.7.100\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		// Read as a server loop would, until the input runs out or is bad.
		for range 8 {
			if ok, err := IsInterleaved(br); err != nil {
				return
			} else if ok {
				if _, _, err := ReadInterleaved(br, nil); err != nil {
					return
				}
				continue
			}
			req, err := ReadRequest(br)
			if err != nil {
				var perr *ProtocolError
				if !errors.As(err, &perr) && err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if len(req.Body) > MaxContentLength || len(req.Header) > MaxHeaders {
				t.Fatalf("limits exceeded: %d body bytes, %d headers", len(req.Body), len(req.Header))
			}
			wire := req.AppendTo(nil)
			back, err := ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
			if err != nil {
				t.Fatalf("re-parsing %q: %v", wire, err)
			}
			if back.Method != req.Method || back.URL != req.URL || back.Proto != req.Proto ||
				!bytes.Equal(back.Body, req.Body) || !headersEqualIgnoringLength(back.Header, req.Header) {
				t.Fatalf("round trip mismatch:\n%#v\n%#v", req, back)
			}
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := ReadResponse(bufio.NewReaderSize(bytes.NewReader(data), 16))
		if err != nil {
			var perr *ProtocolError
			if !errors.As(err, &perr) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status code %d", resp.StatusCode)
		}
		wire := resp.AppendTo(nil)
		back, err := ReadResponse(bufio.NewReader(bytes.NewReader(wire)))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", wire, err)
		}
		wantReason := resp.Reason
		if wantReason == "" {
			wantReason = StatusText(resp.StatusCode)
		}
		if wantReason == "" {
			wantReason = "Status " + strconv.Itoa(resp.StatusCode)
		}
		if back.StatusCode != resp.StatusCode || back.Reason != wantReason ||
			!bytes.Equal(back.Body, resp.Body) || !headersEqualIgnoringLength(back.Header, resp.Header) {
			t.Fatalf("round trip mismatch:\n%#v\n%#v", resp, back)
		}
	})
}

func FuzzReadInterleaved(f *testing.F) {
	f.Add([]byte("$\x01\x00\x08\x81\xc9\x00\x07\x5e\x2d\x1c\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		buf := make([]byte, 0, 32)
		for {
			ch, p, err := ReadInterleaved(br, buf)
			if err != nil {
				var perr *ProtocolError
				if !errors.As(err, &perr) && err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				return
			}
			if len(p) <= cap(buf) && len(p) > 0 && &p[0] != &buf[:1][0] {
				t.Fatalf("payload of %d bytes not read into buf of cap %d", len(p), cap(buf))
			}
			frame, err := AppendInterleaved(nil, ch, p)
			if err != nil {
				t.Fatalf("AppendInterleaved: %v", err)
			}
			ch2, p2, err := ReadInterleaved(bufio.NewReader(bytes.NewReader(frame)), nil)
			if err != nil || ch2 != ch || !bytes.Equal(p2, p) {
				t.Fatalf("round trip: got %d % x %v, want %d % x", ch2, p2, err, ch, p)
			}
		}
	})
}
