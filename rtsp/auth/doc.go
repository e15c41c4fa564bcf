// Package auth authenticates the users of the RTSP server.
//
// A Verifier, made by New from a Config, checks the Authorization header of
// each request and returns the authenticated User with its Role, or a
// *Challenge carrying the WWW-Authenticate headers of a 401 Unauthorized
// answer, or ErrTooManyFailures when the client has failed too often:
//
//	u, err := v.Check(req.Method, req.URI, req.Header.Get("Authorization"), remote, isTLS)
//	var c *auth.Challenge
//	switch {
//	case errors.As(err, &c):
//		// 401 Unauthorized, one WWW-Authenticate header per c.WWWAuthenticate;
//		// log c.Err unless it is auth.ErrNoCredentials.
//	case errors.Is(err, auth.ErrTooManyFailures):
//		// 403 Forbidden.
//	case u != nil && !u.Role.Includes(auth.RoleAdmin):
//		// 403 Forbidden for an administrative request.
//	}
//
// # Schemes
//
// Digest authentication (RFC 7616) is always offered, with SHA-256 and
// MD5 and qop=auth; responses without qop (RFC 2069), as live555 (VLC),
// GStreamer and gortsplib send them, are accepted too. Basic
// authentication (RFC 7617) sends the password in clear text and is
// offered and accepted only on TLS connections unless
// Config.AllowBasicWithoutTLS is set. Clients that take credentials from
// the URL (rtsp://user:password@host/...), such as ffmpeg, GStreamer and
// gortsplib, turn them into these headers themselves.
//
// Digest nonces are stateless: they hold their issue time, under an HMAC
// with a key drawn by New, and expire after Config.NonceLifetime. A
// correct response with an expired nonce is answered with a new challenge
// marked stale=true, which clients follow without asking for the password
// again. Nonce counts are not tracked, so a request captured on the
// network can be replayed, with the same method and URI, until its nonce
// expires.
//
// # Stored passwords
//
// Users are configured with a password hash made by HashPassword (the
// "ipcamd passwd" command); plain-text passwords are not accepted. The
// encoded form is described at Hash:
//
//	ipcamd1$<iterations>$<salt>$<PBKDF2-HMAC-SHA256>$<MD5 HA1>$<SHA-256 HA1>
//
// Basic credentials are checked against the salted PBKDF2 value. Digest
// cannot use it: the server must know HA1 = H(user ":" realm ":"
// password), so the hash also holds HA1 for MD5 and SHA-256, as every
// Digest server (and camera) stores it. An HA1 value is as good as the
// password for Digest authentication in that realm, and allows fast
// offline guessing, so the configuration file holding the hashes must be
// readable only by the server. A hash is bound to the user name and the
// realm: changing either requires a new hash.
//
// # Failed attempts
//
// Each client (an IPv4 address, or an IPv6 /64) may fail
// Config.MaxFailures times within Config.FailureWindow; then every request
// from it gets ErrTooManyFailures until the window ends. The table of
// clients is bounded; when it is full the oldest entry is forgotten.
// Comparisons of secrets take constant time, and an unknown user name
// costs as much to reject as a wrong password.
package auth
