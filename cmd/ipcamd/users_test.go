package main

import (
	"errors"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/ipcamd/ipcamd/rtsp/auth"
	"github.com/ipcamd/ipcamd/web"
)

var testAddr = netip.MustParseAddr("192.0.2.7")

// TestAccounts adds, changes and removes users as the web page does: the
// verifier follows at once, ONVIF's admin and WS-Security lookups follow,
// the last admin stays, and users.yaml brings them back after a restart.
func TestAccounts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir()
	h, err := auth.HashPassword("admin", "", "admin-pass")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Users = []UserConfig{{User: auth.User{Name: "admin", Hash: h, Role: auth.RoleAdmin}}}
	v, err := auth.New(cfg.authConfig())
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	a := newAccounts(cfg, v, func() { opened++ }, slog.New(slog.DiscardHandler))

	if err := a.AddUser("nvr", "nvr-password", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if u, err := v.CheckPassword("nvr", "nvr-password", testAddr); err != nil || u.Role != auth.RoleViewer {
		t.Fatalf("the verifier does not know the new user: %+v %v", u, err)
	}
	if pw, ok := a.password("nvr"); !ok || pw != "nvr-password" || a.isAdmin("nvr") {
		t.Fatalf("ONVIF lookups: %q %v admin %v", pw, ok, a.isAdmin("nvr"))
	}
	if err := a.AddUser("nvr", "x-password", auth.RoleViewer); !errors.Is(err, web.ErrUserExists) {
		t.Fatalf("duplicate: %v", err)
	}
	var fe *web.FieldError
	if err := a.AddUser("bad:name", "x-password", auth.RoleViewer); !errors.As(err, &fe) {
		t.Fatalf("bad name: %v", err)
	}
	admin := auth.RoleAdmin
	if err := a.UpdateUser("nvr", "new-password", &admin); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CheckPassword("nvr", "nvr-password", testAddr); err == nil {
		t.Fatal("the old password still passes")
	}
	if !a.isAdmin("nvr") {
		t.Fatal("nvr is not an admin after the role change")
	}
	viewer := auth.RoleViewer
	if err := a.UpdateUser("admin", "", &viewer); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	if err := a.UpdateUser("nvr", "", &viewer); !errors.Is(err, web.ErrLastAdmin) {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if err := a.DeleteUser("nvr"); !errors.Is(err, web.ErrLastAdmin) {
		t.Fatalf("removing the last admin: %v", err)
	}
	if err := a.DeleteUser("admin"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUser("admin"); !errors.Is(err, web.ErrNoUser) {
		t.Fatalf("removing a removed user: %v", err)
	}
	if _, ok := a.password("admin"); ok {
		t.Fatal("a removed user's WS-Security password is still known")
	}
	if opened != 0 {
		t.Fatal("restart asked for a camera that had users")
	}

	users, ok, err := loadUsersState(cfg.StateDir)
	if err != nil || !ok || len(users) != 1 || users[0].Name != "nvr" || users[0].Role != auth.RoleAdmin || users[0].WSSE == "" {
		t.Fatalf("users.yaml: %+v %v %v", users, ok, err)
	}
	cfg.Users = users
	v2, _ := auth.New(cfg.authConfig())
	a2 := newAccounts(cfg, v2, nil, slog.New(slog.DiscardHandler))
	if pw, ok := a2.password("nvr"); !ok || pw != "new-password" {
		t.Fatalf("after a restart the WS-Security password is %q %v", pw, ok)
	}
}

// TestAccountsOpenCamera: the first user of a camera without users must be
// an admin, and adding it asks for a restart.
func TestAccountsOpenCamera(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir()
	v, _ := auth.New(auth.Config{})
	opened := 0
	a := newAccounts(cfg, v, func() { opened++ }, slog.New(slog.DiscardHandler))
	if err := a.AddUser("bob", "bob-password", auth.RoleViewer); !errors.Is(err, web.ErrLastAdmin) {
		t.Fatalf("a viewer as the first user: %v", err)
	}
	if err := a.AddUser("root", "root-password", auth.RoleAdmin); err != nil || opened != 1 || v.Open() {
		t.Fatalf("the first admin: %v, restarts %d, open %v", err, opened, v.Open())
	}
}
