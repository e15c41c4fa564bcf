package auth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/headers"
)

// Defaults for the zero fields of a Config.
const (
	DefaultRealm         = "ipcamd"
	DefaultNonceLifetime = 60 * time.Second
	DefaultMaxFailures   = 10
	DefaultFailureWindow = time.Minute
)

// ErrNoCredentials is the Err of the Challenge that Check returns for a
// request without an Authorization header: the normal first request of a
// client, not a failed attempt.
var ErrNoCredentials = errors.New("no credentials")

// ErrTooManyFailures is returned by Check for a client that has used up
// its failed attempts (see Config.MaxFailures), whatever its credentials.
// The server answers it with 403 Forbidden and no WWW-Authenticate header,
// since no credentials can succeed until the failure window ends.
var ErrTooManyFailures = errors.New("auth: too many failed authentication attempts")

var (
	errBasicWithoutTLS = errors.New("refusing Basic credentials on a connection without TLS")
	errStaleNonce      = errors.New("nonce expired or not issued by this server")
)

// Role is what an authenticated user may do.
type Role int

// Roles, from least to most privileged. The zero Role is RoleViewer.
const (
	RoleViewer Role = iota // may watch streams and snapshots
	RoleAdmin              // may also change settings; includes RoleViewer
)

// ParseRole parses "viewer" or "admin", in any case.
func ParseRole(s string) (Role, error) {
	switch {
	case strings.EqualFold(s, "viewer"):
		return RoleViewer, nil
	case strings.EqualFold(s, "admin"):
		return RoleAdmin, nil
	}
	return 0, fmt.Errorf("auth: unknown role %q (want viewer or admin)", s)
}

// String returns "viewer" or "admin".
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleAdmin:
		return "admin"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Includes reports whether r grants everything want grants: RoleAdmin
// includes RoleViewer. An unknown role includes nothing and is included
// by nothing.
func (r Role) Includes(want Role) bool {
	return r.valid() && want.valid() && r >= want
}

func (r Role) valid() bool { return r == RoleViewer || r == RoleAdmin }

