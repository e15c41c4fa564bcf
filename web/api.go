package web

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ipcamd/ipcamd/rtsp/auth"
)

// sessionBody is the JSON of a session.
type sessionBody struct {
	User string `json:"user"`
	Role string `json:"role"`
	CSRF string `json:"csrf"`
	Open bool   `json:"open"`
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, ss *session) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: ss.token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		MaxAge: int(SessionLifetime / time.Second),
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !s.csrfOK(r, caller{}) {
		writeError(w, http.StatusForbidden, "login from another site refused", "")
		return
	}
	var ss *session
	if s.open() {
		ss = s.sessions.create("", auth.RoleAdmin)
	} else {
		u, err := s.cfg.Verifier.CheckPassword(body.User, body.Password, remoteAddr(r))
		switch {
		case errors.Is(err, auth.ErrTooManyFailures):
			s.log.Warn("web: login blocked after repeated failures", "client", r.RemoteAddr)
			w.Header().Set("Retry-After", "60")
			writeError(w, http.StatusTooManyRequests, "too many failed attempts from this address; try again in a minute", "")
			return
		case err != nil || u == nil:
			s.log.Info("web: login failed", "client", r.RemoteAddr, "user", body.User)
			writeError(w, http.StatusUnauthorized, "wrong user name or password", "")
			return
		}
		ss = s.sessions.create(u.Name, u.Role)
		s.log.Info("web: logged in", "client", r.RemoteAddr, "user", u.Name)
	}
	s.setCookie(w, r, ss)
	writeJSON(w, http.StatusOK, sessionBody{User: ss.user, Role: ss.role.String(), CSRF: ss.csrf, Open: s.open()})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(cookieName)
	if err == nil {
		ss := s.sessions.get(ck.Value)
		if ss != nil && !ss.csrfOK(r.Header.Get("X-CSRF-Token")) {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token", "")
			return
		}
		s.sessions.end(ck.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	ss := c.session
	if ss == nil {
		// Digest, or an open camera without a cookie yet: a session
		// gives the page its CSRF token.
		ss = s.sessions.create(c.user, c.role)
		s.setCookie(w, r, ss)
	}
	writeJSON(w, http.StatusOK, sessionBody{User: ss.user, Role: ss.role.String(), CSRF: ss.csrf, Open: s.open()})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Camera.Status())
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Camera.Settings())
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request) {
	var p SettingsPatch
	if !readJSON(w, r, &p) {
		return
	}
	next, err := p.apply(s.cfg.Camera.Settings())
	if err == nil {
		err = s.cfg.Camera.ApplySettings(next)
	}
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Error(), fe.Field)
		return
	case err != nil:
		s.log.Error("web: applying settings", "err", err)
		writeError(w, http.StatusInternalServerError, "applying the settings: "+err.Error(), "")
		return
	}
	s.log.Info("web: settings changed", "user", callerOf(r).user)
	writeJSON(w, http.StatusOK, s.cfg.Camera.Settings())
}

