package headers

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrUnsupportedRangeUnit is wrapped by the error Range.Unmarshal returns
// for a range in a unit other than npt, such as "clock=" or "smpte=".
var ErrUnsupportedRangeUnit = errors.New("unsupported range unit")

// Range is the value of a Range header (RFC 2326 §12.29) in normal play
// time (npt), the only unit supported.
type Range struct {
	// Start is the start of the range, or nil when Now is set or the
	// range has the form "npt=-end".
	Start *time.Duration
	// End is the end of the range, or nil for an open range.
	End *time.Duration
	// Now reports whether the start is "now", as in "npt=now-".
	Now bool
}

// Unmarshal parses a Range header value such as "npt=0-", "npt=now-",
// "npt=10.5-20", "npt=00:01:02.5-" or "npt=-20". Parameters after ";", such
// as "time=", are ignored. An end of "now" is not supported. On error r is
// left unchanged.
func (r *Range) Unmarshal(v string) error {
	rr, err := parseRange(v)
	if err != nil {
		return fmt.Errorf("rtsp: malformed Range header %q: %w", clip(v), err)
	}
	*r = rr
	return nil
}

func parseRange(v string) (Range, error) {
	var r Range
	spec, _, _ := strings.Cut(v, ";")
	unit, times, ok := strings.Cut(spec, "=")
	if !ok {
		return r, errors.New("missing range unit")
	}
	if unit = strings.TrimSpace(unit); !strings.EqualFold(unit, "npt") {
		return r, fmt.Errorf("%w %q", ErrUnsupportedRangeUnit, unit)
	}
	start, end, ok := strings.Cut(times, "-")
	if !ok {
		return r, errors.New("missing \"-\" in range")
	}
	switch start = strings.TrimSpace(start); {
	case start == "":
	case strings.EqualFold(start, "now"):
		r.Now = true
	default:
		d, err := parseNPT(start)
		if err != nil {
			return r, fmt.Errorf("start: %w", err)
		}
		r.Start = &d
	}
	if end = strings.TrimSpace(end); end != "" {
		d, err := parseNPT(end)
		if err != nil {
			return r, fmt.Errorf("end: %w", err)
		}
		r.End = &d
	}
	if r.Start == nil && r.End == nil && !r.Now {
		return r, errors.New("range has neither start nor end")
	}
	return r, nil
}

// parseNPT parses an npt-time other than "now": seconds ("10.5") or
// hours:minutes:seconds ("00:01:02.5"), each with an optional fraction.
// Digits beyond nanosecond precision are ignored.
func parseNPT(s string) (time.Duration, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	var secs uint64
	if strings.IndexByte(whole, ':') >= 0 {
		parts := strings.Split(whole, ":")
		if len(parts) != 3 || len(parts[1]) > 2 || len(parts[2]) > 2 {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		h, err1 := parseUint(parts[0], math.MaxInt64/uint64(time.Hour))
		m, err2 := parseUint(parts[1], 59)
		sec, err3 := parseUint(parts[2], 59)
		if err1 != nil || err2 != nil || err3 != nil {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		secs = h*3600 + m*60 + sec
	} else {
		n, err := parseUint(whole, math.MaxInt64/uint64(time.Second))
		if err != nil {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		secs = n
	}
	var ns uint64
	if hasFrac {
		if frac != "" && !isDigits(frac) {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		for i := 0; i < 9; i++ {
			ns *= 10
			if i < len(frac) {
				ns += uint64(frac[i] - '0')
			}
		}
	}
	if secs > (math.MaxInt64-ns)/uint64(time.Second) {
		return 0, fmt.Errorf("time %q out of range", s)
	}
	return time.Duration(secs*uint64(time.Second) + ns), nil
}

// Marshal formats r as a Range header value, such as "npt=now-",
// "npt=0.000-" or "npt=10.500-20.000". Times are written in seconds with
// at least three decimals and as many more as needed to be exact; negative
// durations are written as 0. A Range with neither Start, End nor Now
// marshals as "npt=-", which Unmarshal rejects.
func (r Range) Marshal() string {
	b := make([]byte, 0, 32)
	b = append(b, "npt="...)
	switch {
	case r.Now:
		b = append(b, "now"...)
	case r.Start != nil:
		b = appendNPT(b, *r.Start)
	}
	b = append(b, '-')
	if r.End != nil {
		b = appendNPT(b, *r.End)
	}
	return string(b)
}

func appendNPT(b []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	frac := int64(d % time.Second)
	digits := 9
	for digits > 3 && frac%10 == 0 {
		frac /= 10
		digits--
	}
	b = append(b, '.')
	s := strconv.FormatInt(frac, 10)
	for i := len(s); i < digits; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
