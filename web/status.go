package web

import "time"

// Status is the answer of GET /api/v1/status.
type Status struct {
	Version       string         `json:"version"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Time          time.Time      `json:"time"`
	Source        string         `json:"source"`
	Pipeline      string         `json:"pipeline"`
	Encoder       EncoderStatus  `json:"encoder"`
	Streams       []StreamStatus `json:"streams"`
	ONVIFURL      string         `json:"onvif_url"`
	Clients       []ClientStatus `json:"clients"`
	DayNight      DayNightStatus `json:"day_night"`
	Relays        []RelayStatus  `json:"relays"`
}

// EncoderStatus is the main stream's encoder output, measured.
type EncoderStatus struct {
	FPS      float64 `json:"fps"`
	Bitrate  int     `json:"bitrate"` // bits per second
	IDRCount uint64  `json:"idr_count"`
}

// StreamStatus is one served stream.
type StreamStatus struct {
	Name    string   `json:"name"`
	Path    string   `json:"path"`
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	FPS     float64  `json:"fps"`
	Bitrate int      `json:"bitrate"`
	GOP     int      `json:"gop"`
	Clients int      `json:"clients"`
	URLs    []string `json:"urls"`
}

// ClientStatus is one RTSP session.
type ClientStatus struct {
	Session       string  `json:"session"`
	Address       string  `json:"address"`
	Path          string  `json:"path"`
	Transport     string  `json:"transport"`
	SRTP          bool    `json:"srtp"`
	Playing       bool    `json:"playing"`
	Bitrate       int     `json:"bitrate"`
	PacketsSent   uint64  `json:"packets_sent"`
	BytesSent     uint64  `json:"bytes_sent"`
	FramesDropped uint64  `json:"frames_dropped"`
	FractionLost  float64 `json:"fraction_lost"`
	JitterMS      float64 `json:"jitter_ms"`
}

// DayNightStatus is the day/night mode and the current state.
type DayNightStatus struct {
	Mode  string `json:"mode"`
	Night bool   `json:"night"`
}

// RelayStatus is one relay the camera publishes to.
type RelayStatus struct {
	URL       string `json:"url"`
	Stream    string `json:"stream"` // main or sub
	State     string `json:"state"`
	LastError string `json:"last_error,omitempty"`
}
