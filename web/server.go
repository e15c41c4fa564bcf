package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
)

//go:embed static
var staticFiles embed.FS

// Camera is what the page shows and changes; cmd/ipcamd implements it.
// Its methods are called from any goroutine.
type Camera interface {
	// Status reports the camera's state.
	Status() Status
	// Settings returns the current settings and their options.
	Settings() Settings
	// ApplySettings makes s, already checked against the options of
	// Settings, the camera's settings: live where it can, and saved so
	// that they survive a restart.
	ApplySettings(s Settings) error
	// SetTime sets the system clock.
	SetTime(t time.Time) error
	// JPEG appends the latest picture as JPEG to dst, scaled down to at
	// most maxWidth pixels wide (0: full size). It returns ErrNoPicture
	// before the first frame or for sources without raw frames.
	JPEG(dst []byte, maxWidth int) ([]byte, error)
	// Reboot restarts the service in place; FactoryReset first empties
	// the state directory and restores the factory configuration.
	Reboot() error
	FactoryReset() error
}

// ErrNoPicture is Camera.JPEG's error when there is no picture to give.
var ErrNoPicture = errors.New("no picture yet")

// Accounts manages the users; cmd/ipcamd implements it on top of the
// auth.Verifier, which must reflect every change at once.
type Accounts interface {
	// Users lists the users without their hashes.
	Users() []auth.User
	// AddUser adds a user; UpdateUser changes the password (if not
	// empty) and the role (if not nil); DeleteUser removes one. They
	// return *FieldError for invalid input, ErrUserExists, ErrNoUser and
	// ErrLastAdmin.
	AddUser(name, password string, role auth.Role) error
	UpdateUser(name, password string, role *auth.Role) error
	DeleteUser(name string) error
}

// Errors of Accounts.
var (
	ErrUserExists = errors.New("a user of that name exists")
	ErrNoUser     = errors.New("no such user")
	ErrLastAdmin  = errors.New("the camera must keep at least one admin")
)

// Config configures a [Server].
type Config struct {
	Camera   Camera
	Accounts Accounts // nil: users cannot be managed here
	// Verifier checks credentials: the session login and the Digest or
	// Basic Authorization headers of API clients. Nil, or Open, means no
	// users: everyone is admin.
	Verifier *auth.Verifier
	// MJPEGWidth is the width of the live view's pictures (the sub
	// stream's); 0 is the full picture.
	MJPEGWidth int
	// MJPEGInterval is the time between two live view pictures; default
	// 200 ms.
	MJPEGInterval time.Duration
	// Logger receives the log; default slog.Default().
	Logger *slog.Logger
}

// Server serves the web page and the JSON API under /api/v1 (see
// docs/API.md). Create it with [New].
type Server struct {
	cfg      Config
	log      *slog.Logger
	sessions *sessions
	static   http.Handler
	mux      *http.ServeMux
	mjpeg    chan struct{} // one slot per live view being served
}

// maxBody bounds a request body.
const maxBody = 64 << 10

// maxLiveViews bounds the live views served at once.
const maxLiveViews = 4

// contentSecurityPolicy allows only the camera's own files.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MJPEGInterval <= 0 {
		cfg.MJPEGInterval = 200 * time.Millisecond
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		sessions: newSessions(),
		static:   http.FileServerFS(sub),
		mux:      http.NewServeMux(),
		mjpeg:    make(chan struct{}, maxLiveViews),
	}
	m := s.mux
	m.HandleFunc("POST /api/v1/login", s.login)
	m.HandleFunc("POST /api/v1/logout", s.logout)
	m.HandleFunc("GET /api/v1/session", s.need(auth.RoleViewer, s.getSession))
	m.HandleFunc("GET /api/v1/status", s.need(auth.RoleViewer, s.status))
	m.HandleFunc("GET /api/v1/settings", s.need(auth.RoleViewer, s.getSettings))
	m.HandleFunc("PATCH /api/v1/settings", s.need(auth.RoleAdmin, s.patchSettings))
	m.HandleFunc("POST /api/v1/time", s.need(auth.RoleAdmin, s.setTime))
	m.HandleFunc("GET /api/v1/users", s.need(auth.RoleAdmin, s.listUsers))
	m.HandleFunc("POST /api/v1/users", s.need(auth.RoleAdmin, s.addUser))
	m.HandleFunc("PATCH /api/v1/users/{name}", s.need(auth.RoleAdmin, s.updateUser))
	m.HandleFunc("DELETE /api/v1/users/{name}", s.need(auth.RoleAdmin, s.deleteUser))
	m.HandleFunc("GET /api/v1/snapshot", s.need(auth.RoleViewer, s.snapshot))
	// The same picture at the URI ONVIF's GetSnapshotUri gives out.
	m.HandleFunc("GET /snapshot.jpg", s.need(auth.RoleViewer, s.snapshot))
	m.HandleFunc("GET /api/v1/live.mjpeg", s.need(auth.RoleViewer, s.live))
	m.HandleFunc("POST /api/v1/reboot", s.need(auth.RoleAdmin, s.reboot))
	m.HandleFunc("POST /api/v1/factory-reset", s.need(auth.RoleAdmin, s.factoryReset))
	m.HandleFunc("/api/", s.noEndpoint)
	m.HandleFunc("GET /{$}", s.serveStatic)
	m.HandleFunc("GET /{file}", s.serveStatic)
	return s
}

