package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
)

// Session lifetimes and bounds.
const (
	SessionIdle     = 30 * time.Minute // without a request
	SessionLifetime = 12 * time.Hour   // in any case
	maxSessions     = 128              // beyond, the oldest is dropped
	cookieName      = "ipcamd_session"
)

// session is one logged-in browser.
type session struct {
	token   string
	csrf    string
	user    string // "" on an open camera
	role    auth.Role
	created time.Time
	seen    time.Time
}

// sessions are the logged-in browsers, by token. Tokens live only in
// memory: a restart logs everyone out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

func newSessions() *sessions {
	return &sessions{m: make(map[string]*session), now: time.Now}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for user.
func (s *sessions) create(user string, role auth.Role) *session {
	now := s.now()
	ss := &session{token: randomToken(), csrf: randomToken(), user: user, role: role, created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if len(s.m) >= maxSessions {
		var oldest *session
		for _, x := range s.m {
			if oldest == nil || x.seen.Before(oldest.seen) {
				oldest = x
			}
		}
		delete(s.m, oldest.token)
	}
	s.m[ss.token] = ss
	return ss
}

// get returns the live session of token, and marks it used; nil if none.
func (s *sessions) get(token string) *session {
	if token == "" {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[token]
	if ss == nil {
		return nil
	}
	if s.expired(ss, now) {
		delete(s.m, token)
		return nil
	}
	ss.seen = now
	c := *ss
	return &c
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) > SessionIdle || now.Sub(ss.created) > SessionLifetime
}

func (s *sessions) expireLocked(now time.Time) {
	for k, ss := range s.m {
		if s.expired(ss, now) {
			delete(s.m, k)
		}
	}
}

// end ends the session of token.
func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, token)
}

// endUser ends every session of user, after its password or role changed
// or it was removed.
func (s *sessions) endUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ss := range s.m {
		if ss.user == user {
			delete(s.m, k)
		}
	}
}

// endAll ends every session.
func (s *sessions) endAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

// csrfOK reports whether token is the session's CSRF token.
func (ss *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(ss.csrf)) == 1
}
