package headers

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRangeUnmarshal(t *testing.T) {
	tests := []struct {
		in        string
		want      Range
		canonical string
	}{
		{"npt=now-", Range{Now: true}, ""},
		{"npt=0-", Range{Start: dur("0s")}, "npt=0.000-"},
		{"npt=0.000-", Range{Start: dur("0s")}, ""}, // ffmpeg, VLC
		{"npt=10.5-20", Range{Start: dur("10.5s"), End: dur("20s")}, "npt=10.500-20.000"},
		{"npt=00:01:02.5-", Range{Start: dur("62.5s")}, "npt=62.500-"},
		{"npt=1:00:00-2:00:00.25", Range{Start: dur("1h"), End: dur("2h0.25s")}, "npt=3600.000-7200.250"},
		{"npt=-20", Range{End: dur("20s")}, "npt=-20.000"},
		{"npt=now-30", Range{Now: true, End: dur("30s")}, "npt=now-30.000"},
		{"npt=0.000-;time=19970123T143720Z", Range{Start: dur("0s")}, "npt=0.000-"},
		{" NPT = 5. - ", Range{Start: dur("5s")}, "npt=5.000-"},
		{"npt=1.0000001-", Range{Start: dur("1.0000001s")}, "npt=1.0000001-"},
		{"npt=1.1234567899-", Range{Start: dur("1.123456789s")}, "npt=1.123456789-"},
		{"npt=9223372036.854775807-", Range{Start: ptr(time.Duration(1<<63 - 1))}, ""},
	}
	for _, tt := range tests {
		var got Range
		if err := got.Unmarshal(tt.in); err != nil {
			t.Errorf("Unmarshal(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Unmarshal(%q) = %v, want %v", tt.in, fmtRange(got), fmtRange(tt.want))
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

func fmtRange(r Range) string {
	var b strings.Builder
	if r.Now {
		b.WriteString("now")
	}
	if r.Start != nil {
		b.WriteString(r.Start.String())
	}
	b.WriteString(" - ")
	if r.End != nil {
		b.WriteString(r.End.String())
	}
	return b.String()
}

func TestRangeUnmarshalErrors(t *testing.T) {
	tests := []struct {
		in          string
		unsupported bool
	}{
		{"", false},
		{"npt", false},
		{"npt=", false},
		{"npt=-", false},
		{"npt=10", false},
		{"npt=now-now", false},
		{"npt=abc-", false},
		{"npt=.5-", false},
		{"npt=1.5.5-", false},
		{"npt=+1-", false},
		{"npt=1:2-", false},
		{"npt=00:60:00-", false},
		{"npt=00:00:60-", false},
		{"npt=00:001:00-", false},
		{"npt=1:2:3:4-", false},
		{"npt=9223372036.854775808-", false},
		{"npt=99999999999999999999-", false},
		{"npt=2562048:00:00-", false},
		{"npt=0--5", false},
		{"clock=19961108T142300Z-19961108T143520Z", true},
		{"smpte=10:07:00-10:07:33:05.01", true},
		{"smpte-25=10:07:00-", true},
	}
	for _, tt := range tests {
		r := Range{Now: true}
		err := r.Unmarshal(tt.in)
		if err == nil {
			t.Errorf("Unmarshal(%q) = %v, want error", tt.in, fmtRange(r))
			continue
		}
		if !strings.HasPrefix(err.Error(), "rtsp: malformed Range header ") || !r.Now {
			t.Errorf("Unmarshal(%q): %v, receiver %v", tt.in, err, fmtRange(r))
		}
		if got := errors.Is(err, ErrUnsupportedRangeUnit); got != tt.unsupported {
			t.Errorf("Unmarshal(%q): errors.Is(ErrUnsupportedRangeUnit) = %v: %v", tt.in, got, err)
		}
		if tt.unsupported && !strings.Contains(err.Error(), "unsupported range unit") {
			t.Errorf("Unmarshal(%q) error %q", tt.in, err)
		}
	}
}

func TestRangeMarshal(t *testing.T) {
	tests := []struct {
		r    Range
		want string
	}{
		{Range{Now: true}, "npt=now-"},
		{Range{Start: ptr(time.Duration(0))}, "npt=0.000-"},
		{Range{Start: ptr(1500 * time.Millisecond), End: ptr(3 * time.Second)}, "npt=1.500-3.000"},
		{Range{Start: ptr(-time.Second)}, "npt=0.000-"},
		{Range{}, "npt=-"},
	}
	for _, tt := range tests {
		if got := tt.r.Marshal(); got != tt.want {
			t.Errorf("Marshal(%v) = %q, want %q", fmtRange(tt.r), got, tt.want)
		}
	}
}