// minClock is the earliest time SetTime accepts.
var minClock = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *Server) setTime(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UTC string `json:"utc"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	t, err := time.Parse(time.RFC3339, body.UTC)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("utc: %q is not an RFC 3339 time such as 2026-11-25T21:00:00Z", body.UTC), "utc")
		return
	}
	if t.Before(minClock) {
		writeError(w, http.StatusBadRequest, "utc: "+body.UTC+" is before 2020", "utc")
		return
	}
	if err := s.cfg.Camera.SetTime(t); err != nil {
		writeError(w, http.StatusInternalServerError, "setting the clock: "+err.Error(), "")
		return
	}
	s.log.Info("web: clock set", "user", callerOf(r).user, "utc", t.UTC())
	w.WriteHeader(http.StatusNoContent)
}

// userBody is the JSON of a user.
type userBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (s *Server) accounts(w http.ResponseWriter) Accounts {
	if s.cfg.Accounts == nil {
		writeError(w, http.StatusNotFound, "users are not managed here", "")
	}
	return s.cfg.Accounts
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	a := s.accounts(w)
	if a == nil {
		return
	}
	out := []userBody{}
	for _, u := range a.Users() {
		out = append(out, userBody{Name: u.Name, Role: u.Role.String()})
	}
	writeJSON(w, http.StatusOK, out)
}

func parseRole(s string) (auth.Role, error) {
	r, err := auth.ParseRole(s)
	if err != nil {
		return 0, &FieldError{Field: "role", Msg: fmt.Sprintf("%q is not viewer or admin", s)}
	}
	return r, nil
}

// MinPasswordLength is the shortest password the page accepts.
const MinPasswordLength = 8

func checkPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return &FieldError{Field: "password", Msg: fmt.Sprintf("a password needs at least %d characters, not %d", MinPasswordLength, n)}
	}
	return nil
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request) {
	a := s.accounts(w)
	if a == nil {
		return
	}
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	role, err := parseRole(body.Role)
	if err == nil {
		err = checkPassword(body.Password)
	}
	if err == nil {
		err = a.AddUser(body.Name, body.Password, role)
	}
	if s.userError(w, err, body.Name) {
		return
	}
	s.log.Info("web: user added", "by", callerOf(r).user, "user", body.Name, "role", role)
	writeJSON(w, http.StatusCreated, userBody{Name: body.Name, Role: role.String()})
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	a := s.accounts(w)
	if a == nil {
		return
	}
	name := r.PathValue("name")
	var body struct {
		Password string  `json:"password"`
		Role     *string `json:"role"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	var role *auth.Role
	var err error
	if body.Role != nil {
		var x auth.Role
		x, err = parseRole(*body.Role)
		role = &x
	}
	if err == nil && body.Password != "" {
		err = checkPassword(body.Password)
	}
	if err == nil && body.Password == "" && role == nil {
		err = &FieldError{Field: "password", Msg: "give a new password, a new role or both"}
	}
	if err == nil {
		err = a.UpdateUser(name, body.Password, role)
	}
	if s.userError(w, err, name) {
		return
	}
	s.sessions.endUser(name)
	s.log.Info("web: user changed", "by", callerOf(r).user, "user", name)
	for _, u := range a.Users() {
		if u.Name == name {
			writeJSON(w, http.StatusOK, userBody{Name: u.Name, Role: u.Role.String()})
			return
		}
	}
	writeError(w, http.StatusNotFound, "no user "+strconv.Quote(name), "")
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	a := s.accounts(w)
	if a == nil {
		return
	}
	name := r.PathValue("name")
	if s.userError(w, a.DeleteUser(name), name) {
		return
	}
	s.sessions.endUser(name)
	s.log.Info("web: user removed", "by", callerOf(r).user, "user", name)
	w.WriteHeader(http.StatusNoContent)
}

// userError answers an Accounts error and reports whether there was one.
func (s *Server) userError(w http.ResponseWriter, err error, name string) bool {
	var fe *FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Error(), fe.Field)
	case errors.Is(err, ErrUserExists):
		writeError(w, http.StatusConflict, "a user named "+strconv.Quote(name)+" exists", "name")
	case errors.Is(err, ErrNoUser):
		writeError(w, http.StatusNotFound, "no user "+strconv.Quote(name), "")
	case errors.Is(err, ErrLastAdmin):
		writeError(w, http.StatusConflict, ErrLastAdmin.Error(), "role")
	default:
		s.log.Error("web: changing users", "err", err)
		writeError(w, http.StatusInternalServerError, "changing users: "+err.Error(), "")
	}
	return true
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) {
	b, err := s.cfg.Camera.JPEG(nil, 0)
	if err != nil {
		noPicture(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func noPicture(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "no picture: "+err.Error(), "")
}

// live serves JPEG pictures as multipart/x-mixed-replace until the client
// goes away: what browsers show as a moving image in an <img>.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	select {
	case s.mjpeg <- struct{}{}:
		defer func() { <-s.mjpeg }()
	default:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d live views are being served already; use the snapshot", maxLiveViews), "")
		return
	}
	buf, err := s.cfg.Camera.JPEG(nil, s.cfg.MJPEGWidth)
	if err != nil {
		noPicture(w, err)
		return
	}
	mw := multipart.NewWriter(w)
	mw.SetBoundary("frame")
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	hdr := textproto.MIMEHeader{"Content-Type": {"image/jpeg"}}
	tick := time.NewTicker(s.cfg.MJPEGInterval)
	defer tick.Stop()
	for {
		hdr.Set("Content-Length", strconv.Itoa(len(buf)))
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second)) // a stalled viewer is dropped
		part, err := mw.CreatePart(hdr)
		if err == nil {
			_, err = part.Write(buf)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if next, err := s.cfg.Camera.JPEG(buf[:0], s.cfg.MJPEGWidth); err == nil {
			buf = next
		}
	}
}

func (s *Server) reboot(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("web: restart requested", "user", callerOf(r).user)
	if err := s.cfg.Camera.Reboot(); err != nil {
		writeError(w, http.StatusInternalServerError, "restarting: "+err.Error(), "")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "restarting"})
}

func (s *Server) factoryReset(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("web: factory reset requested", "user", callerOf(r).user)
	if err := s.cfg.Camera.FactoryReset(); err != nil {
		writeError(w, http.StatusInternalServerError, "factory reset: "+err.Error(), "")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "resetting"})
}
