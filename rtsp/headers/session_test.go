package headers

import (
	"reflect"
	"strings"
	"testing"
)

func TestSessionUnmarshal(t *testing.T) {
	tests := []struct {
		in        string
		want      Session
		canonical string
	}{
		{"12345678", Session{ID: "12345678"}, ""},
		{"12345678;timeout=60", Session{ID: "12345678", Timeout: ptr[uint](60)}, ""},
		{"ABC; timeout = 60", Session{ID: "ABC", Timeout: ptr[uint](60)}, "ABC;timeout=60"},
		{"5B7B3A2C", Session{ID: "5B7B3A2C"}, ""},                                                   // ffmpeg, VLC echo
		{"1185d20035702ca", Session{ID: "1185d20035702ca"}, ""},                                     // live555
		{"yQ6m9WJ_Vn4i.$-+", Session{ID: "yQ6m9WJ_Vn4i.$-+"}, ""},                                   // all safe characters
		{" 0123 ;TIMEOUT=0;foo=bar;", Session{ID: "0123", Timeout: ptr[uint](0)}, "0123;timeout=0"}, // unknown params ignored
		{"X;timeout=4294967295", Session{ID: "X", Timeout: ptr[uint](4294967295)}, ""},
	}
	for _, tt := range tests {
		var got Session
		if err := got.Unmarshal(tt.in); err != nil {
			t.Errorf("Unmarshal(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Unmarshal(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		want := tt.canonical
		if want == "" {
			want = tt.in
		}
		if m := got.Marshal(); m != want {
			t.Errorf("Marshal = %q, want %q", m, want)
		}
	}
}

func TestSessionUnmarshalErrors(t *testing.T) {
	for _, in := range []string{
		"",
		" ;timeout=60",
		"abc def",
		"abc,def",
		"abc/def",
		"ab\"c",
		"abc;timeout=",
		"abc;timeout=-1",
		"abc;timeout=1.5",
		"abc;timeout=4294967296",
	} {
		s := Session{ID: "keep"}
		err := s.Unmarshal(in)
		if err == nil {
			t.Errorf("Unmarshal(%q) = %+v, want error", in, s)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rtsp: malformed Session header ") || s.ID != "keep" {
			t.Errorf("Unmarshal(%q): %v, receiver %+v", in, err, s)
		}
	}
}
