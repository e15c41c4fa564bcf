package message

import (
	"io"
	"strconv"
)

// A Request is an RTSP request.
type Request struct {
	// Method is the request method, such as "OPTIONS" or "SETUP".
	Method string
	// URL is the Request-URI exactly as sent, such as
	// "rtsp://192.0.2.1:8554/main/trackID=0" or "*".
	URL string
	// Proto is the protocol version, Proto10 or Proto20. AppendTo writes
	// Proto10 when it is empty.
	Proto string
	// Header holds the header fields.
	Header Header
	// Body is the message body; it is empty unless the request carried a
	// Content-Length.
	Body []byte
}

// AppendTo appends the wire form of r to b and returns the extended buffer.
// Header fields are written CSeq first, then sorted by name; Content-Length
// is derived from Body (and omitted when Body is empty) whatever Header
// says. CR and LF bytes in header names and values are replaced by spaces.
func (r *Request) AppendTo(b []byte) []byte {
	proto := r.Proto
	if proto == "" {
		proto = Proto10
	}
	b = appendSanitized(b, r.Method)
	b = append(b, ' ')
	b = appendSanitized(b, r.URL)
	b = append(b, ' ')
	b = appendSanitized(b, proto)
	b = append(b, "\r\n"...)
	b = appendHeader(b, r.Header, r.Body)
	return append(b, r.Body...)
}

// Write writes the wire form of r to w in a single Write call.
func (r *Request) Write(w io.Writer) error {
	_, err := w.Write(r.AppendTo(nil))
	return err
}

// A Response is an RTSP response.
type Response struct {
	// StatusCode is the status code, such as 200. It should have three
	// digits; AppendTo writes it as given.
	StatusCode int
	// Reason is the reason phrase. AppendTo uses StatusText(StatusCode)
	// when it is empty.
	Reason string
	// Header holds the header fields.
	Header Header
	// Body is the message body, such as an SDP description.
	Body []byte
}

// AppendTo appends the wire form of r, as an RTSP/1.0 response, to b and
// returns the extended buffer. Header fields are written CSeq first, then
// sorted by name; Content-Length is derived from Body (and omitted when Body
// is empty) whatever Header says. CR and LF bytes in the reason phrase and
// in header names and values are replaced by spaces.
func (r *Response) AppendTo(b []byte) []byte {
	reason := r.Reason
	if reason == "" {
		reason = StatusText(r.StatusCode)
	}
	if reason == "" {
		reason = "Status " + strconv.Itoa(r.StatusCode)
	}
	b = append(b, Proto10...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.StatusCode), 10)
	b = append(b, ' ')
	b = appendSanitized(b, reason)
	b = append(b, "\r\n"...)
	b = appendHeader(b, r.Header, r.Body)
	return append(b, r.Body...)
}

// Write writes the wire form of r to w in a single Write call.
func (r *Response) Write(w io.Writer) error {
	_, err := w.Write(r.AppendTo(nil))
	return err
}
