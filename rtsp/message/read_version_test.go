package message

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadRequestVersion(t *testing.T) {
	tests := []struct {
		proto   string
		version bool // a well-formed version we do not speak: 505
	}{
		{"RTSP/1.1", true},
		{"RTSP/3.0", true},
		{"HTTP/1.1", false},
		{"RTSP/1", false},
		{"RTSP/10.0", false},
	}
	for _, tt := range tests {
		_, err := ReadRequest(bufio.NewReader(strings.NewReader("OPTIONS * " + tt.proto + "\r\nCSeq: 3\r\n\r\n")))
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: %v", tt.proto, err)
		}
		if pe.Version != tt.version || pe.CSeq != "3" {
			t.Errorf("%s: Version %v CSeq %q, want %v and 3", tt.proto, pe.Version, pe.CSeq, tt.version)
		}
	}
}
