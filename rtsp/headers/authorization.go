package headers

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Authentication schemes, as Authorization.Scheme and
// WWWAuthenticate.Scheme hold them.
const (
	SchemeBasic  = "Basic"  // RFC 7617
	SchemeDigest = "Digest" // RFC 7616, RFC 2617 and RFC 2069
)

// Digest algorithms, as DigestParams.Algorithm and WWWAuthenticate.Algorithm
// hold them when a peer spells them canonically. The parameter is
// case-insensitive and an absent one means MD5.
const (
	AlgorithmMD5    = "MD5"
	AlgorithmSHA256 = "SHA-256"
)

// ErrUnsupportedScheme is wrapped by the errors Authorization.Unmarshal and
// WWWAuthenticate.Unmarshal return for an authentication scheme other than
// Basic or Digest, such as Bearer.
var ErrUnsupportedScheme = errors.New("unsupported authentication scheme")

// DigestParams are the parameters of Digest credentials (RFC 7616 §3.4).
// Values are stored as sent, without quotes; a server computes the expected
// response from them exactly as they are.
type DigestParams struct {
	Username string // "username"
	Realm    string // "realm"
	Nonce    string // "nonce", echoed from the challenge
	URI      string // "uri", the request URI the client signed
	Response string // "response", the request digest in hex

	// Algorithm is the "algorithm" parameter, such as "MD5" or "SHA-256",
	// or "" when absent, which means MD5.
	Algorithm string
	// QOP is the "qop" parameter, "auth" for RFC 2617 and RFC 7616
	// clients, or "" when absent: RFC 2069 clients such as live555,
	// GStreamer and gortsplib send neither qop nor nc and cnonce.
	QOP string
	// NC is the "nc" parameter, the nonce count as 8 hex digits.
	NC string
	// CNonce is the "cnonce" parameter, the client nonce.
	CNonce string
	// Opaque is the "opaque" parameter, echoed from the challenge.
	Opaque string
}

// Authorization is the value of an Authorization header (RFC 2326 §12.5,
// RFC 7235 §4.2) carrying Basic or Digest credentials.
type Authorization struct {
	// Scheme is SchemeBasic or SchemeDigest.
	Scheme string
	// User and Password are the Basic credentials. User cannot contain a
	// colon.
	User, Password string
	// Digest holds the Digest credentials.
	Digest DigestParams
}

// Unmarshal parses an Authorization header value such as
// "Basic dXNlcjpwYXNz" or `Digest username="u", realm="r", nonce="n",
// uri="rtsp://h/s", response="..."`. The scheme is case-insensitive and
// stored canonically. Digest parameters may appear in any order, quoted or
// not, with whitespace around "=" and ","; unknown parameters are ignored,
// and a known parameter may appear only once. Digest credentials need
// username, realm, nonce, uri and response, plus nc and cnonce when qop is
// present. Errors do not quote the value, as it holds credentials. On error
// a is left unchanged.
func (a *Authorization) Unmarshal(v string) error {
	auth, err := parseAuthorization(v)
	if err != nil {
		return fmt.Errorf("rtsp: malformed Authorization header: %w", err)
	}
	*a = auth
	return nil
}

func parseAuthorization(v string) (Authorization, error) {
	var a Authorization
	scheme, rest, err := cutScheme(v)
	if err != nil {
		return a, err
	}
	a.Scheme = scheme
	if scheme == SchemeBasic {
		a.User, a.Password, err = parseBasic(rest)
		return a, err
	}
	params, err := parseAuthParams(rest)
	if err != nil {
		return a, err
	}
	d := &a.Digest
	fields := []struct {
		name     string
		dst      *string
		required bool
	}{
		{"username", &d.Username, true},
		{"realm", &d.Realm, true},
		{"nonce", &d.Nonce, true},
		{"uri", &d.URI, true},
		{"response", &d.Response, true},
		{"algorithm", &d.Algorithm, false},
		{"qop", &d.QOP, false},
		{"nc", &d.NC, false},
		{"cnonce", &d.CNonce, false},
		{"opaque", &d.Opaque, false},
	}
	seen := make([]bool, len(fields))
	for _, p := range params {
		for i, f := range fields {
			if p.key != f.name {
				continue
			}
			if seen[i] {
				return a, fmt.Errorf("duplicate %s parameter", f.name)
			}
			seen[i] = true
			*f.dst = p.value
		}
	}
	for i, f := range fields {
		if f.required && !seen[i] {
			return a, fmt.Errorf("missing %s parameter", f.name)
		}
	}
	if d.QOP != "" && (d.NC == "" || d.CNonce == "") {
		return a, errors.New("qop without nc and cnonce")
	}
	return a, nil
}

