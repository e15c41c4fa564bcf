package message

import (
	"slices"
	"testing"
)

func TestCanonicalHeaderKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cseq", "CSeq"},
		{"CSEQ", "CSeq"},
		{"CSeq", "CSeq"},
		{"rtp-info", "RTP-Info"},
		{"www-authenticate", "WWW-Authenticate"},
		{"content-base", "Content-Base"},
		{"CONTENT-LENGTH", "Content-Length"},
		{"content-type", "Content-Type"},
		{"transport", "Transport"},
		{"user-agent", "User-Agent"},
		{"x-custom_thing", "X-Custom_thing"},
		{"bad name", "bad name"},
	}
	for _, tt := range tests {
		if got := CanonicalHeaderKey(tt.in); got != tt.want {
			t.Errorf("CanonicalHeaderKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeaderMethods(t *testing.T) {
	h := make(Header)
	if got := h.Get("cseq"); got != "" {
		t.Errorf("Get on empty header = %q", got)
	}
	h.Set("cseq", "1")
	h.Add("Public", "OPTIONS")
	h.Add("PUBLIC", "DESCRIBE")
	if got := h.Get("CSEQ"); got != "1" {
		t.Errorf("Get(CSEQ) = %q, want 1", got)
	}
	if got := h.Values("public"); !slices.Equal(got, []string{"OPTIONS", "DESCRIBE"}) {
		t.Errorf("Values(public) = %q", got)
	}
	if _, ok := h["CSeq"]; !ok {
		t.Errorf("Set did not store under canonical key: %v", h)
	}
	h.Set("Public", "PLAY")
	if got := h.Values("Public"); !slices.Equal(got, []string{"PLAY"}) {
		t.Errorf("after Set, Values = %q", got)
	}
	c := h.Clone()
	c.Add("Public", "PAUSE")
	if len(h["Public"]) != 1 {
		t.Errorf("Clone shares slices with original")
	}
	h.Del("cseq")
	if got := h.Get("CSeq"); got != "" {
		t.Errorf("after Del, Get = %q", got)
	}
	if Header(nil).Clone() != nil {
		t.Errorf("nil.Clone() != nil")
	}
}
