package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Limits enforced by ReadRequest and ReadResponse.
const (
	// MaxLineLength is the maximum length in bytes of the request or status
	// line and of each header line, not counting the line terminator.
	MaxLineLength = 4096
	// MaxHeaders is the maximum number of header lines in a message.
	MaxHeaders = 64
	// MaxHeadBytes is the maximum size in bytes of all header lines of a
	// message together, line terminators included.
	MaxHeadBytes = 8 << 10
	// MaxContentLength is the maximum value of the Content-Length header,
	// that is the maximum size of a message body.
	MaxContentLength = 64 << 10
)

// Protocol versions recognised in request and status lines.
const (
	Proto10 = "RTSP/1.0" // RFC 2326
	Proto20 = "RTSP/2.0" // RFC 7826; parsed, but not otherwise supported
)

// A ProtocolError reports a malformed or oversized RTSP message. A server
// should answer it with 400 Bad Request and close the connection, since the
// position of the next message in the stream is unknown.
type ProtocolError struct {
	// Msg describes what was wrong.
	Msg string
	// CSeq is the value of the CSeq header if it had been read before the
	// error was detected, so that the reply can echo it; otherwise "".
	CSeq string
	// Complete reports that the whole malformed message was read, so
	// that the next message on the connection can still be read.
	Complete bool
	// Version reports a well-formed protocol version that is not RTSP
	// 1.0 or 2.0, such as RTSP/1.1: the answer is 505, not 400.
	Version bool
}

// Error implements the error interface.
func (e *ProtocolError) Error() string {
	return "rtsp: " + e.Msg
}

// errLineTooLong is returned by readLine; callers turn it into a
// *ProtocolError.
var errLineTooLong = errors.New("line too long")

// readLine reads one line terminated by "\n" or "\r\n" and returns it
// without the terminator. The returned slice is valid only until the next
// read from br unless it had to be assembled from several buffer fills. It
// returns io.EOF if br is at EOF before the first byte, io.ErrUnexpectedEOF
// if EOF comes later, and errLineTooLong if the line exceeds MaxLineLength.
func readLine(br *bufio.Reader) ([]byte, error) {
	var acc []byte
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if acc != nil {
				acc = append(acc, chunk...)
				chunk = acc
			}
			chunk = chunk[:len(chunk)-1]
			if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
				chunk = chunk[:n-1]
			}
			if len(chunk) > MaxLineLength {
				return nil, errLineTooLong
			}
			return chunk, nil
		case errors.Is(err, bufio.ErrBufferFull):
			// The line is longer than br's buffer: accumulate, allowing
			// for a "\r" that the terminator will strip.
			if len(acc)+len(chunk) > MaxLineLength+1 {
				return nil, errLineTooLong
			}
			acc = append(acc, chunk...)
		case err == io.EOF:
			if len(acc) == 0 && len(chunk) == 0 {
				return nil, io.EOF
			}
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// ReadRequest reads and parses one RTSP request from br.
//
// Empty lines before the request line are skipped. Lines may end in "\r\n"
// or "\n"; header continuation lines are not supported. The request line
// must have exactly three space-separated parts: a method that is an RFC
// 2326 token, a Request-URI, which is returned as sent, and a protocol
// version, which must be Proto10 or Proto20. A body is read when a
// Content-Length header is present.
//
// Malformed input, and input exceeding MaxLineLength, MaxHeaders or
// MaxContentLength, yields a *ProtocolError. ReadRequest returns io.EOF if br
// is at EOF before the first byte of a request, and io.ErrUnexpectedEOF if
// EOF comes in the middle of one. Other errors from br are returned as they
// are.
func ReadRequest(br *bufio.Reader) (*Request, error) {
	line, err := readStartLine(br, "request")
	if err != nil {
		return nil, err
	}
	req, perr := parseRequestLine(line)
	if perr != nil {
		// Read past the rest of the message, so that the reply can echo
		// its CSeq and the connection stays usable.
		h, _, err := readHeaderAndBody(br)
		if err == nil {
			perr.CSeq, perr.Complete = h.Get("CSeq"), true
		} else if pe, ok := err.(*ProtocolError); ok {
			perr.CSeq = pe.CSeq
		}
		return nil, perr
	}
	req.Header, req.Body, err = readHeaderAndBody(br)
	if err != nil {
		return nil, err
	}
	return req, nil
}

// parseRequestLine parses Method SP Request-URI SP RTSP-Version.
func parseRequestLine(line []byte) (*Request, *ProtocolError) {
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	uri, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || len(method) == 0 || len(uri) == 0 || len(proto) == 0 ||
		bytes.IndexByte(proto, ' ') >= 0 {
		return nil, &ProtocolError{Msg: fmt.Sprintf("malformed request line %q", clip(line))}
	}
	if !isToken(method) {
		return nil, &ProtocolError{Msg: fmt.Sprintf("invalid method %q", clip(method))}
	}
	if !isVisible(uri) {
		return nil, &ProtocolError{Msg: fmt.Sprintf("invalid Request-URI %q", clip(uri))}
	}
	p, ok := parseProto(proto)
	if !ok {
		return nil, &ProtocolError{Msg: fmt.Sprintf("unsupported protocol version %q", clip(proto)),
			Version: versionRE.Match(proto)}
	}
	return &Request{Method: string(method), URL: string(uri), Proto: p}, nil
}

