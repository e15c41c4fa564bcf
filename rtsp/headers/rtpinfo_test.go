package headers

import (
	"reflect"
	"strings"
	"testing"
)

func TestRTPInfoUnmarshal(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      RTPInfo
		canonical string
	}{
		{
			name: "single",
			in:   "url=rtsp://h/main/trackID=0;seq=12345;rtptime=2890844526",
			want: RTPInfo{{URL: "rtsp://h/main/trackID=0", SeqNum: ptr[uint16](12345), Timestamp: ptr[uint32](2890844526)}},
		},
		{
			name: "RFC 2326 example, two streams, space after comma",
			in:   "url=rtsp://foo.com/bar.avi/streamid=0;seq=45102, url=rtsp://foo.com/bar.avi/streamid=1;seq=30211",
			want: RTPInfo{
				{URL: "rtsp://foo.com/bar.avi/streamid=0", SeqNum: ptr[uint16](45102)},
				{URL: "rtsp://foo.com/bar.avi/streamid=1", SeqNum: ptr[uint16](30211)},
			},
			canonical: "url=rtsp://foo.com/bar.avi/streamid=0;seq=45102,url=rtsp://foo.com/bar.avi/streamid=1;seq=30211",
		},
		{
			name: "live555 reply",
			in:   "url=rtsp://192.168.1.10:8554/main/track1;seq=26523;rtptime=1606226014",
			want: RTPInfo{{URL: "rtsp://192.168.1.10:8554/main/track1", SeqNum: ptr[uint16](26523), Timestamp: ptr[uint32](1606226014)}},
		},
		{
			name: "url only, then rtptime only",
			in:   "url=rtsp://h/a,url=rtsp://h/b;rtptime=0",
			want: RTPInfo{{URL: "rtsp://h/a"}, {URL: "rtsp://h/b", Timestamp: ptr[uint32](0)}},
		},
		{
			name:      "comma inside url not followed by url=",
			in:        "url=rtsp://h/x,y/trackID=1;seq=1",
			want:      RTPInfo{{URL: "rtsp://h/x,y/trackID=1", SeqNum: ptr[uint16](1)}},
			canonical: `url="rtsp://h/x,y/trackID=1";seq=1`,
		},
		{
			name:      "RFC 7826 quoted url with semicolon, unknown ssrc parameter",
			in:        `url="rtsp://h/a;b";ssrc=0A13C760:seq=45102;rtptime=12345678`,
			want:      RTPInfo{{URL: "rtsp://h/a;b", Timestamp: ptr[uint32](12345678)}},
			canonical: `url="rtsp://h/a;b";rtptime=12345678`,
		},
		{
			name:      "case and whitespace",
			in:        " URL = rtsp://h/a ; SEQ = 65535 ; RTPTIME = 4294967295 ;",
			want:      RTPInfo{{URL: "rtsp://h/a", SeqNum: ptr[uint16](65535), Timestamp: ptr[uint32](4294967295)}},
			canonical: "url=rtsp://h/a;seq=65535;rtptime=4294967295",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got RTPInfo
			if err := got.Unmarshal(tt.in); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unmarshal =\n%+v\nwant\n%+v", got, tt.want)
			}
			want := tt.canonical
			if want == "" {
				want = tt.in
			}
			if m := got.Marshal(); m != want {
				t.Errorf("Marshal = %q, want %q", m, want)
			}
		})
	}
}

func TestRTPInfoUnmarshalErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"seq=1;rtptime=2",
		"url=",
		"url=rtsp://h/a b",
		`url="rtsp://h/a`,
		`url=rtsp://h/"a"`,
		"url=rtsp://h/a;seq=65536",
		"url=rtsp://h/a;seq=-1",
		"url=rtsp://h/a;rtptime=4294967296",
		"url=rtsp://h/a;rtptime=",
	} {
		r := RTPInfo{{URL: "keep"}}
		err := r.Unmarshal(in)
		if err == nil {
			t.Errorf("Unmarshal(%q) = %+v, want error", in, r)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rtsp: malformed RTP-Info header ") || r[0].URL != "keep" {
			t.Errorf("Unmarshal(%q): %v, receiver %+v", in, err, r)
		}
	}
}
