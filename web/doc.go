// Package web serves the camera's own web page and its JSON API under
// /api/v1 (docs/API.md): status, settings, users, snapshots, an MJPEG live
// view, restart and factory reset.
//
// The page is a few static files embedded with go:embed, served with a
// Content-Security-Policy that allows only the camera's own scripts,
// styles and images; nothing is loaded from the internet.
//
// Users and roles are those of RTSP and ONVIF, checked by the same
// auth.Verifier: a browser logs in with POST /api/v1/login and gets a
// session cookie (HttpOnly, SameSite=Strict); scripts use HTTP Digest. A
// failed login counts towards the verifier's limit of failures per client,
// which RTSP and ONVIF share. Every write made with the cookie needs the
// session's X-CSRF-Token header, and a write authenticated otherwise needs
// a JSON content type, which no cross-site form can send.
//
// The camera itself is behind the Camera and Accounts interfaces, which
// cmd/ipcamd implements.
package web
