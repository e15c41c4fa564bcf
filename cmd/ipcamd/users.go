package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/ipcamd/ipcamd/rtsp/auth"
	"github.com/ipcamd/ipcamd/web"
)

// usersStatePath is where users changed on the web page are kept; when
// it exists it replaces the config file's users.
func usersStatePath(stateDir string) string { return filepath.Join(stateDir, "users.yaml") }

// loadUsersState returns the users saved by the web page, if any.
func loadUsersState(stateDir string) ([]UserConfig, bool, error) {
	b, err := os.ReadFile(usersStatePath(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var st struct {
		Users []UserConfig `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &st); err != nil {
		return nil, false, fmt.Errorf("%s: %w", usersStatePath(stateDir), err)
	}
	return st.Users, true, nil
}

// accounts are the camera's users as the web page manages them. Every
// change is saved to users.yaml and handed to the verifier at once, so
// RTSP, ONVIF and the web see it with the next request; ONVIF asks
// isAdmin and password for each request too.
type accounts struct {
	stateDir string
	verifier *auth.Verifier
	log      *slog.Logger
	// opened is called when the first user is added to a camera that had
	// none, whose services were set up open: they must restart.
	opened func()

	mu        sync.Mutex
	users     []UserConfig
	passwords map[string]string // unsealed WS-Security passwords
}

func newAccounts(cfg Config, verifier *auth.Verifier, opened func(), log *slog.Logger) *accounts {
	a := &accounts{stateDir: cfg.StateDir, verifier: verifier, log: log, opened: opened,
		users: slices.Clone(cfg.Users), passwords: map[string]string{}}
	key, kerr := secretKey(cfg.StateDir, false)
	for _, u := range cfg.Users {
		if u.WSSE == "" {
			continue
		}
		if kerr != nil {
			log.Warn("ONVIF WS-Security is off for a user: no secret key", "user", u.Name, "err", kerr)
			continue
		}
		pw, err := unseal(key, u.Name, u.WSSE)
		if err != nil {
			log.Warn("ONVIF WS-Security is off for a user", "user", u.Name, "err", err)
			continue
		}
		a.passwords[u.Name] = pw
	}
	return a
}

// Users lists the users, without hashes.
func (a *accounts) Users() []auth.User { return a.verifier.Users() }

// isAdmin reports whether user is an admin.
func (a *accounts) isAdmin(user string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range a.users {
		if u.Name == user {
			return u.Role.Includes(auth.RoleAdmin)
		}
	}
	return false
}

// password returns user's password for WS-Security, if known.
func (a *accounts) password(user string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pw, ok := a.passwords[user]
	return pw, ok
}

// AddUser adds a user with a new hash and sealed WS-Security password.
func (a *accounts) AddUser(name, password string, role auth.Role) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.ContainsFunc(a.users, func(u UserConfig) bool { return u.Name == name }) {
		return web.ErrUserExists
	}
	u, err := a.newUser(name, password, role)
	if err != nil {
		return err
	}
	wasOpen := len(a.users) == 0
	if err := a.commit(append(slices.Clone(a.users), u), name, password); err != nil {
		return err
	}
	if wasOpen && a.opened != nil {
		a.log.Warn("the first user was added: restarting so that every service asks for credentials")
		a.opened()
	}
	return nil
}

// UpdateUser changes a user's password (if not empty) and role (if set).
func (a *accounts) UpdateUser(name, password string, role *auth.Role) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	users := slices.Clone(a.users)
	i := slices.IndexFunc(users, func(u UserConfig) bool { return u.Name == name })
	if i < 0 {
		return web.ErrNoUser
	}
	if role != nil {
		users[i].Role = *role
	}
	if password != "" {
		u, err := a.newUser(name, password, users[i].Role)
		if err != nil {
			return err
		}
		users[i] = u
	}
	return a.commit(users, name, password)
}

// DeleteUser removes a user.
func (a *accounts) DeleteUser(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	users := slices.Clone(a.users)
	i := slices.IndexFunc(users, func(u UserConfig) bool { return u.Name == name })
	if i < 0 {
		return web.ErrNoUser
	}
	return a.commit(slices.Delete(users, i, i+1), name, "")
}

// newUser hashes password and seals it for WS-Security.
func (a *accounts) newUser(name, password string, role auth.Role) (UserConfig, error) {
	h, err := auth.HashPassword(name, "", password)
	if err != nil {
		return UserConfig{}, &web.FieldError{Field: "name", Msg: err.Error()}
	}
	u := UserConfig{User: auth.User{Name: name, Hash: h, Role: role}}
	key, err := secretKey(a.stateDir, true)
	if err == nil {
		u.WSSE, err = seal(key, name, password)
	}
	if err != nil {
		a.log.Warn("ONVIF WS-Security will not work for a user", "user", name, "err", err)
	}
	return u, nil
}

// commit checks users, saves them and hands them to the verifier. name
// is the user changed, and password its new password ("" if none).
func (a *accounts) commit(users []UserConfig, name, password string) error {
	// Never without an admin: not by removing or demoting the last one,
	// nor by making a viewer the first user.
	if !slices.ContainsFunc(users, func(u UserConfig) bool { return u.Role.Includes(auth.RoleAdmin) }) {
		return web.ErrLastAdmin
	}
	plain := make([]auth.User, len(users))
	for i, u := range users {
		plain[i] = u.User
	}
	// Check with a scratch verifier first, so that a refused list
	// changes nothing anywhere.
	if _, err := auth.New(auth.Config{Users: plain}); err != nil {
		return &web.FieldError{Field: "name", Msg: err.Error()}
	}
	b, err := yaml.Marshal(struct {
		Users []UserConfig `yaml:"users"`
	}{users})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.stateDir, 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(usersStatePath(a.stateDir), b, 0o600); err != nil {
		return fmt.Errorf("saving the users: %w", err)
	}
	if err := a.verifier.SetUsers(plain); err != nil {
		return err
	}
	a.users = users
	if password != "" {
		a.passwords[name] = password
	} else if !slices.ContainsFunc(users, func(u UserConfig) bool { return u.Name == name }) {
		delete(a.passwords, name)
	}
	return nil
}
