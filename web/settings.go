package web

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// StreamSettings are one stream's encoder settings.
type StreamSettings struct {
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	FPS     float64 `json:"fps"`
	Bitrate int     `json:"bitrate"` // bits per second
	GOP     int     `json:"gop"`     // frames from one IDR to the next
}

// resolution is "WxH".
func (s StreamSettings) resolution() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// TimeSettings are how the camera keeps its clock.
type TimeSettings struct {
	NTPServers []string `json:"ntp_servers"`
}

// Options bound what settings may be chosen.
type Options struct {
	// Fixed is set when the encoder settings cannot change (file replay,
	// H.264 straight from the camera).
	Fixed           bool     `json:"fixed"`
	MainResolutions []string `json:"main_resolutions"`
	SubResolutions  []string `json:"sub_resolutions"`
	MaxFPS          int      `json:"max_fps"`
	MinBitrate      int      `json:"min_bitrate"`
	MaxBitrate      int      `json:"max_bitrate"`
	MinGOP          int      `json:"min_gop"`
	MaxGOP          int      `json:"max_gop"`
	DayNightModes   []string `json:"day_night_modes"`
}

// Settings are what an admin may change, with the choices offered.
type Settings struct {
	Main     StreamSettings  `json:"main"`
	Sub      *StreamSettings `json:"sub"` // nil without a sub stream
	DayNight string          `json:"day_night"`
	Time     TimeSettings    `json:"time"`
	Options  Options         `json:"options"`
}

// StreamPatch changes some of a stream's settings; nil fields stay.
type StreamPatch struct {
	Width   *int     `json:"width,omitempty"`
	Height  *int     `json:"height,omitempty"`
	FPS     *float64 `json:"fps,omitempty"`
	Bitrate *int     `json:"bitrate,omitempty"`
	GOP     *int     `json:"gop,omitempty"`
}

// TimePatch changes the clock settings.
type TimePatch struct {
	NTPServers *[]string `json:"ntp_servers,omitempty"`
}

// SettingsPatch is the body of PATCH /api/v1/settings: nil parts stay.
type SettingsPatch struct {
	Main     *StreamPatch `json:"main,omitempty"`
	Sub      *StreamPatch `json:"sub,omitempty"`
	DayNight *string      `json:"day_night,omitempty"`
	Time     *TimePatch   `json:"time,omitempty"`
}

// FieldError is an invalid value; Field is its JSON path, such as
// "main.bitrate".
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// apply returns cur with p applied, or the first invalid field. It checks
// everything against cur.Options before anything is applied.
func (p *SettingsPatch) apply(cur Settings) (Settings, error) {
	next := cur
	o := cur.Options
	streams := []struct {
		name  string
		patch *StreamPatch
		dst   *StreamSettings
		sizes []string
	}{
		{"main", p.Main, &next.Main, o.MainResolutions},
	}
	if p.Sub != nil {
		if cur.Sub == nil {
			return cur, fieldErr("sub", "this camera has no sub stream")
		}
		sub := *cur.Sub
		next.Sub = &sub
		streams = append(streams, struct {
			name  string
			patch *StreamPatch
			dst   *StreamSettings
			sizes []string
		}{"sub", p.Sub, next.Sub, o.SubResolutions})
	}
	for _, s := range streams {
		if s.patch == nil {
			continue
		}
		if err := s.patch.applyTo(s.name, s.dst, s.sizes, o); err != nil {
			return cur, err
		}
	}
	if next.Sub != nil && next.Sub.Width*next.Sub.Height >= next.Main.Width*next.Main.Height {
		return cur, fieldErr("sub.width", "the sub stream (%s) must be smaller than the main stream (%s)",
			next.Sub.resolution(), next.Main.resolution())
	}
	if p.DayNight != nil {
		if !slices.Contains(o.DayNightModes, *p.DayNight) {
			return cur, fieldErr("day_night", "%q is not %s", *p.DayNight, orList(o.DayNightModes))
		}
		next.DayNight = *p.DayNight
	}
	if p.Time != nil && p.Time.NTPServers != nil {
		servers := *p.Time.NTPServers
		if len(servers) > 8 {
			return cur, fieldErr("time.ntp_servers", "%d servers is more than 8", len(servers))
		}
		for i, h := range servers {
			if !validHost(h) {
				return cur, fieldErr("time.ntp_servers", "entry %d, %q, is not a host name or address", i, h)
			}
		}
		next.Time.NTPServers = slices.Clone(servers)
	}
	return next, nil
}

func (p *StreamPatch) applyTo(name string, dst *StreamSettings, sizes []string, o Options) error {
	if o.Fixed {
		return fieldErr(name, "the encoder settings of this device are fixed")
	}
	if p.Width != nil || p.Height != nil {
		w, h := dst.Width, dst.Height
		if p.Width != nil {
			w = *p.Width
		}
		if p.Height != nil {
			h = *p.Height
		}
		if r := strconv.Itoa(w) + "x" + strconv.Itoa(h); !slices.Contains(sizes, r) {
			return fieldErr(name+".width", "resolution %s is not among the available ones (%s)", r, strings.Join(sizes, ", "))
		}
		dst.Width, dst.Height = w, h
	}
	if p.FPS != nil {
		if f := *p.FPS; !(f >= 1 && f <= float64(o.MaxFPS)) {
			return fieldErr(name+".fps", "%g is not between 1 and %d", f, o.MaxFPS)
		}
		dst.FPS = *p.FPS
	}
	if p.Bitrate != nil {
		switch b := *p.Bitrate; {
		case b < o.MinBitrate:
			return fieldErr(name+".bitrate", "%d is below the minimum of %d bit/s", b, o.MinBitrate)
		case b > o.MaxBitrate:
			return fieldErr(name+".bitrate", "%d is above the maximum of %d bit/s", b, o.MaxBitrate)
		}
		dst.Bitrate = *p.Bitrate
	}
	if p.GOP != nil {
		if g := *p.GOP; g < o.MinGOP || g > o.MaxGOP {
			return fieldErr(name+".gop", "%d is not between %d and %d frames", g, o.MinGOP, o.MaxGOP)
		}
		dst.GOP = *p.GOP
	}
	return nil
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return "allowed"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// validHost reports whether h is an IP address or a DNS host name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for l := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}