// parseBasic decodes the token68 of Basic credentials (RFC 7617 §2).
// Padding may be omitted.
func parseBasic(s string) (user, password string, err error) {
	if s == "" {
		return "", "", errors.New("missing Basic credentials")
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return "", "", errors.New("Basic credentials are not valid base64")
	}
	user, password, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", "", errors.New("Basic credentials lack a colon")
	}
	return user, password, nil
}

// Marshal formats a as an Authorization header value. Basic credentials are
// formatted as "Basic " and the base64 of User, a colon and Password.
// Digest parameters appear in the order username, realm, nonce, uri,
// response, algorithm, qop, nc, cnonce, opaque; the optional ones only when
// set. Quoted-string values are quoted, with '"' and '\' escaped; token
// values (algorithm, qop, nc) are quoted only when they are not tokens.
// Marshal does not validate the fields and formats any Scheme other than
// SchemeBasic as Digest.
func (a Authorization) Marshal() string {
	if a.Scheme == SchemeBasic {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password))
	}
	d := a.Digest
	b := make([]byte, 0, 256)
	b = append(b, "Digest "...)
	b = appendQuoted(b, "username", d.Username)
	b = appendQuoted(b, ", realm", d.Realm)
	b = appendQuoted(b, ", nonce", d.Nonce)
	b = appendQuoted(b, ", uri", d.URI)
	b = appendQuoted(b, ", response", d.Response)
	if d.Algorithm != "" {
		b = appendToken(b, ", algorithm", d.Algorithm)
	}
	if d.QOP != "" {
		b = appendToken(b, ", qop", d.QOP)
	}
	if d.NC != "" {
		b = appendToken(b, ", nc", d.NC)
	}
	if d.CNonce != "" {
		b = appendQuoted(b, ", cnonce", d.CNonce)
	}
	if d.Opaque != "" {
		b = appendQuoted(b, ", opaque", d.Opaque)
	}
	return string(b)
}

// WWWAuthenticate is the value of one WWW-Authenticate header (RFC 2326
// §12.44, RFC 7235 §4.1): a single Basic or Digest challenge. A server that
// offers several schemes or algorithms sends one header for each.
type WWWAuthenticate struct {
	// Scheme is SchemeBasic or SchemeDigest.
	Scheme string
	// Realm is the "realm" parameter.
	Realm string

	// The remaining fields are Digest parameters, ignored for Basic.

	// Nonce is the "nonce" parameter.
	Nonce string
	// Opaque is the "opaque" parameter, or "" when absent.
	Opaque string
	// Stale is the "stale" parameter: the credentials were valid but the
	// nonce had expired, so the client should retry with the new nonce
	// without asking the user for a password.
	Stale bool
	// Algorithm is the "algorithm" parameter, or "" when absent, which
	// means MD5.
	Algorithm string
	// QOP is the "qop" parameter, the quality-of-protection options such
	// as "auth" or "auth, auth-int" as sent, or "" when absent.
	QOP string
}

// Unmarshal parses a WWW-Authenticate header value holding one challenge,
// such as `Basic realm="ipcamd"` or `Digest realm="ipcamd",
// nonce="...", algorithm=MD5, qop="auth"`. The scheme is case-insensitive
// and stored canonically; parameters follow the rules of
// Authorization.Unmarshal. A Digest challenge needs a nonce; stale is true
// only when its value is "true" in any case. A header value holding more
// than one challenge is rejected. On error w is left unchanged.
func (w *WWWAuthenticate) Unmarshal(v string) error {
	c, err := parseWWWAuthenticate(v)
	if err != nil {
		return fmt.Errorf("rtsp: malformed WWW-Authenticate header %q: %w", clip(v), err)
	}
	*w = c
	return nil
}

func parseWWWAuthenticate(v string) (WWWAuthenticate, error) {
	var w WWWAuthenticate
	scheme, rest, err := cutScheme(v)
	if err != nil {
		return w, err
	}
	w.Scheme = scheme
	params, err := parseAuthParams(rest)
	if err != nil {
		return w, err
	}
	var stale string
	fields := []struct {
		name string
		dst  *string
	}{
		{"realm", &w.Realm},
		{"nonce", &w.Nonce},
		{"opaque", &w.Opaque},
		{"stale", &stale},
		{"algorithm", &w.Algorithm},
		{"qop", &w.QOP},
	}
	seen := make([]bool, len(fields))
	for _, p := range params {
		for i, f := range fields {
			if p.key != f.name {
				continue
			}
			if seen[i] {
				return w, fmt.Errorf("duplicate %s parameter", f.name)
			}
			seen[i] = true
			*f.dst = p.value
		}
	}
	if scheme == SchemeBasic {
		return WWWAuthenticate{Scheme: scheme, Realm: w.Realm}, nil
	}
	if !seen[1] { // nonce
		return w, errors.New("missing nonce parameter")
	}
	w.Stale = strings.EqualFold(stale, "true")
	return w, nil
}

