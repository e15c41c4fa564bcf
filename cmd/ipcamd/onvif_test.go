package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestONVIFProfiles(t *testing.T) {
	cfg := DefaultConfig()
	ps := onvifProfiles(cfg, &source{setSubOutput: func(auWriter) {}})
	if len(ps) != 2 {
		t.Fatalf("%d profiles", len(ps))
	}
	m, s := ps[0], ps[1]
	if m.Token != "main" || m.Width != 1280 || m.Height != 720 || m.FPS != 30 || m.BitrateKbps != 1000 || m.GOP != 60 || m.Path != "/main" {
		t.Errorf("main %+v", m)
	}
	if s.Token != "sub" || s.Width != 640 || s.Height != 360 || s.BitrateKbps != 500 || s.Path != "/sub" {
		t.Errorf("sub %+v", s)
	}
	if m.MulticastAddress.String() != "239.0.0.1" || s.MulticastAddress.String() != "239.0.0.2" || m.MulticastPort != 5000 || m.MulticastTTL != 16 {
		t.Errorf("multicast %v %v %d %d", m.MulticastAddress, s.MulticastAddress, m.MulticastPort, m.MulticastTTL)
	}
	cfg.Source = "testsrc:320x240@10"
	if ps := onvifProfiles(cfg, &source{}); len(ps) != 1 || ps[0].Width != 320 || ps[0].FPS != 10 {
		t.Errorf("testsrc:320x240@10 without sub: %+v", ps)
	}
}

func TestHTTPHandlerMountsONVIF(t *testing.T) {
	cfg := DefaultConfig()
	src := &source{setSubOutput: func(auWriter) {}, noRaw: "none"}
	h := httpHandler(src, nil, http.NotFoundHandler(),
		onvifHandler(cfg, onvifProfiles(cfg, src), &net.TCPAddr{Port: 8554}, nil, nil, slog.New(slog.DiscardHandler)))
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>`
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "http://192.0.2.1:8080/onvif/media_service", strings.NewReader(body)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `token="sub"`) {
		t.Errorf("status %d\n%s", w.Code, w.Body)
	}
}
