package onvif

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestRequestCounts replays requests, good and bad, and checks that each
// SOAP request is counted once under its service, operation and result.
func TestRequestCounts(t *testing.T) {
	s := newServer(t, authOptions())
	if got := s.Requests(); len(got) != 0 {
		t.Fatalf("fresh server counted %v", got)
	}
	getProfiles := envelopeFor(`<trt:GetProfiles xmlns:trt="` + NSMedia + `"/>`)
	steps := []struct {
		name, path, body string
		hdr              []string
		code             int
	}{
		{"pre-auth operation", DevicePath, readReq(t, "zeep_GetSystemDateAndTime.xml"), nil, 200},
		{"no credentials", DevicePath, readReq(t, "soap11_GetDeviceInformation.xml"), nil, 401},
		{"Digest", DevicePath, readReq(t, "soap11_GetDeviceInformation.xml"), []string{"Authorization", "Digest ok"}, 200},
		{"Digest again", DevicePath, readReq(t, "soap11_GetDeviceInformation.xml"), []string{"Authorization", "Digest ok"}, 200},
		{"media", MediaPath, getProfiles, []string{"Authorization", "Digest ok"}, 200},
		{"fixed profiles", MediaPath, readReq(t, "synology_CreateProfile.xml"), nil, 400},
		{"made-up operation", DevicePath, envelopeFor(`<x:Bogus xmlns:x="urn:x"/>`), nil, 500},
		{"not XML", DevicePath, "<not xml", nil, 400},
		{"empty body for a challenge", DevicePath, "", nil, 401},
	}
	for _, st := range steps {
		if r := do(t, s, st.path, st.body, st.hdr...); r.code != st.code {
			t.Fatalf("%s: status %d, want %d\n%s", st.name, r.code, st.code, r.body)
		}
	}
	// Not SOAP: not counted.
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", DevicePath, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d", w.Code)
	}

	want := []RequestCount{
		{"device", "GetDeviceInformation", "NotAuthorized", 1},
		{"device", "GetDeviceInformation", "ok", 2},
		{"device", "GetSystemDateAndTime", "ok", 1},
		{"device", "unknown", "ActionNotSupported", 1},
		{"device", "unknown", "NotAuthorized", 1},
		{"device", "unknown", "WellFormed", 1},
		{"media", "GetProfiles", "ok", 1},
		{"media", "unknown", "MaxNVTProfiles", 1},
	}
	if got := s.Requests(); !slices.Equal(got, want) {
		t.Errorf("Requests() =\n%v\nwant\n%v", got, want)
	}
}
