package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestFirstBoot(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Auth.GenerateAdmin = true
	log := slog.New(slog.DiscardHandler)

	var out bytes.Buffer
	got, err := firstBoot(cfg, log, &out)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^ipcamd: first boot: user admin, password ([A-Za-z0-9]{16})\n$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("first boot printed %q", out.String())
	}
	pw := m[1]
	if len(got.Users) != 1 || got.Users[0].Name != "admin" || got.Users[0].Role.String() != "admin" || got.Users[0].WSSE == "" {
		t.Fatalf("users %+v", got.Users)
	}
	for _, f := range []string{"admin.password", "users.yaml", "secret.key"} {
		fi, err := os.Stat(filepath.Join(cfg.StateDir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.StateDir, "admin.password")); strings.TrimSpace(string(b)) != pw {
		t.Errorf("admin.password holds %q, printed %q", b, pw)
	}
	key, err := secretKey(cfg.StateDir, false)
	if err != nil {
		t.Fatal(err)
	}
	if sealed, err := unseal(key, "admin", got.Users[0].WSSE); err != nil || sealed != pw {
		t.Errorf("WS-Security password %q, %v", sealed, err)
	}
	id, _ := os.ReadFile(filepath.Join(cfg.StateDir, "device-id"))
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n$`).Match(id) {
		t.Errorf("device-id %q", id)
	}

	// The next start keeps all of it and prints nothing.
	out.Reset()
	again, err := firstBoot(cfg, log, &out)
	if err != nil || out.Len() != 0 || again.Users[0].Hash != got.Users[0].Hash {
		t.Errorf("second start: %v, printed %q", err, out.String())
	}
	if id2, _ := os.ReadFile(filepath.Join(cfg.StateDir, "device-id")); !bytes.Equal(id, id2) {
		t.Errorf("device ID changed: %s → %s", id, id2)
	}
	// Two devices never share a password or an ID.
	other := cfg
	other.StateDir = filepath.Join(t.TempDir(), "state")
	out.Reset()
	if _, err := firstBoot(other, log, &out); err != nil || strings.Contains(out.String(), pw) {
		t.Errorf("another device: %v %q", err, out.String())
	}

	// With users in the config, no admin is made.
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Users = got.Users
	out.Reset()
	if _, err := firstBoot(cfg, log, &out); err != nil || out.Len() != 0 {
		t.Errorf("with configured users: %v, printed %q", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "users.yaml")); err == nil {
		t.Error("users.yaml made although the config has users")
	}
}
