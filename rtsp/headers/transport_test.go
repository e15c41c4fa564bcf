package headers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var (
	unicast   = ptr(DeliveryUnicast)
	multicast = ptr(DeliveryMulticast)
)

func TestTransportUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Transport
		// canonical is the Marshal output; "" means the same as in.
		canonical string
	}{
		{
			name:      "ffmpeg udp",
			in:        "RTP/AVP/UDP;unicast;client_port=5000-5001",
			want:      Transport{Protocol: ProtocolUDP, Delivery: unicast, ClientPorts: &[2]int{5000, 5001}},
			canonical: "RTP/AVP;unicast;client_port=5000-5001",
		},
		{
			name: "gortsplib SAVP udp",
			in:   "RTP/SAVP;unicast;client_port=41000-41001",
			want: Transport{Profile: ProfileSAVP, Delivery: unicast, ClientPorts: &[2]int{41000, 41001}},
		},
		{
			name:      "SAVP tcp, lower case",
			in:        "rtp/savp/tcp;unicast;interleaved=2-3",
			want:      Transport{Profile: ProfileSAVP, Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{2, 3}},
			canonical: "RTP/SAVP/TCP;unicast;interleaved=2-3",
		},
		{
			name:      "SAVP explicit UDP",
			in:        "RTP/SAVP/UDP;unicast;client_port=41000-41001;ssrc=0000abcd",
			want:      Transport{Profile: ProfileSAVP, Delivery: unicast, ClientPorts: &[2]int{41000, 41001}, SSRC: ptr[uint32](0xabcd)},
			canonical: "RTP/SAVP;unicast;client_port=41000-41001;ssrc=0000ABCD",
		},
		{
			name: "VLC/live555 udp",
			in:   "RTP/AVP;unicast;client_port=41966-41967",
			want: Transport{Protocol: ProtocolUDP, Delivery: unicast, ClientPorts: &[2]int{41966, 41967}},
		},
		{
			name: "ffmpeg tcp",
			in:   "RTP/AVP/TCP;unicast;interleaved=0-1",
			want: Transport{Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{0, 1}},
		},
		{
			name: "tcp without delivery",
			in:   "RTP/AVP/TCP;interleaved=2-3",
			want: Transport{Protocol: ProtocolTCP, Interleaved: &[2]int{2, 3}},
		},
		{
			name: "multicast reply",
			in:   "RTP/AVP;multicast;destination=239.1.2.3;port=5000-5001;ttl=16",
			want: Transport{Protocol: ProtocolUDP, Delivery: multicast, Destination: addr("239.1.2.3"),
				Ports: &[2]int{5000, 5001}, TTL: ptr[uint8](16)},
		},
		{
			name: "GStreamer/gortsplib multicast request",
			in:   "RTP/AVP;multicast",
			want: Transport{Protocol: ProtocolUDP, Delivery: multicast},
		},
		{
			name:      "single port implies next",
			in:        "RTP/AVP;unicast;client_port=5000",
			want:      Transport{Delivery: unicast, ClientPorts: &[2]int{5000, 5001}},
			canonical: "RTP/AVP;unicast;client_port=5000-5001",
		},
		{
			name:      "single interleaved channel",
			in:        "RTP/AVP/TCP;interleaved=4",
			want:      Transport{Protocol: ProtocolTCP, Interleaved: &[2]int{4, 5}},
			canonical: "RTP/AVP/TCP;interleaved=4-5",
		},
		{
			name: "server reply with ssrc",
			in:   "RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;ssrc=0000ABCD",
			want: Transport{Delivery: unicast, ClientPorts: &[2]int{5000, 5001},
				ServerPorts: &[2]int{8000, 8001}, SSRC: ptr[uint32](0xabcd)},
		},
		{
			name: "tcp reply with ssrc",
			in:   "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=0000ABCD",
			want: Transport{Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{0, 1}, SSRC: ptr[uint32](0xabcd)},
		},
		{
			name: "live555 reply with source and lower-case ssrc",
			in:   "RTP/AVP;unicast;destination=192.168.1.20;source=192.168.1.10;client_port=53124-53125;server_port=6970-6971;ssrc=1a2b3c4d",
			want: Transport{Delivery: unicast, Destination: addr("192.168.1.20"), Source: addr("192.168.1.10"),
				ClientPorts: &[2]int{53124, 53125}, ServerPorts: &[2]int{6970, 6971}, SSRC: ptr[uint32](0x1a2b3c4d)},
			canonical: "RTP/AVP;unicast;destination=192.168.1.20;source=192.168.1.10;client_port=53124-53125;server_port=6970-6971;ssrc=1A2B3C4D",
		},
		{
			name:      "GStreamer quoted mode",
			in:        `RTP/AVP;unicast;client_port=38324-38325;mode="PLAY"`,
			want:      Transport{Delivery: unicast, ClientPorts: &[2]int{38324, 38325}, Mode: "PLAY"},
			canonical: "RTP/AVP;unicast;client_port=38324-38325;mode=PLAY",
		},
		{
			name:      "ffmpeg record mode",
			in:        "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
			want:      Transport{Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{0, 1}, Mode: "RECORD"},
			canonical: "RTP/AVP/TCP;unicast;interleaved=0-1;mode=RECORD",
		},
		{
			name:      "receive is record",
			in:        "RTP/AVP;unicast;client_port=5000-5001;mode=receive",
			want:      Transport{Delivery: unicast, ClientPorts: &[2]int{5000, 5001}, Mode: "RECORD"},
			canonical: "RTP/AVP;unicast;client_port=5000-5001;mode=RECORD",
		},
		{
			name:      "unknown parameters, whitespace, case, empty params",
			in:        " rtp/avp ; Unicast ; client_port = 5000-5001 ; append ; layers=2 ; rtcp-mux ;; ",
			want:      Transport{Delivery: unicast, ClientPorts: &[2]int{5000, 5001}},
			canonical: "RTP/AVP;unicast;client_port=5000-5001",
		},
		{
			name: "IPv6 destination",
			in:   "RTP/AVP;multicast;destination=ff15::1;port=5000-5001;ttl=1",
			want: Transport{Delivery: multicast, Destination: addr("ff15::1"), Ports: &[2]int{5000, 5001}, TTL: ptr[uint8](1)},
		},
		{
			name:      "bracketed IPv6 source, bare destination",
			in:        "RTP/AVP;unicast;destination;source=[2001:db8::1]",
			want:      Transport{Delivery: unicast, Source: addr("2001:db8::1")},
			canonical: "RTP/AVP;unicast;source=2001:db8::1",
		},
		{
			name: "port limits",
			in:   "RTP/AVP;unicast;client_port=65534-65535;server_port=0-1",
			want: Transport{Delivery: unicast, ClientPorts: &[2]int{65534, 65535}, ServerPorts: &[2]int{0, 1}},
		},
		{
			name:      "short ssrc",
			in:        "RTP/AVP/TCP;interleaved=254-255;ssrc=1",
			want:      Transport{Protocol: ProtocolTCP, Interleaved: &[2]int{254, 255}, SSRC: ptr[uint32](1)},
			canonical: "RTP/AVP/TCP;interleaved=254-255;ssrc=00000001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Transport
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

func TestTransportUnmarshalErrors(t *testing.T) {
	tests := []struct {
		in          string
		unsupported bool
	}{
		{"", false},
		{";unicast", false},
		{"RTP/AVPF;unicast", true},
		{"RTP/SAVPF;unicast", true},
		{"RAW/RAW/UDP;unicast", true},
		{"RTP/AVP/TCP;interleaved=0-1,RTP/AVP", false},
		{"RTP/AVP;client_port=5000-", false},
		{"RTP/AVP;client_port=-5001", false},
		{"RTP/AVP;client_port=a-b", false},
		{"RTP/AVP;client_port=+5000-5001", false},
		{"RTP/AVP;client_port=65535", false},
		{"RTP/AVP;client_port=65536-65537", false},
		{"RTP/AVP;client_port=5000-5001-5002", false},
		{"RTP/AVP;server_port=", false},
		{"RTP/AVP/TCP;interleaved=256-257", false},
		{"RTP/AVP/TCP;interleaved=255", false},
		{"RTP/AVP;ttl=256", false},
		{"RTP/AVP;ttl=", false},
		{"RTP/AVP;destination=cam.local", false},
		{"RTP/AVP;destination=fe80::1%eth0", false},
		{"RTP/AVP;source=1.2.3", false},
		{"RTP/AVP;ssrc=123456789", false},
		{"RTP/AVP;ssrc=0x1234", false},
		{"RTP/AVP;ssrc=XYZ", false},
		{"RTP/AVP;ssrc=", false},
		{"RTP/AVP;mode=TEARDOWN", false},
		{`RTP/AVP;mode="PLAY`, false},
		{"RTP/AVP;=5", false},
	}
	for _, tt := range tests {
		tr := Transport{Mode: "sentinel"}
		err := tr.Unmarshal(tt.in)
		if err == nil {
			t.Errorf("Unmarshal(%q) = %+v, want error", tt.in, tr)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rtsp: malformed Transport header ") {
			t.Errorf("Unmarshal(%q) error %q lacks prefix", tt.in, err)
		}
		if got := errors.Is(err, ErrUnsupportedProfile); got != tt.unsupported {
			t.Errorf("Unmarshal(%q): errors.Is(ErrUnsupportedProfile) = %v: %v", tt.in, got, err)
		}
		if tr.Mode != "sentinel" {
			t.Errorf("Unmarshal(%q) modified the receiver on error", tt.in)
		}
	}
}

func TestParseTransports(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Transport
	}{
		{
			name: "tcp then udp",
			in:   "RTP/AVP/TCP;unicast;interleaved=0-1,RTP/AVP;unicast;client_port=5000-5001",
			want: []Transport{
				{Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{0, 1}},
				{Protocol: ProtocolUDP, Delivery: unicast, ClientPorts: &[2]int{5000, 5001}},
			},
		},
		{
			name: "single",
			in:   "RTP/AVP;unicast;client_port=41966-41967",
			want: []Transport{{Delivery: unicast, ClientPorts: &[2]int{41966, 41967}}},
		},
		{
			name: "AVPF alternative skipped, spaces after comma",
			in:   "RTP/AVPF;unicast;client_port=5000-5001, RTP/AVP;unicast;client_port=5002-5003 ,",
			want: []Transport{{Delivery: unicast, ClientPorts: &[2]int{5002, 5003}}},
		},
		{
			name: "gortsplib SAVP over UDP and TCP",
			in:   "RTP/SAVP;unicast;client_port=5000-5001,RTP/SAVP/TCP;unicast;interleaved=0-1",
			want: []Transport{
				{Profile: ProfileSAVP, Delivery: unicast, ClientPorts: &[2]int{5000, 5001}},
				{Profile: ProfileSAVP, Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{0, 1}},
			},
		},
		{
			name: "GStreamer udp, multicast, tcp",
			in:   "RTP/AVP;unicast;client_port=38324-38325,RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1",
			want: []Transport{
				{Delivery: unicast, ClientPorts: &[2]int{38324, 38325}},
				{Delivery: multicast},
				{Protocol: ProtocolTCP, Delivery: unicast, Interleaved: &[2]int{0, 1}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTransports(tt.in)
			if err != nil {
				t.Fatalf("ParseTransports: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseTransports =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseTransportsErrors(t *testing.T) {
	tests := []struct {
		in          string
		unsupported bool
	}{
		{"", false},
		{" , ", false},
		{"RTP/AVPF;unicast;client_port=5000-5001", true},
		{"RTP/SAVPF;unicast,RTP/AVPF;unicast", true},
		{"RTP/AVP;unicast;client_port=5000-,RTP/AVP/TCP;interleaved=0-1", false},
		{"RTP/AVPF;unicast,RTP/AVP;ttl=999", false},
	}
	for _, tt := range tests {
		ts, err := ParseTransports(tt.in)
		if err == nil {
			t.Errorf("ParseTransports(%q) = %+v, want error", tt.in, ts)
			continue
		}
		if got := errors.Is(err, ErrUnsupportedProfile); got != tt.unsupported {
			t.Errorf("ParseTransports(%q): errors.Is(ErrUnsupportedProfile) = %v: %v", tt.in, got, err)
		}
	}
}

func TestProtocolDeliveryString(t *testing.T) {
	if ProtocolUDP.String() != "UDP" || ProtocolTCP.String() != "TCP" || Protocol(7).String() != "Protocol(7)" {
		t.Error("Protocol.String")
	}
	if DeliveryUnicast.String() != "unicast" || DeliveryMulticast.String() != "multicast" || Delivery(9).String() != "Delivery(9)" {
		t.Error("Delivery.String")
	}
	if ProfileAVP.String() != "AVP" || ProfileSAVP.String() != "SAVP" || Profile(5).String() != "Profile(5)" {
		t.Error("Profile.String")
	}
}