// versionRE matches a well-formed RTSP version (RFC 7826 §20.2.1).
var versionRE = regexp.MustCompile(`^RTSP/[0-9]\.[0-9]$`)

// ReadResponse reads and parses one RTSP response from br. It applies the
// same rules and limits as ReadRequest. The status line must consist of the
// protocol version (Proto10 or Proto20), a three-digit status code and an
// optional reason phrase.
func ReadResponse(br *bufio.Reader) (*Response, error) {
	line, err := readStartLine(br, "response")
	if err != nil {
		return nil, err
	}
	proto, rest, _ := bytes.Cut(line, []byte{' '})
	code, reason, _ := bytes.Cut(rest, []byte{' '})
	if _, ok := parseProto(proto); !ok {
		return nil, &ProtocolError{Msg: fmt.Sprintf("malformed status line %q", clip(line))}
	}
	if len(code) != 3 || !isDigits(code) || code[0] == '0' {
		return nil, &ProtocolError{Msg: fmt.Sprintf("invalid status code in status line %q", clip(line))}
	}
	if !isText(reason) {
		return nil, &ProtocolError{Msg: fmt.Sprintf("invalid reason phrase %q", clip(reason))}
	}
	resp := &Response{
		StatusCode: int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'),
		Reason:     string(reason),
	}
	resp.Header, resp.Body, err = readHeaderAndBody(br)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// readStartLine reads the first line of a message, skipping empty lines. EOF
// before or between empty lines is reported as io.EOF: no message had begun.
func readStartLine(br *bufio.Reader, what string) ([]byte, error) {
	for {
		line, err := readLine(br)
		switch {
		case err == errLineTooLong:
			return nil, &ProtocolError{Msg: what + " line too long"}
		case err != nil:
			return nil, err
		case len(line) > 0:
			return line, nil
		}
	}
}

// readHeaderAndBody reads the header lines up to and including the empty
// line that ends them, then the body if there is a Content-Length.
func readHeaderAndBody(br *bufio.Reader) (Header, []byte, error) {
	h := make(Header)
	var cseq string
	perr := func(format string, args ...any) error {
		return &ProtocolError{Msg: fmt.Sprintf(format, args...), CSeq: cseq}
	}
	contentLength := -1
	head := 0
	for n := 0; ; n++ {
		line, err := readLine(br)
		head += len(line) + 2
		if head > MaxHeadBytes {
			return nil, nil, perr("header block larger than %d bytes", MaxHeadBytes)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == errLineTooLong {
			return nil, nil, perr("header line too long")
		}
		if err != nil {
			return nil, nil, err
		}
		if len(line) == 0 {
			break
		}
		if n == MaxHeaders {
			return nil, nil, perr("too many header lines (limit %d)", MaxHeaders)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return nil, nil, perr("malformed header line %q", clip(line))
		}
		name = bytes.TrimRight(name, " \t")
		if !isToken(name) {
			return nil, nil, perr("invalid header name %q", clip(name))
		}
		value = bytes.Trim(value, " \t")
		if !isText(value) {
			return nil, nil, perr("invalid value for header %q", clip(name))
		}
		key := CanonicalHeaderKey(string(name))
		v := string(value)
		h[key] = append(h[key], v)
		switch key {
		case "CSeq":
			if cseq == "" {
				cseq = v
			}
		case "Content-Length":
			cl, ok := parseContentLength(value)
			if !ok {
				return nil, nil, perr("invalid Content-Length %q", clip(value))
			}
			if cl > MaxContentLength {
				return nil, nil, perr("Content-Length %d exceeds limit of %d bytes", cl, MaxContentLength)
			}
			if contentLength >= 0 && cl != contentLength {
				return nil, nil, perr("conflicting Content-Length headers")
			}
			contentLength = cl
		}
	}
	if contentLength <= 0 {
		return h, nil, nil
	}
	body := make([]byte, contentLength)
	if _, err := io.ReadFull(br, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	return h, body, nil
}

// parseContentLength parses a non-negative decimal Content-Length value,
// returning MaxContentLength+1 for values too large to represent.
func parseContentLength(v []byte) (int, bool) {
	if len(v) == 0 || !isDigits(v) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v), 10, 31)
	if err != nil {
		// Only a range error is possible after isDigits.
		return MaxContentLength + 1, true
	}
	return int(n), true
}

func parseProto(p []byte) (string, bool) {
	switch string(p) {
	case Proto10:
		return Proto10, true
	case Proto20:
		return Proto20, true
	}
	return "", false
}

// isTokenByte reports whether c may appear in an RFC 2326 token: any CHAR
// except CTLs and tspecials.
func isTokenByte(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '<', '>', '@', ',', ';', ':', '\\', '"', '/', '[', ']', '?', '=', '{', '}':
		return false
	}
	return true
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}

// isText reports whether b contains no control characters other than
// horizontal tab.
func isText(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isVisible reports whether b contains neither control characters nor
// whitespace.
func isVisible(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// clip shortens b for inclusion in an error message.
func clip(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[:max]
	}
	return b
}
