package image

import (
	"strings"
	"testing"
)

func TestApplets(t *testing.T) {
	names := "[\x00[[\x00init\x00ip\x00klogd\x00mke2fs\x00modprobe\x00mount\x00poweroff\x00sh\x00start-stop-daemon\x00syslogd\x00"
	bin := []byte("\x7fELF junk\x00" + names + "\x00more\x00data")
	got, err := Applets(bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Split(strings.TrimSuffix(names, "\x00"), "\x00"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Applets = %q, want %q", got, want)
	}
	if _, err := Applets([]byte("[\x00[[\x00sh\x00\x00")); err == nil || !strings.Contains(err.Error(), "lacks") {
		t.Errorf("a table without init: err %v, want a missing-applet error", err)
	}
	if _, err := Applets([]byte("no table")); err == nil {
		t.Error("no table: no error")
	}
}