// Marshal formats w as a WWW-Authenticate header value, such as
// `Basic realm="ipcamd"` or `Digest realm="ipcamd", nonce="...",
// algorithm=MD5, qop="auth"`. Digest parameters appear in the order realm,
// nonce, stale, opaque, algorithm, qop, the optional ones only when set:
// live555-based clients such as VLC parse the challenge with a fixed
// pattern that wants realm, nonce and stale first. Marshal does not
// validate the fields and formats any Scheme other than SchemeBasic as
// Digest.
func (w WWWAuthenticate) Marshal() string {
	if w.Scheme == SchemeBasic {
		return string(appendQuoted([]byte("Basic "), "realm", w.Realm))
	}
	b := make([]byte, 0, 160)
	b = append(b, "Digest "...)
	b = appendQuoted(b, "realm", w.Realm)
	b = appendQuoted(b, ", nonce", w.Nonce)
	if w.Stale {
		b = append(b, ", stale=true"...)
	}
	if w.Opaque != "" {
		b = appendQuoted(b, ", opaque", w.Opaque)
	}
	if w.Algorithm != "" {
		b = appendToken(b, ", algorithm", w.Algorithm)
	}
	if w.QOP != "" {
		b = appendQuoted(b, ", qop", w.QOP)
	}
	return string(b)
}

// cutScheme splits a credentials or challenge value into its canonical
// scheme and the rest, with surrounding whitespace removed. It rejects
// control characters anywhere in v: they cannot occur in a header value.
func cutScheme(v string) (scheme, rest string, err error) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return "", "", errors.New("control character")
		}
	}
	v = trimOWS(v)
	scheme, rest = v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		scheme, rest = v[:i], trimOWS(v[i:])
	}
	switch {
	case scheme == "":
		return "", "", errors.New("missing authentication scheme")
	case strings.EqualFold(scheme, SchemeBasic):
		return SchemeBasic, rest, nil
	case strings.EqualFold(scheme, SchemeDigest):
		return SchemeDigest, rest, nil
	case !isToken(scheme):
		return "", "", errors.New("invalid authentication scheme")
	}
	return "", "", fmt.Errorf("%w %q", ErrUnsupportedScheme, scheme)
}

// authParam is one auth-param (RFC 7235 §2.1) with its name lower-cased
// and its value unquoted.
type authParam struct {
	key, value string
}

// parseAuthParams parses a comma-separated list of auth-params: name=token
// or name="quoted-string", with optional whitespace around "=" and ",".
// Empty list elements are skipped. A quoted-string may contain quoted
// pairs such as \"; an unquoted value runs to the next comma and may not
// be empty or contain '"'.
func parseAuthParams(s string) ([]authParam, error) {
	var params []authParam
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			return params, nil
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		key := s[start:i]
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if key == "" || i == len(s) || s[i] != '=' {
			if key == "" {
				return nil, errors.New("missing parameter name")
			}
			return nil, fmt.Errorf("parameter %q lacks a value", clip(key))
		}
		i++ // '='
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var value string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			for {
				if i == len(s) {
					return nil, fmt.Errorf("unterminated quoted string in parameter %q", clip(key))
				}
				c := s[i]
				i++
				if c == '"' {
					break
				}
				if c == '\\' && i < len(s) {
					c = s[i]
					i++
				}
				b.WriteByte(c)
			}
			value = b.String()
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i < len(s) && s[i] != ',' {
				return nil, fmt.Errorf("text after quoted value of parameter %q", clip(key))
			}
		} else {
			end := strings.IndexByte(s[i:], ',')
			if end < 0 {
				end = len(s) - i
			}
			value = trimOWS(s[i : i+end])
			i += end
			if value == "" {
				return nil, fmt.Errorf("parameter %q lacks a value", clip(key))
			}
			if strings.IndexByte(value, '"') >= 0 {
				return nil, fmt.Errorf("misplaced double quote in parameter %q", clip(key))
			}
		}
		params = append(params, authParam{strings.ToLower(key), value})
	}
}

// appendQuoted appends key, "=" and v as a quoted-string.
func appendQuoted(b []byte, key, v string) []byte {
	b = append(b, key...)
	b = append(b, '=', '"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, v[i])
	}
	return append(b, '"')
}

// appendToken appends key, "=" and v, quoting v only if it is not a token.
func appendToken(b []byte, key, v string) []byte {
	if !isToken(v) {
		return appendQuoted(b, key, v)
	}
	b = append(b, key...)
	b = append(b, '=')
	return append(b, v...)
}

// isToken reports whether s is a non-empty token (RFC 7230 §3.2.6).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// trimOWS removes leading and trailing spaces and tabs.
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
