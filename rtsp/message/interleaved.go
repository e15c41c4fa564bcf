package message

import (
	"bufio"
	"fmt"
	"io"
)

// InterleavedMagic is the byte that starts an interleaved binary frame
// (RFC 2326 §10.12). No RTSP method starts with it.
const InterleavedMagic = '$'

// MaxInterleavedPayload is the largest payload an interleaved frame can
// carry: its length field is 16 bits.
const MaxInterleavedPayload = 0xffff

// IsInterleaved reports whether the next message in br is an interleaved
// binary frame rather than an RTSP message. It first discards any CR and LF
// bytes left between messages, then peeks at one byte without consuming it.
// It returns io.EOF if br is at EOF.
func IsInterleaved(br *bufio.Reader) (bool, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return false, err
		}
		if b[0] != '\r' && b[0] != '\n' {
			return b[0] == InterleavedMagic, nil
		}
		if _, err := br.Discard(1); err != nil {
			return false, err
		}
	}
}

// ReadInterleaved reads one interleaved binary frame from br: "$", a channel
// byte, a 16-bit big-endian length and that many bytes of payload. The
// payload is read into buf when cap(buf) is large enough, so that buf can
// be reused across calls, and into a newly allocated slice otherwise.
//
// It returns io.EOF if br is at EOF before the first byte of the frame,
// io.ErrUnexpectedEOF if EOF comes in the middle of it, and a
// *ProtocolError if the frame does not start with "$".
func ReadInterleaved(br *bufio.Reader, buf []byte) (channel uint8, payload []byte, err error) {
	hdr, err := br.Peek(4)
	if len(hdr) > 0 && hdr[0] != InterleavedMagic {
		return 0, nil, &ProtocolError{Msg: fmt.Sprintf("interleaved frame starts with %q, not '$'", hdr[0])}
	}
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	channel = hdr[1]
	n := int(hdr[2])<<8 | int(hdr[3])
	if _, err := br.Discard(4); err != nil {
		return 0, nil, err
	}
	if cap(buf) >= n {
		payload = buf[:n]
	} else {
		payload = make([]byte, n)
	}
	if _, err := io.ReadFull(br, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return channel, payload, nil
}

// AppendInterleaved appends an interleaved binary frame carrying payload on
// channel to b and returns the extended buffer. It fails if payload is
// longer than MaxInterleavedPayload.
func AppendInterleaved(b []byte, channel uint8, payload []byte) ([]byte, error) {
	if len(payload) > MaxInterleavedPayload {
		return b, fmt.Errorf("rtsp: interleaved payload of %d bytes exceeds %d", len(payload), MaxInterleavedPayload)
	}
	b = append(b, InterleavedMagic, channel, byte(len(payload)>>8), byte(len(payload)))
	return append(b, payload...), nil
}
