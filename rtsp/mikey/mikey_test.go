package mikey

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// gortsplibMessage is what gortsplib v5.6.4's client and server send for a
// stream with SSRC deadbeef at ROC 3 (made with its pkg/mikey the way its
// contextToMikey does, with a fixed key, time, CSB ID and RAND).
const gortsplibMessage = "0100050011223344010000deadbeef00000003" + // HDR, SRTP-ID map
	"0b00e9a1b2c3d4e5f607" + // T (NTP-UTC)
	"0a1030313233343536373839616263646566" + // RAND
	"0100000018" + "000101" + "010110" + "020101" + "030114" + "070101" + "080101" + "0a0101" + "0b010a" + // SP
	"000000220020001e0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e00" // KEMAC, TEK

// gortsplibMessageMKI is the same with the key data's SPI set, as
// gortsplib sends it to Axis cameras.
const gortsplibMessageMKI = "0100050011223344010000deadbeef00000003" +
	"0b00e9a1b2c3d4e5f607" +
	"0a1030313233343536373839616263646566" +
	"0100000018000101010110020101030114070101080101" + "0a01010b010a" +
	"000000270021001e0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e04a1b2c3d400"

func srtpPolicy() Policy {
	return Policy{No: 0, Protocol: ProtocolSRTP, Params: []Param{
		{ParamEncrAlg, []byte{1}}, {ParamEncrKeyLen, []byte{16}},
		{ParamAuthAlg, []byte{1}}, {ParamAuthKeyLen, []byte{20}},
		{ParamSRTPEncr, []byte{1}}, {ParamSRTCPEncr, []byte{1}},
		{ParamSRTPAuth, []byte{1}}, {ParamAuthTagLen, []byte{10}},
	}}
}

func seqKey(n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = byte(i + 1)
	}
	return k
}

