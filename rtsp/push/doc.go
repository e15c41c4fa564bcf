// Package push publishes an H.264 stream to upstream RTSP servers (relays
// such as mediamtx, gortsplib servers or gst-rtsp-server in RECORD mode)
// with ANNOUNCE and RECORD, RFC 2326 §10.3 and §10.11.
//
// # Session
//
// One [Client] serves one relay URL. It connects over TCP, sends OPTIONS,
// ANNOUNCE with an SDP built from the stream's SPS and PPS
// (packetization-mode=1, profile-level-id and sprop-parameter-sets, media
// control "trackID=0"), SETUP with
// "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record" and RECORD, then sends
// RTP on interleaved channel 0 and RTCP sender reports every five seconds
// on channel 1. With Options.UDP the SETUP asks for
// "RTP/AVP;unicast;client_port=N-N+1;mode=record" instead, and RTP and
// RTCP go as datagrams from that even/odd port pair to the server_port
// pair the relay answers with. It keeps the session alive with GET_PARAMETER (or OPTIONS
// when the relay's Public header lacks GET_PARAMETER) at half the session
// timeout the relay announced, and ends with TEARDOWN when its context
// ends.
//
// An rtsps:// URL puts the RTSP connection, and so the interleaved media,
// inside TLS. The relay's certificate is verified against the system's
// roots for the URL's host, or, with Options.TLSFingerprint, only matched
// against that SHA-256 pin (for self-signed relays). UDP media is refused
// with rtsps, since it would travel in clear.
//
// A 401 answer is retried once with credentials from the URL's userinfo:
// Digest (SHA-256 or MD5, with qop=auth or in the RFC 2069 form without
// qop) when the relay offers it, otherwise Basic.
//
// # Data path
//
// The client reads access units from the camera's ring.Ring with a reader
// of its own and packetizes them itself with rtsp/rtph264: one extra
// packetization per relay, which is cheap for the handful of relays a
// camera has, and it keeps the package independent of the RTSP server's
// internals. A reader starts on the newest IDR in the ring, so every
// session begins with a picture a decoder can start on, with the SPS and
// PPS in front of it.
//
// The ring never waits for its readers, and the client never waits for
// the relay while it reads: packetized frames go through a bounded queue
// (Options.QueueFrames and Options.QueueBytes) to the goroutine that
// writes to the socket. When the queue is full the client drops whole
// frames until the next IDR, so the relay never gets a partial picture,
// and counts them. A write that stalls for Options.WriteTimeout ends the
// session.
//
// # Failures
//
// After any failure (refused connection, error status, relay gone, stalled
// write, parameter sets changed) the client waits with exponential backoff
// from Options.MinBackoff to Options.MaxBackoff and starts a new session,
// again on an IDR. [Client.Status] reports the state, the last error and
// the counters.
package push
