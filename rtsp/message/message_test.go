package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func reader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Request
	}{
		{
			name: "ffmpeg OPTIONS",
			in:   "OPTIONS rtsp://192.168.1.10:554/main RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf60.16.100\r\n\r\n",
			want: &Request{Method: "OPTIONS", URL: "rtsp://192.168.1.10:554/main", Proto: "RTSP/1.0",
				Header: Header{"CSeq": {"1"}, "User-Agent": {"Lavf60.16.100"}}},
		},
		{
			name: "ffmpeg SETUP udp",
			in: "SETUP rtsp://192.168.1.10:554/main/trackID=0 RTSP/1.0\r\n" +
				"Transport: RTP/AVP/UDP;unicast;client_port=20000-20001\r\n" +
				"CSeq: 3\r\nUser-Agent: Lavf60.16.100\r\n\r\n",
			want: &Request{Method: "SETUP", URL: "rtsp://192.168.1.10:554/main/trackID=0", Proto: "RTSP/1.0",
				Header: Header{
					"Transport":  {"RTP/AVP/UDP;unicast;client_port=20000-20001"},
					"CSeq":       {"3"},
					"User-Agent": {"Lavf60.16.100"},
				}},
		},
		{
			name: "VLC DESCRIBE lower-case names, LF endings",
			in:   "DESCRIBE rtsp://cam/main RTSP/1.0\ncseq: 3\nuser-agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\naccept: application/sdp\n\n",
			want: &Request{Method: "DESCRIBE", URL: "rtsp://cam/main", Proto: "RTSP/1.0",
				Header: Header{
					"CSeq":       {"3"},
					"User-Agent": {"LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)"},
					"Accept":     {"application/sdp"},
				}},
		},
		{
			name: "leading empty lines, whitespace around values, repeated header",
			in:   "\r\n\r\nGET_PARAMETER * RTSP/1.0\r\nCSeq:9\r\nSession:   ABC  \r\nX-Foo: a\r\nx-foo: b\r\nEmpty:\r\n\r\n",
			want: &Request{Method: "GET_PARAMETER", URL: "*", Proto: "RTSP/1.0",
				Header: Header{"CSeq": {"9"}, "Session": {"ABC"}, "X-Foo": {"a", "b"}, "Empty": {""}}},
		},
		{
			name: "ANNOUNCE with body",
			in:   "ANNOUNCE rtsp://cam/live RTSP/1.0\r\nContent-Type: application/sdp\r\nCSeq: 2\r\nContent-Length: 9\r\n\r\nv=0\r\no=- x",
			want: &Request{Method: "ANNOUNCE", URL: "rtsp://cam/live", Proto: "RTSP/1.0",
				Header: Header{"Content-Type": {"application/sdp"}, "CSeq": {"2"}, "Content-Length": {"9"}},
				Body:   []byte("v=0\r\no=- x")[:9]},
		},
		{
			name: "RTSP/2.0 is parsed",
			in:   "OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n",
			want: &Request{Method: "OPTIONS", URL: "*", Proto: "RTSP/2.0", Header: Header{"CSeq": {"1"}}},
		},
		{
			name: "zero Content-Length",
			in:   "PLAY rtsp://cam/main RTSP/1.0\r\nCSeq: 5\r\nContent-Length: 0\r\n\r\n",
			want: &Request{Method: "PLAY", URL: "rtsp://cam/main", Proto: "RTSP/1.0",
				Header: Header{"CSeq": {"5"}, "Content-Length": {"0"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{16, 4096} {
				br := bufio.NewReaderSize(strings.NewReader(tt.in), size)
				got, err := ReadRequest(br)
				if err != nil {
					t.Fatalf("size %d: ReadRequest: %v", size, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("size %d: ReadRequest =\n%#v\nwant\n%#v", size, got, tt.want)
				}
			}
		})
	}
}

func TestReadRequestErrors(t *testing.T) {
	long := strings.Repeat("a", MaxLineLength)
	tests := []struct {
		name     string
		in       string
		wantErr  error // matched with errors.Is; nil means a *ProtocolError
		wantCSeq string
	}{
		{"empty", "", io.EOF, ""},
		{"only blank lines", "\r\n\r\n", io.EOF, ""},
		{"eof in request line", "OPTIONS * RTS", io.ErrUnexpectedEOF, ""},
		{"eof in headers", "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n", io.ErrUnexpectedEOF, ""},
		{"eof in body", "ANNOUNCE * RTSP/1.0\r\nContent-Length: 10\r\n\r\nabc", io.ErrUnexpectedEOF, ""},
		{"two parts", "OPTIONS *\r\n\r\n", nil, ""},
		{"four parts", "OPTIONS * RTSP/1.0 x\r\n\r\n", nil, ""},
		{"double space", "OPTIONS  * RTSP/1.0\r\n\r\n", nil, ""},
		{"empty method", " * RTSP/1.0\r\n\r\n", nil, ""},
		{"non-token method", "OPT(IONS * RTSP/1.0\r\n\r\n", nil, ""},
		{"control char in URI", "OPTIONS rtsp://a\x01b RTSP/1.0\r\n\r\n", nil, ""},
		{"HTTP", "GET / HTTP/1.1\r\n\r\n", nil, ""},
		{"RTSP/1.1", "OPTIONS * RTSP/1.1\r\n\r\n", nil, ""},
		{"lower-case proto", "OPTIONS * rtsp/1.0\r\n\r\n", nil, ""},
		{"header without colon", "OPTIONS * RTSP/1.0\r\nCSeq: 4\r\nbogus\r\n\r\n", nil, "4"},
		{"continuation line", "OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n folded\r\n\r\n", nil, "4"},
		{"empty header name", "OPTIONS * RTSP/1.0\r\n: x\r\n\r\n", nil, ""},
		{"control char in value", "OPTIONS * RTSP/1.0\r\nCSeq: 7\r\nX: a\x00b\r\n\r\n", nil, "7"},
		{"bad Content-Length", "ANNOUNCE * RTSP/1.0\r\nCSeq: 2\r\nContent-Length: -1\r\n\r\n", nil, "2"},
		{"hex Content-Length", "ANNOUNCE * RTSP/1.0\r\nContent-Length: 0x10\r\n\r\n", nil, ""},
		{"huge Content-Length", "ANNOUNCE * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 99999999999999999999999\r\n\r\n", nil, "3"},
		{"Content-Length over limit", "ANNOUNCE * RTSP/1.0\r\nContent-Length: 65537\r\n\r\n", nil, ""},
		{"conflicting Content-Length", "ANNOUNCE * RTSP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", nil, ""},
		{"request line too long", "OPTIONS rtsp://" + long + " RTSP/1.0\r\n\r\n", nil, ""},
		{"header line too long", "OPTIONS * RTSP/1.0\r\nCSeq: 8\r\nX: " + long + "\r\n\r\n", nil, "8"},
		{"too many headers", "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + strings.Repeat("X: y\r\n", MaxHeaders) + "\r\n", nil, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{16, 4096} {
				br := bufio.NewReaderSize(strings.NewReader(tt.in), size)
				req, err := ReadRequest(br)
				if err == nil {
					t.Fatalf("size %d: ReadRequest = %+v, want error", size, req)
				}
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("size %d: err = %v, want %v", size, err, tt.wantErr)
					}
					continue
				}
				var perr *ProtocolError
				if !errors.As(err, &perr) {
					t.Fatalf("size %d: err = %#v, want *ProtocolError", size, err)
				}
				if perr.CSeq != tt.wantCSeq {
					t.Errorf("size %d: CSeq = %q, want %q", size, perr.CSeq, tt.wantCSeq)
				}
				if !strings.HasPrefix(err.Error(), "rtsp: ") {
					t.Errorf("error %q lacks rtsp: prefix", err)
				}
			}
		})
	}
}

