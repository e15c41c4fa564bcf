package headers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Each target checks that parsing never panics and that a parsed value
// survives Marshal and Unmarshal unchanged, with Marshal output stable.

func FuzzTransport(f *testing.F) {
	f.Add("RTP/AVP/TCP;unicast;interleaved=0-1,RTP/AVP;unicast;client_port=5000-5001")
	f.Fuzz(func(t *testing.T, v string) {
		var tr Transport
		if err := tr.Unmarshal(v); err == nil {
			checkTransportRoundTrip(t, tr)
		} else if !strings.HasPrefix(err.Error(), "rtsp: malformed Transport header") {
			t.Fatalf("error %q lacks prefix", err)
		}
		ts, err := ParseTransports(v)
		if err != nil {
			if ts != nil {
				t.Fatalf("ParseTransports returned %v with error %v", ts, err)
			}
			return
		}
		if len(ts) == 0 {
			t.Fatalf("ParseTransports(%q) returned no transports and no error", v)
		}
		marshalled := make([]string, len(ts))
		for i, tr := range ts {
			checkTransportRoundTrip(t, tr)
			marshalled[i] = tr.Marshal()
		}
		back, err := ParseTransports(strings.Join(marshalled, ","))
		if err != nil || !reflect.DeepEqual(back, ts) {
			t.Fatalf("ParseTransports round trip: %+v, %v; want %+v", back, err, ts)
		}
	})
}

func checkTransportRoundTrip(t *testing.T, tr Transport) {
	t.Helper()
	m := tr.Marshal()
	var back Transport
	if err := back.Unmarshal(m); err != nil {
		t.Fatalf("Unmarshal(Marshal() = %q): %v", m, err)
	}
	if !reflect.DeepEqual(back, tr) {
		t.Fatalf("round trip through %q:\n%+v\n%+v", m, back, tr)
	}
	if m2 := back.Marshal(); m2 != m {
		t.Fatalf("Marshal not stable: %q then %q", m, m2)
	}
	for _, p := range []*[2]int{tr.Ports, tr.ClientPorts, tr.ServerPorts} {
		if p != nil && (p[0] < 0 || p[0] > 65535 || p[1] < 0 || p[1] > 65535) {
			t.Fatalf("port out of range: %v", *p)
		}
	}
	if p := tr.Interleaved; p != nil && (p[0] < 0 || p[0] > 255 || p[1] < 0 || p[1] > 255) {
		t.Fatalf("channel out of range: %v", *p)
	}
}

func FuzzKeyMgmt(f *testing.F) {
	f.Add(`prot=mikey;uri="rtsps://h/main/trackID=0";data="AQAFAA=="`)
	f.Fuzz(func(t *testing.T, v string) {
		var k KeyMgmt
		if err := k.Unmarshal(v); err != nil {
			if !strings.HasPrefix(err.Error(), "rtsp: malformed KeyMgmt header: ") {
				t.Fatalf("error %q lacks prefix", err)
			}
			return
		}
		if len(k.Data) == 0 {
			t.Fatalf("Unmarshal(%q) accepted empty data", v)
		}
		m := k.Marshal()
		var back KeyMgmt
		if err := back.Unmarshal(m); err != nil || !reflect.DeepEqual(back, k) {
			t.Fatalf("round trip through %q: %+v, %v; want %+v", m, back, err, k)
		}
		if m2 := back.Marshal(); m2 != m {
			t.Fatalf("Marshal not stable: %q then %q", m, m2)
		}
	})
}

func FuzzSession(f *testing.F) {
	f.Add("12345678;timeout=60")
	f.Fuzz(func(t *testing.T, v string) {
		var s Session
		if err := s.Unmarshal(v); err != nil {
			return
		}
		if s.ID == "" || !isSessionID(s.ID) {
			t.Fatalf("invalid ID %q accepted", s.ID)
		}
		m := s.Marshal()
		var back Session
		if err := back.Unmarshal(m); err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip through %q: %+v, %v; want %+v", m, back, err, s)
		}
		if m2 := back.Marshal(); m2 != m {
			t.Fatalf("Marshal not stable: %q then %q", m, m2)
		}
	})
}

func FuzzRTPInfo(f *testing.F) {
	f.Add("url=rtsp://h/main/trackID=0;seq=12345;rtptime=2890844526")
	f.Fuzz(func(t *testing.T, v string) {
		var r RTPInfo
		if err := r.Unmarshal(v); err != nil {
			return
		}
		if len(r) == 0 {
			t.Fatalf("Unmarshal(%q) returned no entries and no error", v)
		}
		m := r.Marshal()
		var back RTPInfo
		if err := back.Unmarshal(m); err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip through %q: %+v, %v; want %+v", m, back, err, r)
		}
		if m2 := back.Marshal(); m2 != m {
			t.Fatalf("Marshal not stable: %q then %q", m, m2)
		}
	})
}

func FuzzRange(f *testing.F) {
	f.Add("npt=0.000-")
	f.Fuzz(func(t *testing.T, v string) {
		var r Range
		err := r.Unmarshal(v)
		if err != nil {
			if errors.Is(err, ErrUnsupportedRangeUnit) && !strings.Contains(err.Error(), "unsupported range unit") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if (r.Start != nil && *r.Start < 0) || (r.End != nil && *r.End < 0) {
			t.Fatalf("negative time from %q", v)
		}
		if r.Now && r.Start != nil {
			t.Fatalf("both Now and Start from %q", v)
		}
		m := r.Marshal()
		var back Range
		if err := back.Unmarshal(m); err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip through %q: %+v, %v; want %+v", m, back, err, r)
		}
		if m2 := back.Marshal(); m2 != m {
			t.Fatalf("Marshal not stable: %q then %q", m, m2)
		}
	})
}