// MarshalText returns the String of a known role.
func (r Role) MarshalText() ([]byte, error) {
	if !r.valid() {
		return nil, fmt.Errorf("auth: unknown role %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses a role as ParseRole does, so that a Role can be
// read from a configuration file.
func (r *Role) UnmarshalText(text []byte) error {
	role, err := ParseRole(string(text))
	if err != nil {
		return err
	}
	*r = role
	return nil
}

// User is an account of the server.
type User struct {
	// Name is the user name: non-empty UTF-8 without control characters,
	// colons, double quotes or backslashes.
	Name string
	// Hash is the encoded password hash that HashPassword returns for the
	// Name, the realm and the password. Plain-text passwords are not
	// accepted.
	Hash string
	// Role is what the user may do.
	Role Role
}

// Config configures a Verifier. Zero fields take the defaults above.
type Config struct {
	// Realm is the protection space presented to clients; the Digest
	// hashes of Users are bound to it. The default is DefaultRealm.
	Realm string
	// Users are the accounts. With none, the server is open: see
	// Verifier.Open.
	Users []User
	// AllowBasicWithoutTLS offers and accepts Basic credentials on
	// connections without TLS, where they travel in clear text. Without
	// it, Basic is offered and accepted only over TLS.
	AllowBasicWithoutTLS bool
	// NonceLifetime is how long a Digest nonce stays valid. A request with
	// a correct response and an older nonce gets a new challenge with
	// stale=true, which clients answer without asking for the password
	// again. The default is DefaultNonceLifetime.
	NonceLifetime time.Duration
	// MaxFailures is how many failed attempts a client may make in
	// FailureWindow; further requests get ErrTooManyFailures until the
	// window, which starts at the client's first failure, ends. A client
	// is an IPv4 address or an IPv6 /64. Requests without credentials and
	// Digest responses with a stale nonce are not failures. The default is
	// DefaultMaxFailures; a negative value disables the limit.
	MaxFailures int
	// FailureWindow is the window of MaxFailures. The default is
	// DefaultFailureWindow.
	FailureWindow time.Duration
}

// A Verifier, made by New, checks the credentials of RTSP requests (or
// HTTP requests, which use the same schemes) against a fixed set of users.
// It supports
// Digest authentication (RFC 7616) with the algorithms MD5 and SHA-256,
// with qop=auth or without qop (RFC 2069, as live555, GStreamer and
// gortsplib send it), and Basic authentication (RFC 7617).
//
// Nonces are stateless and carry their issue time under a MAC (see
// Config.NonceLifetime). Within its lifetime a nonce may be reused, as
// clients do for every request of a session; nonce counts are not tracked,
// so an eavesdropper can replay a captured request with the same method
// and URI until the nonce expires. Use TLS where that matters.
//
// A Verifier is safe for concurrent use. Its secrets are random and live
// only in memory, so nonces do not survive a restart: clients then get a
// challenge with stale=true and retry.
type Verifier struct {
	realm                string
	users                atomic.Pointer[map[string]*account] // replaced whole by SetUsers
	allowBasicWithoutTLS bool
	nonceLifetime        time.Duration
	limiter              *limiter // nil without a limit

	nonceKey [32]byte  // MAC key for nonces
	cacheKey [32]byte  // MAC key for basicOK
	epoch    time.Time // with a monotonic clock reading
	dummy    Hash      // verified against for unknown users, to take as long

	// Test hooks.
	now       func() time.Time
	testNonce string // when set, the only nonce issued, and always fresh

	mu sync.Mutex
	// basicOK holds, per user name, the MAC of the last password that
	// passed PBKDF2, so that the Basic credentials clients send with every
	// request cost one HMAC instead of a PBKDF2 each.
	basicOK map[string][sha256.Size]byte
}

type account struct {
	user User
	hash Hash
}

// authenticated returns the copy of the user that Check returns, without
// the hash, which must not end up in logs.
func (a *account) authenticated() *User {
	u := a.user
	u.Hash = ""
	return &u
}

// New returns a Verifier for cfg. It fails if a user has an invalid name,
// a duplicate name, an unknown role or a malformed hash, or if the realm
// or a duration is invalid.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{
		realm:                cfg.Realm,
		allowBasicWithoutTLS: cfg.AllowBasicWithoutTLS,
		nonceLifetime:        cfg.NonceLifetime,
		epoch:                time.Now(),
		now:                  time.Now,
		basicOK:              make(map[string][sha256.Size]byte),
	}
	if v.realm == "" {
		v.realm = DefaultRealm
	}
	if err := checkRealm(v.realm); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	switch {
	case v.nonceLifetime < 0:
		return nil, fmt.Errorf("auth: negative nonce lifetime %v", v.nonceLifetime)
	case v.nonceLifetime == 0:
		v.nonceLifetime = DefaultNonceLifetime
	}
	window := cfg.FailureWindow
	switch {
	case window < 0:
		return nil, fmt.Errorf("auth: negative failure window %v", window)
	case window == 0:
		window = DefaultFailureWindow
	}
	switch {
	case cfg.MaxFailures == 0:
		v.limiter = newLimiter(DefaultMaxFailures, window)
	case cfg.MaxFailures > 0:
		v.limiter = newLimiter(cfg.MaxFailures, window)
	}
	users, err := accounts(cfg.Users)
	if err != nil {
		return nil, err
	}
	v.users.Store(&users)
	rand.Read(v.nonceKey[:])
	rand.Read(v.cacheKey[:])
	v.dummy = Hash{Iterations: DefaultIterations, Salt: make([]byte, saltLen), Key: make([]byte, keyLen)}
	if len(cfg.Users) > 0 {
		v.dummy.Iterations = users[cfg.Users[0].Name].hash.Iterations
	}
	rand.Read(v.dummy.Salt)
	rand.Read(v.dummy.Key)
	rand.Read(v.dummy.MD5[:])
	rand.Read(v.dummy.SHA256[:])
	return v, nil
}

// accounts checks users and returns them by name.
func accounts(users []User) (map[string]*account, error) {
	m := make(map[string]*account, len(users))
	for i, u := range users {
		if err := checkUserName(u.Name); err != nil {
			return nil, fmt.Errorf("auth: user %d: %w", i+1, err)
		}
		if m[u.Name] != nil {
			return nil, fmt.Errorf("auth: duplicate user %q", u.Name)
		}
		if !u.Role.valid() {
			return nil, fmt.Errorf("auth: user %q: unknown role %d", u.Name, int(u.Role))
		}
		h, err := parseHash(u.Hash)
		if err != nil {
			return nil, fmt.Errorf("auth: user %q: malformed password hash: %w", u.Name, err)
		}
		m[u.Name] = &account{user: u, hash: h}
	}
	return m, nil
}

// SetUsers replaces the accounts, checked as New checks them, for every
// request from now on; on error nothing changes. The limit on failed
// attempts carries over. An empty list makes v Open.
func (v *Verifier) SetUsers(users []User) error {
	m, err := accounts(users)
	if err != nil {
		return err
	}
	v.users.Store(&m)
	v.mu.Lock()
	clear(v.basicOK) // a changed password must not pass from the cache
	v.mu.Unlock()
	return nil
}

// Users returns the accounts' names and roles, sorted by name, without
// their hashes.
func (v *Verifier) Users() []User {
	m := *v.users.Load()
	out := make([]User, 0, len(m))
	for _, a := range m {
		out = append(out, *a.authenticated())
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Open reports whether v has no users, in which case Check allows every
// request.
func (v *Verifier) Open() bool {
	return len(*v.users.Load()) == 0
}

// CheckPassword verifies a user name and password given directly, as in a
// login form, from the client at remote. Failures count towards the same
// limit as those of Check, so a client cannot guess by switching between
// the login form and RTSP. It returns a copy of the user without its
// hash, an error that says the name or password is wrong (without telling
// which), or ErrTooManyFailures. An Open Verifier returns nil and no error.
func (v *Verifier) CheckPassword(name, password string, remote netip.Addr) (*User, error) {
	if v.Open() {
		return nil, nil
	}
	now := v.now()
	if v.limiter != nil && v.limiter.blocked(remote, now) {
		return nil, ErrTooManyFailures
	}
	acct, err := v.checkBasic(name, password)
	if err != nil {
		if v.limiter != nil {
			v.limiter.fail(remote, now)
		}
		return nil, ErrWrongPassword
	}
	return acct.authenticated(), nil
}

// ErrWrongPassword is CheckPassword's answer to an unknown user or a wrong
// password.
var ErrWrongPassword = errors.New("auth: wrong user name or password")

// Challenge is the error Check returns when a request must be answered
// with 401 Unauthorized.
type Challenge struct {
	// Err says why the request was refused, for the server's log; it is
	// ErrNoCredentials for a request without credentials. It may name the
	// user and tell an unknown user from a wrong password, so it must not
	// be sent to the client.
	Err error
	// Stale reports that the Digest response was correct but its nonce
	// had expired, or was not issued by this Verifier (for instance before
	// a restart). The challenges then carry stale=true.
	Stale bool
	// WWWAuthenticate holds the values of the WWW-Authenticate headers to
	// send, one header each, in this order: Digest with SHA-256, Digest
	// with MD5 (both with qop="auth" and the same fresh nonce), and Basic
	// when it is allowed on the connection. RFC 7616 clients and gortsplib
	// pick SHA-256; ffmpeg and live555 use the last Digest challenge,
	// MD5, and live555 requires realm and nonce to come first.
	WWWAuthenticate []string
}

// Error returns "auth: " and the text of c.Err.
func (c *Challenge) Error() string {
	if c.Err == nil {
		return "auth: authentication required"
	}
	return "auth: " + c.Err.Error()
}

// Unwrap returns c.Err.
func (c *Challenge) Unwrap() error { return c.Err }

// Check verifies the credentials of one request: method is its method,
// uri its Request-URI as sent, header its Authorization header value ("" if
// none), remote the client's address and tls whether the connection uses
// TLS. For Digest credentials the uri parameter must equal the
// Request-URI, or be the path and query of an absolute Request-URI.
//
// It returns a copy of the authenticated user, with Hash cleared; or a
// *Challenge, with the WWW-Authenticate headers of a 401 Unauthorized
// answer; or ErrTooManyFailures, answered with 403 Forbidden. An Open
// Verifier returns nil and no error for every request.
func (v *Verifier) Check(method, uri, header string, remote netip.Addr, tls bool) (*User, error) {
	if v.Open() {
		return nil, nil
	}
	now := v.now()
	if v.limiter != nil && v.limiter.blocked(remote, now) {
		return nil, ErrTooManyFailures
	}
	if header == "" {
		return nil, v.challenge(now, tls, false, ErrNoCredentials)
	}
	var a headers.Authorization
	if err := a.Unmarshal(header); err != nil {
		return nil, v.refuse(remote, now, tls, err)
	}
	if a.Scheme == headers.SchemeBasic {
		if !tls && !v.allowBasicWithoutTLS {
			// Not counted: the client may not know better.
			return nil, v.challenge(now, tls, false, errBasicWithoutTLS)
		}
		acct, err := v.checkBasic(a.User, a.Password)
		if err != nil {
			return nil, v.refuse(remote, now, tls, err)
		}
		return acct.authenticated(), nil
	}
	acct, err := v.checkDigest(method, uri, &a.Digest)
	if err != nil {
		return nil, v.refuse(remote, now, tls, err)
	}
	// The response is checked first, so that stale=true tells only a
	// client that knows the password to retry without asking for it.
	if !v.nonceFresh(a.Digest.Nonce, now) {
		return nil, v.challenge(now, tls, true, errStaleNonce)
	}
	return acct.authenticated(), nil
}

// refuse counts a failed attempt by remote and returns the challenge to
// answer it with.
func (v *Verifier) refuse(remote netip.Addr, now time.Time, tls bool, err error) *Challenge {
	if v.limiter != nil {
		v.limiter.fail(remote, now)
	}
	return v.challenge(now, tls, false, err)
}

func (v *Verifier) challenge(now time.Time, tls, stale bool, err error) *Challenge {
	nonce := v.newNonce(now)
	c := &Challenge{Err: err, Stale: stale, WWWAuthenticate: make([]string, 0, 3)}
	for _, alg := range [...]string{headers.AlgorithmSHA256, headers.AlgorithmMD5} {
		c.WWWAuthenticate = append(c.WWWAuthenticate, headers.WWWAuthenticate{
			Scheme:    headers.SchemeDigest,
			Realm:     v.realm,
			Nonce:     nonce,
			Stale:     stale,
			Algorithm: alg,
			QOP:       "auth",
		}.Marshal())
	}
	if tls || v.allowBasicWithoutTLS {
		c.WWWAuthenticate = append(c.WWWAuthenticate, headers.WWWAuthenticate{
			Scheme: headers.SchemeBasic,
			Realm:  v.realm,
		}.Marshal())
	}
	return c
}

func (v *Verifier) checkBasic(name, password string) (*account, error) {
	acct := (*v.users.Load())[name]
	if acct == nil {
		v.dummy.checkPassword(password) // take as long as for a user
		return nil, fmt.Errorf("unknown user %q", name)
	}
	m := hmac.New(sha256.New, v.cacheKey[:])
	m.Write([]byte(password))
	var mac [sha256.Size]byte
	m.Sum(mac[:0])
	v.mu.Lock()
	prev, cached := v.basicOK[name]
	v.mu.Unlock()
	if cached && hmac.Equal(mac[:], prev[:]) {
		return acct, nil
	}
	if !acct.hash.checkPassword(password) {
		return nil, fmt.Errorf("wrong password for user %q", name)
	}
	v.mu.Lock()
	v.basicOK[name] = mac
	v.mu.Unlock()
	return acct, nil
}

func (v *Verifier) checkDigest(method, uri string, d *headers.DigestParams) (*account, error) {
	var newHash func() hash.Hash
	switch {
	case d.Algorithm == "", strings.EqualFold(d.Algorithm, headers.AlgorithmMD5):
		newHash = md5.New
	case strings.EqualFold(d.Algorithm, headers.AlgorithmSHA256):
		newHash = sha256.New
	default:
		return nil, fmt.Errorf("unsupported Digest algorithm %q", d.Algorithm)
	}
	if d.QOP != "" && !strings.EqualFold(d.QOP, "auth") {
		return nil, fmt.Errorf("unsupported Digest qop %q", d.QOP)
	}
	if d.Realm != v.realm {
		return nil, fmt.Errorf("credentials for realm %q, want %q", d.Realm, v.realm)
	}
	if !uriMatches(d.URI, uri) {
		return nil, fmt.Errorf("signed URI %q is not the Request-URI %q", d.URI, uri)
	}
	acct := (*v.users.Load())[d.Username]
	h := &v.dummy // take as long for an unknown user
	if acct != nil {
		h = &acct.hash
	}
	ha1 := h.MD5[:]
	if newHash().Size() == sha256.Size {
		ha1 = h.SHA256[:]
	}
	want := digestResponse(newHash, ha1, method, d)
	got, err := hex.DecodeString(d.Response)
	match := err == nil && subtle.ConstantTimeCompare(want, got) == 1
	switch {
	case acct == nil:
		return nil, fmt.Errorf("unknown user %q", d.Username)
	case !match:
		return nil, fmt.Errorf("wrong Digest response for user %q", d.Username)
	}
	return acct, nil
}

// digestResponse computes the request digest of RFC 7616 §3.4.1 for d,
// given HA1 = H(username ":" realm ":" password):
//
//	H(hex(HA1) ":" nonce ":" nc ":" cnonce ":" qop ":" hex(HA2))  with qop
//	H(hex(HA1) ":" nonce ":" hex(HA2))                            without (RFC 2069)
//
// where HA2 = H(method ":" uri).
func digestResponse(newHash func() hash.Hash, ha1 []byte, method string, d *headers.DigestParams) []byte {
	h := newHash()
	h.Write([]byte(method + ":" + d.URI))
	ha2 := hex.EncodeToString(h.Sum(nil))
	h.Reset()
	h.Write([]byte(hex.EncodeToString(ha1) + ":" + d.Nonce + ":"))
	if d.QOP != "" {
		h.Write([]byte(d.NC + ":" + d.CNonce + ":" + d.QOP + ":"))
	}
	h.Write([]byte(ha2))
	return h.Sum(nil)
}

// uriMatches reports whether the uri parameter of Digest credentials
// designates the Request-URI request: it is equal to it, or it is the
// path and query of an absolute Request-URI, as HTTP clients send it.
func uriMatches(param, request string) bool {
	if param == request {
		return true
	}
	if !strings.HasPrefix(param, "/") {
		return false
	}
	_, rest, ok := strings.Cut(request, "://")
	if !ok {
		return false
	}
	i := strings.IndexAny(rest, "/?#") // the end of the authority
	return i >= 0 && rest[i] == '/' && rest[i:] == param
}