func TestReadRequestLimits(t *testing.T) {
	// Lines of exactly MaxLineLength bytes, a body of exactly
	// MaxContentLength bytes and exactly MaxHeaders headers are accepted.
	uri := "rtsp://" + strings.Repeat("u", MaxLineLength-len("ANNOUNCE  RTSP/1.0")-len("rtsp://"))
	var b strings.Builder
	b.WriteString("ANNOUNCE " + uri + " RTSP/1.0\r\n")
	b.WriteString("X: " + strings.Repeat("v", MaxLineLength-3) + "\n")
	for i := 0; i < MaxHeaders-2; i++ {
		b.WriteString("Y: z\r\n")
	}
	b.WriteString("Content-Length: 65536\r\n\r\n")
	b.WriteString(strings.Repeat("b", MaxContentLength))
	if n := strings.Index(b.String(), "\r\n"); n != MaxLineLength {
		t.Fatalf("request line is %d bytes, want %d", n, MaxLineLength)
	}
	for _, size := range []int{16, 4096, 8192} {
		br := bufio.NewReaderSize(strings.NewReader(b.String()), size)
		req, err := ReadRequest(br)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(req.Body) != MaxContentLength || req.URL != uri {
			t.Errorf("size %d: got body %d URL %d bytes", size, len(req.Body), len(req.URL))
		}
	}
}

