package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadInterleaved(t *testing.T) {
	// An RTCP receiver report from ffmpeg on channel 1.
	rr := []byte{0x81, 0xc9, 0x00, 0x07, 0x5e, 0x2d, 0x1c, 0x7f}
	frame, err := AppendInterleaved(nil, 1, rr)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{'$', 1, 0, 8}, rr...); !bytes.Equal(frame, want) {
		t.Fatalf("AppendInterleaved = % x, want % x", frame, want)
	}

	t.Run("reuses buf", func(t *testing.T) {
		buf := make([]byte, 0, 64)
		ch, p, err := ReadInterleaved(bufio.NewReader(bytes.NewReader(frame)), buf)
		if err != nil || ch != 1 || !bytes.Equal(p, rr) {
			t.Fatalf("ReadInterleaved = %d, % x, %v", ch, p, err)
		}
		if &p[0] != &buf[:1][0] {
			t.Errorf("payload not read into buf")
		}
	})
	t.Run("allocates when buf too small", func(t *testing.T) {
		buf := make([]byte, 2)
		ch, p, err := ReadInterleaved(bufio.NewReader(bytes.NewReader(frame)), buf)
		if err != nil || ch != 1 || !bytes.Equal(p, rr) {
			t.Fatalf("ReadInterleaved = %d, % x, %v", ch, p, err)
		}
	})
	t.Run("max payload", func(t *testing.T) {
		big := bytes.Repeat([]byte{7}, MaxInterleavedPayload)
		f, err := AppendInterleaved(nil, 255, big)
		if err != nil {
			t.Fatal(err)
		}
		ch, p, err := ReadInterleaved(bufio.NewReaderSize(bytes.NewReader(f), 16), nil)
		if err != nil || ch != 255 || !bytes.Equal(p, big) {
			t.Fatalf("ReadInterleaved = %d, %d bytes, %v", ch, len(p), err)
		}
		if _, err := AppendInterleaved(nil, 0, append(big, 0)); err == nil {
			t.Errorf("AppendInterleaved accepted %d bytes", len(big)+1)
		}
	})
}

func TestReadInterleavedErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error // nil means *ProtocolError
	}{
		{"empty", "", io.EOF},
		{"only magic", "$", io.ErrUnexpectedEOF},
		{"short header", "$\x00\x01", io.ErrUnexpectedEOF},
		{"short payload", "$\x00\x00\x05abc", io.ErrUnexpectedEOF},
		{"not a frame", "OPTIONS * RTSP/1.0\r\n", nil},
		{"not a frame, short", "O", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadInterleaved(bufio.NewReader(strings.NewReader(tt.in)), nil)
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

func TestIsInterleaved(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr error
		rest    string
	}{
		{"$\x00\x00\x00", true, nil, "$\x00\x00\x00"},
		{"\r\n$\x00", true, nil, "$\x00"},
		{"OPTIONS", false, nil, "OPTIONS"},
		{"\r\nPLAY", false, nil, "PLAY"},
		{"", false, io.EOF, ""},
		{"\r\n\n", false, io.EOF, ""},
	}
	for _, tt := range tests {
		br := bufio.NewReader(strings.NewReader(tt.in))
		got, err := IsInterleaved(br)
		if got != tt.want || err != tt.wantErr {
			t.Errorf("IsInterleaved(%q) = %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		rest, _ := io.ReadAll(br)
		if string(rest) != tt.rest {
			t.Errorf("IsInterleaved(%q) left %q, want %q", tt.in, rest, tt.rest)
		}
	}
}