func TestGortsplibMessage(t *testing.T) {
	want := Message{
		CSBID:          0x11223344,
		CryptoSessions: []CryptoSession{{Policy: 0, SSRC: 0xdeadbeef, ROC: 3}},
		HasTime:        true,
		TimeType:       TimeNTPUTC,
		Time:           0xe9a1b2c3d4e5f607,
		Rand:           []byte("0123456789abcdef"),
		Policies:       []Policy{srtpPolicy()},
		Keys:           []KeyData{{Type: KeyTEK, Key: seqKey(30)}},
	}
	for _, tt := range []struct {
		name string
		hex  string
		spi  []byte
	}{
		{"no MKI", gortsplibMessage, nil},
		{"MKI", gortsplibMessageMKI, []byte{0xa1, 0xb2, 0xc3, 0xd4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			var m Message
			if err := m.Unmarshal(b); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			w := want
			w.Keys = []KeyData{{Type: KeyTEK, Key: seqKey(30), SPI: tt.spi}}
			if !reflect.DeepEqual(m, w) {
				t.Fatalf("Unmarshal:\n got %+v\nwant %+v", m, w)
			}
			out, err := w.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, b) {
				t.Fatalf("Marshal:\n got %x\nwant %x", out, b)
			}
			p, ok := m.Policy(0)
			if !ok {
				t.Fatal("no policy 0")
			}
			if v, ok := p.Param(ParamAuthTagLen); !ok || !bytes.Equal(v, []byte{10}) {
				t.Fatalf("auth tag length %v, %v; want 10", v, ok)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{},
		{CSBID: 1, CryptoSessions: []CryptoSession{{1, 2, 3}, {4, 5, 6}}},
		{HasTime: true, TimeType: TimeCounter, Time: 0xffffffff},
		{HasTime: true, TimeType: TimeNTP, Time: NTPTime(time.Unix(1700000000, 0))},
		{Rand: []byte{1}, Policies: []Policy{{No: 1, Params: []Param{}}, {No: 2, Params: []Param{{3, []byte{}}}}}},
		{Keys: []KeyData{
			{Type: KeyTEKSalt, Key: seqKey(16), Salt: seqKey(14), SPI: []byte{9}},
			{Type: KeyTGK, Key: []byte{}},
		}},
	} {
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", m, err)
		}
		var back Message
		if err := back.Unmarshal(b); err != nil {
			t.Fatalf("Unmarshal(%x): %v", b, err)
		}
		// An empty parameter list reads back empty, not nil.
		for i := range m.Policies {
			if m.Policies[i].Params != nil && len(m.Policies[i].Params) == 0 {
				m.Policies[i].Params = nil
			}
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip through %x:\n got %+v\nwant %+v", b, back, m)
		}
	}
}

// TestNTPTime round-trips times in NTP era 0 (1968 to 2036, a camera
// that booted without a clock included) and era 1 (from 2036-02-07).
func TestNTPTime(t *testing.T) {
	for _, tt := range []struct {
		at  time.Time
		sec uint64 // the NTP seconds
	}{
		{time.Unix(0, 0), 2208988800},
		{time.Unix(1764106000, 123456789), 1764106000 + 2208988800},
		{time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC), 1<<32 - 1},
		{time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC), 0},
		{time.Date(2046, 3, 1, 12, 0, 0, 500_000_000, time.UTC), uint64(time.Date(2046, 3, 1, 12, 0, 0, 0, time.UTC).Unix()) + 2208988800 - 1<<32},
	} {
		v := NTPTime(tt.at)
		if v>>32 != tt.sec {
			t.Errorf("NTPTime(%v) has %d seconds, want %d", tt.at, v>>32, tt.sec)
		}
		if got := TimeFromNTP(v); got.Sub(tt.at).Abs() > time.Microsecond {
			t.Errorf("TimeFromNTP(NTPTime(%v)) = %v", tt.at, got)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	valid, _ := hex.DecodeString(gortsplibMessage)
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), valid...))
	}
	for _, tt := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "mikey: header: version needs 1 bytes, 0 left"},
		{"short header", valid[:7], "mikey: header: CSB ID needs 4 bytes"},
		{"version 2", mod(func(b []byte) []byte { b[0] = 2; return b }), "version 2, want 1"},
		{"data type", mod(func(b []byte) []byte { b[1] = 4; return b }), "data type 4 unsupported"},
		{"PRF", mod(func(b []byte) []byte { b[3] = 0x80; return b }), "V flag or PRF 0x80 unsupported"},
		{"map type", mod(func(b []byte) []byte { b[9] = 1; return b }), "CS ID map type 1 unsupported"},
		{"too many sessions", mod(func(b []byte) []byte { b[8] = 200; return b }), "200 crypto sessions need 1800 bytes"},
		{"unknown payload", mod(func(b []byte) []byte { b[2] = 7; return b }), "payload type 7 unsupported"},
		{"T type", mod(func(b []byte) []byte { b[20] = 9; return b }), "mikey: T: unknown timestamp type 9"},
		{"truncated in SP", valid[:55], "mikey: SP: parameters needs 24 bytes, 3 left"},
		{"truncated in KEMAC", valid[:len(valid)-3], "mikey: KEMAC: encrypted data needs 34 bytes"},
		{"KEMAC encrypted", mod(func(b []byte) []byte { b[len(b)-38] = 1; return b }), "KEMAC: encryption algorithm 1 unsupported"},
		{"KEMAC MAC", mod(func(b []byte) []byte { b[len(b)-1] = 1; return b }), "KEMAC: MAC algorithm 1 unsupported"},
		{"key type", mod(func(b []byte) []byte { b[len(b)-34] = 0x70; return b }), "KEMAC: key data 0: unknown key type 7"},
		{"key validity", mod(func(b []byte) []byte { b[len(b)-34] = 0x22; return b }), "key validity type 2 unsupported"},
		{"trailing bytes", append(append([]byte(nil), valid...), 0, 0), "2 bytes after the last payload"},
		{"two T", mod(func(b []byte) []byte {
			// HDR's next payload says T, then T says T again.
			b[19] = payloadT
			return b
		}), "more than one T payload"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := Message{CSBID: 42}
			err := m.Unmarshal(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Unmarshal: %v; want an error containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "mikey: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			if m.CSBID != 42 {
				t.Fatal("a failed Unmarshal changed the message")
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, tt := range []struct {
		m    Message
		want string
	}{
		{Message{HasTime: true, TimeType: 7}, "unknown timestamp type 7"},
		{Message{HasTime: true, TimeType: TimeCounter, Time: 1 << 32}, "does not fit 32 bits"},
		{Message{Rand: make([]byte, 256)}, "RAND: 256 bytes"},
		{Message{Keys: []KeyData{{Type: KeyTEK, Salt: []byte{1}}}}, "key type 2 has no salt"},
		{Message{Keys: []KeyData{{Type: 4}}}, "unknown key type 4"},
		{Message{Policies: []Policy{{Params: []Param{{Value: make([]byte, 300)}}}}}, "at most 255 fit"},
	} {
		if _, err := tt.m.Marshal(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Marshal(%+v): %v; want an error containing %q", tt.m, err, tt.want)
		}
	}
}

// FuzzUnmarshal checks that any input either fails with an error or
// decodes to a message that survives Marshal and Unmarshal unchanged.
func FuzzUnmarshal(f *testing.F) {
	for _, h := range []string{gortsplibMessage, gortsplibMessageMKI} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unmarshal(b); err != nil {
			if !strings.HasPrefix(err.Error(), "mikey: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed message: %v", err)
		}
		var back Message
		if err := back.Unmarshal(out); err != nil {
			t.Fatalf("Unmarshal(Marshal()): %v", err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, m)
		}
		out2, err := back.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not stable: %x then %x (%v)", out, out2, err)
		}
	})
}
