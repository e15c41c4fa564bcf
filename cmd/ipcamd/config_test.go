package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ipcamd.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFlags(t *testing.T) {
	cfgFile := writeConfig(t, "source: file:a.h264\nrtsp:\n  listen: \":9554\"\n  session_timeout: 3s\nlog_level: warn\n")
	tests := []struct {
		name    string
		args    []string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Source == "testsrc" && c.RTSP.Listen == ":8554" && c.RTSP.Path == "/main" &&
				c.HTTP.Listen == ":8080" && c.RTSP.SessionTimeout == 60*time.Second
		}, ""},
		{"file", []string{"-config", cfgFile}, func(c Config) bool {
			return c.Source == "file:a.h264" && c.RTSP.Listen == ":9554" && c.RTSP.SessionTimeout == 3*time.Second && c.LogLevel == "warn"
		}, ""},
		{"flags override the file", []string{"-config", cfgFile, "-rtsp", "127.0.0.1:7554", "-source", "testsrc:640x360@15", "-log-level", "debug"}, func(c Config) bool {
			return c.RTSP.Listen == "127.0.0.1:7554" && c.Source == "testsrc:640x360@15" && c.LogLevel == "debug" && c.RTSP.SessionTimeout == 3*time.Second
		}, ""},
		{"bad source", []string{"-source", "webcam"}, nil, `source: "webcam": unknown source`},
		{"bad mode", []string{"-source", "testsrc:big"}, nil, "is not WIDTHxHEIGHT@FPS"},
		{"bad level", []string{"-log-level", "loud"}, nil, "log_level"},
		{"bad address", []string{"-rtsp", "8554"}, nil, "rtsp.listen"},
		{"missing file", []string{"-config", "/nonexistent.yaml"}, nil, "no such file"},
		{"stray argument", []string{"extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"rtsp:\n  listn: \":1\"\n", "field listn not found"},
		{"sourc: testsrc\n", "field sourc not found"},
		{"rtsp:\n  session_timeout: soon\n", "session_timeout"},
		{"rtsp:\n  max_payload: lots\n", "lots"},
		{"rtsp: [1, 2]\n", "rtsp"},
	}
	for _, tt := range tests {
		_, err := LoadConfig(writeConfig(t, tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to contain %q", tt.yaml, err, tt.want)
		}
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.RTSP.Path = "main" }, "rtsp.path"},
		{func(c *Config) { c.RTSP.RTPPort = 5001 }, "rtsp.rtp_port"},
		{func(c *Config) { c.RTSP.SessionTimeout = 0 }, "rtsp.session_timeout"},
		{func(c *Config) { c.RTSP.MaxPayload = 20 }, "rtsp.max_payload"},
		{func(c *Config) { c.RTSP.ClientBacklog = 10 }, "rtsp.client_backlog"},
		{func(c *Config) { c.RTSP.MaxSessions = 0 }, "rtsp.max_sessions"},
		{func(c *Config) { c.RTSP.MaxConns = 0 }, "rtsp.max_conns"},
		{func(c *Config) { c.RTSP.MaxConnsPerAddr = 1000 }, "rtsp.max_conns_per_addr"},
		{func(c *Config) { c.RTSP.SubPath = c.RTSP.Path }, "rtsp.sub_path"},
		{func(c *Config) { c.Encoder.SubWidth = 641 }, "encoder.sub_width"},
		{func(c *Config) { c.Encoder.QP = 60 }, "encoder.qp"},
		{func(c *Config) { c.RTSP.TLSCert = "a.pem" }, "rtsp.tls_cert"},
		{func(c *Config) { c.RTSP.Multicast.Port = 5001 }, "rtsp.multicast"},
		{func(c *Config) { c.RTSP.RateAdaptation.Enabled, c.RTSP.RateAdaptation.MinBitrate = true, 10 }, "rtsp.rate_adaptation.min_bitrate"},
		{func(c *Config) { c.RTSP.RateAdaptation.Enabled, c.RTSP.RateAdaptation.MinBitrate = true, 5000000 }, "rtsp.rate_adaptation.min_bitrate"},
		{func(c *Config) { c.Users = []UserConfig{{User: auth.User{Name: "x", Hash: "plain"}}} }, "users"},
		{func(c *Config) { c.HTTP.Listen = "x" }, "http.listen"},
		{func(c *Config) { c.Buffer = 1 }, "buffer"},
		{func(c *Config) { c.Source = "file:" }, "source"},
		{func(c *Config) { c.Source = "v4l2:video0" }, "source"},
		{func(c *Config) { c.Push = []PushConfig{{URL: "http://relay/cam"}} }, "push[0].url"},
		{func(c *Config) { c.Push = []PushConfig{{URL: "rtsps://relay/cam", Transport: "udp"}} }, "push[0].transport"},
		{func(c *Config) {
			c.Push = []PushConfig{{URL: "rtsp://relay/cam", TLSFingerprint: strings.Repeat("a", 64)}}
		}, "push[0].tls_fingerprint"},
		{func(c *Config) { c.Push = []PushConfig{{URL: "rtsps://relay/cam", TLSFingerprint: "a"}} }, "push[0].tls_fingerprint"},
		{func(c *Config) { c.Push = []PushConfig{{URL: "rtsp://relay/cam", Transport: "sctp"}} }, "push[0].transport"},
		{func(c *Config) {
			c.Push = []PushConfig{{URL: "rtsp://relay/a"}, {URL: "rtsp://relay/b", Stream: "third"}}
		}, "push[1].stream"},
		{func(c *Config) { c.Push = []PushConfig{{URL: "rtsp://relay/cam", ViewURL: "http://x/"}} }, "push[0].view_url"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("err = %v, want it to start with %q", err, tt.want)
		}
	}
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestParseSource(t *testing.T) {
	tests := []struct {
		in   string
		want SourceSpec
	}{
		{"testsrc", SourceSpec{Kind: "testsrc"}},
		{"testsrc:1280x720@30", SourceSpec{Kind: "testsrc", Width: 1280, Height: 720, FPS: 30}},
		{"file:/tmp/a b.h264", SourceSpec{Kind: "file", Path: "/tmp/a b.h264"}},
		{"file:c:d.264", SourceSpec{Kind: "file", Path: "c:d.264"}},
		{"v4l2:/dev/video0", SourceSpec{Kind: "v4l2", Path: "/dev/video0"}},
		{"v4l2:/dev/video2:640x480@29.97", SourceSpec{Kind: "v4l2", Path: "/dev/video2", Width: 640, Height: 480, FPS: 29.97}},
	}
	for _, tt := range tests {
		got, err := ParseSource(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSource(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestSealedPasswords(t *testing.T) {
	dir := t.TempDir()
	key, err := secretKey(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	again, err := secretKey(dir, false)
	if err != nil || string(again) != string(key) {
		t.Fatalf("the key did not persist: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v, mode %v, want 0600", err, fi.Mode())
	}
	sealed, err := seal(key, "alice", "my secret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "my secret") {
		t.Fatal("the sealed form shows the password")
	}
	if pw, err := unseal(key, "alice", sealed); err != nil || pw != "my secret" {
		t.Fatalf("unseal = %q, %v", pw, err)
	}
	if _, err := unseal(key, "bob", sealed); err == nil {
		t.Error("a password sealed for alice opened for bob")
	}
	other, _ := secretKey(t.TempDir(), true)
	if _, err := unseal(other, "alice", sealed); err == nil {
		t.Error("a password opened with another state directory's key")
	}
	if _, err := unseal(key, "alice", "plain"); err == nil {
		t.Error("an unsealed value was accepted")
	}
}

func TestPasswdPrintsAUsableEntry(t *testing.T) {
	dir := t.TempDir()
	cfgFile := writeConfig(t, "state_dir: "+dir+"\n")
	var out, errOut strings.Builder
	if code := passwd([]string{"-config", cfgFile, "alice", "admin"}, strings.NewReader("pw one\n"), &out, &errOut); code != 0 {
		t.Fatalf("passwd exit %d: %s", code, errOut.String())
	}
	cfg, err := LoadConfig(writeConfig(t, "state_dir: "+dir+"\n"+out.String()))
	if err != nil {
		t.Fatalf("the printed entry does not load: %v\n%s", err, out.String())
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	u := cfg.Users[0]
	if u.Name != "alice" || u.Role != auth.RoleAdmin || u.WSSE == "" {
		t.Fatalf("user %+v", u)
	}
	key, _ := secretKey(dir, false)
	if pw, err := unseal(key, "alice", u.WSSE); err != nil || pw != "pw one" {
		t.Fatalf("wsse unseals to %q, %v", pw, err)
	}
}
