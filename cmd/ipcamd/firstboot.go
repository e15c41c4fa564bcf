package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcamd/ipcamd/rtsp/auth"
	"go.yaml.in/yaml/v3"
)

// First boot: what a camera makes for itself the first time it starts
// (and again after a factory reset empties the state directory):
//
//   - state_dir/device-id: a random UUID naming this device;
//   - with auth.generate_admin and no users in the config, the user
//     "admin" with a random password: state_dir/users.yaml holds its hash
//     and sealed WS-Security password, state_dir/admin.password the
//     password itself (both 0600), and ipcamd prints it once on standard
//     output and in the log, so that the owner can read it on the console.
//
// The self-signed TLS certificate is made when RTSPS first needs it.

const firstBootUser = "admin"

// usersFile is state_dir/users.yaml.
type usersFile struct {
	Users []UserConfig `yaml:"users"`
}

// firstBoot makes the device ID and, if asked to, the admin user, and
// returns cfg with the generated users added.
func firstBoot(cfg Config, log *slog.Logger, stdout io.Writer) (Config, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return cfg, fmt.Errorf("state_dir: %w", err)
	}
	idPath := filepath.Join(cfg.StateDir, "device-id")
	id, err := os.ReadFile(idPath)
	if errors.Is(err, os.ErrNotExist) {
		id = []byte(newUUID() + "\n")
		if err = writeFileAtomic(idPath, id, 0o644); err == nil {
			log.Info("first boot: device ID made", "id", strings.TrimSpace(string(id)))
		}
	}
	if err != nil {
		return cfg, fmt.Errorf("device ID: %w", err)
	}
	if !cfg.Auth.GenerateAdmin || len(cfg.Users) > 0 {
		return cfg, nil
	}
	path := filepath.Join(cfg.StateDir, "users.yaml")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if b, err = makeAdmin(cfg, log, stdout); err != nil {
			return cfg, fmt.Errorf("first boot: %w", err)
		}
	} else if err != nil {
		return cfg, fmt.Errorf("users: %w", err)
	}
	var f usersFile
	if err := yaml.Unmarshal(b, &f); err != nil || len(f.Users) == 0 {
		return cfg, fmt.Errorf("%s: no users (%v): delete it to make a new admin", path, err)
	}
	cfg.Users = f.Users
	return cfg, cfg.Validate()
}

// makeAdmin makes the admin user with a random password and saves it.
func makeAdmin(cfg Config, log *slog.Logger, stdout io.Writer) ([]byte, error) {
	pw := randomPassword()
	h, err := auth.HashPassword(firstBootUser, "", pw)
	if err != nil {
		return nil, err
	}
	u := UserConfig{User: auth.User{Name: firstBootUser, Hash: h, Role: auth.RoleAdmin}}
	if key, err := secretKey(cfg.StateDir, true); err == nil {
		u.WSSE, _ = seal(key, firstBootUser, pw)
	}
	b, err := yaml.Marshal(usersFile{Users: []UserConfig{u}})
	if err != nil {
		return nil, err
	}
	b = append([]byte("# Made at first boot; the password is in admin.password.\n"), b...)
	// The password file first: if the users file exists, so does it.
	if err := writeFileAtomic(filepath.Join(cfg.StateDir, "admin.password"), []byte(pw+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(cfg.StateDir, "users.yaml"), b, 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "ipcamd: first boot: user %s, password %s\n", firstBootUser, pw)
	log.Warn("first boot: made the admin user; change its password with `ipcamd passwd`",
		"user", firstBootUser, "password", pw, "file", filepath.Join(cfg.StateDir, "admin.password"))
	return b, nil
}

// randomPassword returns 16 characters from an alphabet without look-alikes
// (no 0/O, 1/l/I): about 90 bits.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	return pick(alphabet, 16)
}

func pick(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		var r [1]byte
		for {
			rand.Read(r[:])
			if int(r[0]) < 256-256%len(alphabet) { // no modulo bias
				break
			}
		}
		b[i] = alphabet[int(r[0])%len(alphabet)]
	}
	return string(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
