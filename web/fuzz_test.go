package web

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzPatchSettings decodes PATCH /api/v1/settings bodies as the server
// does and applies them: no input may panic, and whatever is accepted must
// lie within the options.
func FuzzPatchSettings(f *testing.F) {
	for _, s := range []string{
		`{"main":{"bitrate":800000}}`,
		`{"main":{"width":1920,"height":1080,"fps":25,"gop":50},"sub":{"width":320,"height":180}}`,
		`{"day_night":"night","time":{"ntp_servers":["pool.ntp.org","192.0.2.1"]}}`,
		`{"sub":{"width":1280,"height":720}}`,
		`{"main":{"fps":1e309}}`,
		`{"time":{"ntp_servers":[""]}}`,
	} {
		f.Add([]byte(s))
	}
	cur := newFakeCamera().Settings()
	o := cur.Options
	f.Fuzz(func(t *testing.T, body []byte) {
		var p SettingsPatch
		if json.Unmarshal(body, &p) != nil {
			return
		}
		next, err := p.apply(cur)
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("%s: error %T %v, want *FieldError", body, err, err)
			}
			return
		}
		for _, s := range []*StreamSettings{&next.Main, next.Sub} {
			if s == nil {
				continue
			}
			sizes := o.MainResolutions
			if s == next.Sub {
				sizes = o.SubResolutions
			}
			if !slices.Contains(sizes, s.resolution()) || s.FPS < 1 || s.FPS > float64(o.MaxFPS) ||
				s.Bitrate < o.MinBitrate || s.Bitrate > o.MaxBitrate || s.GOP < o.MinGOP || s.GOP > o.MaxGOP {
				t.Fatalf("%s: accepted %+v outside the options", body, *s)
			}
		}
		if next.Sub != nil && next.Sub.Width*next.Sub.Height >= next.Main.Width*next.Main.Height {
			t.Fatalf("%s: accepted a sub stream as large as the main one", body)
		}
		if !slices.Contains(o.DayNightModes, next.DayNight) {
			t.Fatalf("%s: accepted day_night %q", body, next.DayNight)
		}
		for _, h := range next.Time.NTPServers {
			if !validHost(h) {
				t.Fatalf("%s: accepted NTP server %q", body, h)
			}
		}
	})
}