func TestReadRequestSequence(t *testing.T) {
	// Several requests and interleaved frames on one connection, as a
	// server loop sees them.
	in := "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n" +
		"$\x01\x00\x04ABCD" +
		"\r\n" +
		"GET_PARAMETER rtsp://cam/main RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 2\r\n\r\nhi" +
		"$\x03\x00\x00"
	br := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(in)), 16)
	var got []string
	buf := make([]byte, 0, 8)
	for {
		ok, err := IsInterleaved(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			ch, p, err := ReadInterleaved(br, buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(rune('0'+ch))+":"+string(p))
			continue
		}
		req, err := ReadRequest(br)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, req.Method+":"+req.Header.Get("CSeq")+":"+string(req.Body))
	}
	want := []string{"OPTIONS:1:", "1:ABCD", "GET_PARAMETER:2:hi", "3:"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Response
	}{
		{
			name: "live555 OPTIONS reply",
			in:   "RTSP/1.0 200 OK\r\nCSeq: 2\r\nDate: Tue, Nov 25 2025 15:46:00 GMT\r\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\r\n\r\n",
			want: &Response{StatusCode: 200, Reason: "OK", Header: Header{
				"CSeq":   {"2"},
				"Date":   {"Tue, Nov 25 2025 15:46:00 GMT"},
				"Public": {"OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER"},
			}},
		},
		{
			name: "DESCRIBE reply with SDP",
			in:   "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Base: rtsp://cam/main/\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
			want: &Response{StatusCode: 200, Reason: "OK", Header: Header{
				"CSeq":           {"3"},
				"Content-Base":   {"rtsp://cam/main/"},
				"Content-Type":   {"application/sdp"},
				"Content-Length": {"4"},
			}, Body: []byte("v=0\n")},
		},
		{
			name: "401 with two WWW-Authenticate",
			in:   "RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm=\"cam\", nonce=\"abc\"\r\nwww-authenticate: Basic realm=\"cam\"\r\n\r\n",
			want: &Response{StatusCode: 401, Reason: "Unauthorized", Header: Header{
				"CSeq":             {"2"},
				"WWW-Authenticate": {"Digest realm=\"cam\", nonce=\"abc\"", "Basic realm=\"cam\""},
			}},
		},
		{
			name: "no reason phrase",
			in:   "RTSP/1.0 454\r\nCSeq: 9\r\n\r\n",
			want: &Response{StatusCode: 454, Header: Header{"CSeq": {"9"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadResponse(reader(tt.in))
			if err != nil {
				t.Fatalf("ReadResponse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadResponse =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestReadResponseErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"empty", "", io.EOF},
		{"truncated", "RTSP/1.0 200 OK\r\n", io.ErrUnexpectedEOF},
		{"HTTP", "HTTP/1.1 200 OK\r\n\r\n", nil},
		{"short code", "RTSP/1.0 20 OK\r\n\r\n", nil},
		{"non-digit code", "RTSP/1.0 2x0 OK\r\n\r\n", nil},
		{"leading zero code", "RTSP/1.0 099 OK\r\n\r\n", nil},
		{"control in reason", "RTSP/1.0 200 O\x01K\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadResponse(reader(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			var perr *ProtocolError
			if !errors.As(err, &perr) {
				t.Errorf("err = %v, want *ProtocolError", err)
			}
		})
	}
}

func TestResponseAppendTo(t *testing.T) {
	tests := []struct {
		name string
		resp Response
		want string
	}{
		{
			name: "OPTIONS",
			resp: Response{StatusCode: 200, Header: Header{
				"Public": {"OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"},
				"CSeq":   {"1"},
				"Server": {"ipcamd"},
			}},
			want: "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\nServer: ipcamd\r\n\r\n",
		},
		{
			name: "DESCRIBE body sets Content-Length, stale one dropped",
			resp: Response{StatusCode: 200, Header: Header{
				"Content-Type":   {"application/sdp"},
				"Content-Length": {"999"},
				"CSeq":           {"2"},
				"Content-Base":   {"rtsp://cam/main/"},
			}, Body: []byte("v=0\r\n")},
			want: "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://cam/main/\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n",
		},
		{
			name: "custom reason, header injection neutralised",
			resp: Response{StatusCode: 454, Reason: "Gone\r\nX: y", Header: Header{"CSeq": {"3\r\nEvil: 1"}}},
			want: "RTSP/1.0 454 Gone  X: y\r\nCSeq: 3  Evil: 1\r\n\r\n",
		},
		{
			name: "unknown code, nil header",
			resp: Response{StatusCode: 599},
			want: "RTSP/1.0 599 Status 599\r\n\r\n",
		},
		{
			name: "505",
			resp: Response{StatusCode: StatusRTSPVersionNotSupported, Header: Header{"CSeq": {"1"}}},
			want: "RTSP/1.0 505 RTSP Version not supported\r\nCSeq: 1\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.resp.AppendTo([]byte(nil))); got != tt.want {
				t.Errorf("AppendTo =\n%q\nwant\n%q", got, tt.want)
			}
			var buf bytes.Buffer
			if err := tt.resp.Write(&buf); err != nil || buf.String() != tt.want {
				t.Errorf("Write = %q, %v", buf.String(), err)
			}
		})
	}
}

func TestRequestAppendTo(t *testing.T) {
	req := &Request{Method: "SET_PARAMETER", URL: "rtsp://cam/main", Header: Header{
		"Session":      {"12345678"},
		"CSeq":         {"7"},
		"Content-Type": {"text/parameters"},
	}, Body: []byte("a: b\r\n")}
	want := "SET_PARAMETER rtsp://cam/main RTSP/1.0\r\nCSeq: 7\r\nContent-Type: text/parameters\r\nSession: 12345678\r\nContent-Length: 6\r\n\r\na: b\r\n"
	if got := string(req.AppendTo(nil)); got != want {
		t.Errorf("AppendTo =\n%q\nwant\n%q", got, want)
	}
	back, err := ReadRequest(reader(want))
	if err != nil {
		t.Fatal(err)
	}
	if back.Method != req.Method || back.URL != req.URL || !bytes.Equal(back.Body, req.Body) || back.Header.Get("Session") != "12345678" {
		t.Errorf("round trip = %+v", back)
	}
}

func TestStatusText(t *testing.T) {
	for _, code := range []int{200, 301, 302, 400, 401, 403, 404, 405, 406, 451, 453, 454, 455, 457, 459, 461, 500, 501, 503, 505, 551} {
		if StatusText(code) == "" {
			t.Errorf("StatusText(%d) is empty", code)
		}
	}
	if got := StatusText(299); got != "" {
		t.Errorf("StatusText(299) = %q", got)
	}
}

func TestReadRequestHeadLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("OPTIONS * RTSP/1.0\r\nCSeq: 3\r\n")
	for i := 0; b.Len() < MaxHeadBytes+100; i++ {
		fmt.Fprintf(&b, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 200))
	}
	b.WriteString("\r\n")
	_, err := ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.CSeq != "3" {
		t.Fatalf("err = %v, want a ProtocolError carrying CSeq 3", err)
	}
}