// ServeHTTP serves the page and the API, with the security headers on
// every answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
	s.mux.ServeHTTP(w, r)
}

// EndSessions logs every browser out.
func (s *Server) EndSessions() { s.sessions.endAll() }

// EndUserSessions logs out the browsers of user, whose password or role
// changed or who was removed.
func (s *Server) EndUserSessions(user string) { s.sessions.endUser(user) }

// noEndpoint answers a request no API route takes: 405 with Allow when
// the path exists for other methods, 404 otherwise.
func (s *Server) noEndpoint(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := s.mux.Handler(probe); pat != "" && pat != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, " or "), "")
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" || r.URL.Path == "/index.html" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	s.static.ServeHTTP(w, r)
}

// open reports whether the camera has no users.
func (s *Server) open() bool {
	return s.cfg.Verifier == nil || s.cfg.Verifier.Open()
}

// caller is who made a request, and how.
type caller struct {
	user    string
	role    auth.Role
	session *session // nil unless the session cookie authenticated it
}

type callerKey struct{}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// need wraps h with authentication, the role check and, for writes, the
// CSRF check.
func (s *Server) need(role auth.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !c.role.Includes(role) {
			writeError(w, http.StatusForbidden, "this needs the "+role.String()+" role; "+c.user+" is a "+c.role.String(), "")
			return
		}
		if isWrite(r.Method) && !s.csrfOK(r, c) {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token", "")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	}
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// authenticate finds the caller: the session cookie, then an
// Authorization header, then, on an open camera, anyone. It answers 401
// or 429 itself and returns false when there is none.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	if ck, err := r.Cookie(cookieName); err == nil {
		if ss := s.sessions.get(ck.Value); ss != nil {
			return caller{user: ss.user, role: ss.role, session: ss}, true
		}
	}
	if s.open() {
		return caller{role: auth.RoleAdmin}, true
	}
	u, err := s.cfg.Verifier.Check(r.Method, r.RequestURI, r.Header.Get("Authorization"), remoteAddr(r), r.TLS != nil)
	var ch *auth.Challenge
	switch {
	case err == nil && u != nil:
		return caller{user: u.Name, role: u.Role}, true
	case errors.Is(err, auth.ErrTooManyFailures):
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "too many failed attempts from this address; try again in a minute", "")
	case errors.As(err, &ch):
		// A browser's own requests (they carry Sec-Fetch-Mode) get no
		// challenge, which would pop up the browser's login dialog over
		// the page's own.
		if r.Header.Get("Sec-Fetch-Mode") == "" {
			for _, v := range ch.WWWAuthenticate {
				w.Header().Add("WWW-Authenticate", v)
			}
		}
		writeError(w, http.StatusUnauthorized, "log in first", "")
	default:
		writeError(w, http.StatusUnauthorized, "log in first", "")
	}
	return caller{}, false
}

// csrfOK checks a write: with the session cookie it needs the session's
// X-CSRF-Token; otherwise a JSON content type, which no cross-site form
// can send; and never an Origin other than the camera's own.
func (s *Server) csrfOK(r *http.Request, c caller) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	if c.session != nil {
		return c.session.csrfOK(r.Header.Get("X-CSRF-Token"))
	}
	if _, err := r.Cookie(cookieName); err == nil && r.Header.Get("Authorization") == "" {
		// A stale cookie on an open camera: still a browser.
		return false
	}
	return isJSON(r)
}

func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg, field string) {
	writeJSON(w, code, errorBody{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// readJSON decodes the request body into v, strictly. It answers the
// error itself and returns false on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if !isJSON(r) {
		writeError(w, http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)", "")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than 64 KB", "")
	case errors.As(err, &typeErr):
		writeError(w, http.StatusBadRequest, typeErr.Field+": must be a "+typeErr.Type.String()+", not a "+typeErr.Value, typeErr.Field)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "the body is empty", "")
	default:
		writeError(w, http.StatusBadRequest, "bad JSON body: "+strings.TrimPrefix(err.Error(), "json: "), "")
	}
	return false
}
