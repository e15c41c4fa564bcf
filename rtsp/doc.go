// Package rtsp is ipcamd's RTSP 1.0 server (RFC 2326, with the RFC 7826
// behaviour clients rely on) for live H.264 over RTP (RFC 6184).
//
// # Data path
//
// A [Stream] reads access units from a ring.Ring with one reader, puts the
// SPS and PPS in front of every IDR that lacks them, and packetizes each
// access unit once (single NAL units, STAP-A, FU-A). The packets of one
// access unit form a reference-counted frame that every playing client
// shares: nothing is copied per client. A TCP client gets its frames in one
// vectored write (net.Buffers) with the 4-byte interleaved headers beside
// the packets; a UDP client gets one datagram per packet from the server's
// RTP port.
//
// # Joining and slow clients
//
// A new client starts on an IDR, so its decoder shows a picture at once.
// Where the IDR comes from depends on the source:
//
//   - A source that can make an IDR on request (StreamOptions.RequestIDR,
//     such as the software encoder) is asked for one when the current GOP
//     is older than [JoinReplayLimit], and the client starts on it: at the
//     live edge, within about a frame.
//   - Otherwise, or when the GOP is younger than that, the stream replays
//     the frames of the current GOP from its IDR on (bounded by
//     StreamOptions.MaxGOPBytes). RTP-Info names the first packet of that
//     IDR. The client starts up to one GOP behind live, which players
//     absorb in their jitter buffer.
//
// A UDP or multicast client is sent the frames it starts behind at
// [CatchUpSpeed] times real time, frame by frame on their own timeline,
// until it reaches the live edge; sent at once, a replayed GOP would
// overflow the receiver's socket buffer (UDP has no flow control), and its
// first GOP would be broken. TCP's flow control paces TCP clients.
//
// Every client has its own bounded backlog (Options.ClientBacklog) and its
// own sender goroutine. The stream never waits for a client: when a
// backlog is full, that client drops whole frames until the next IDR, so
// its decoder never gets a partial frame, and the drop is counted. A client
// whose oldest unsent frame is older than Options.EvictAfter, or whose TCP
// write stalls for Options.WriteTimeout, is closed.
//
// # Transports and access
//
// Besides UDP unicast and TCP interleaved, the server sends UDP multicast
// (IPv4, Linux): each stream gets a group from Options.MulticastPrefix and
// one sender, started with its first multicast player and stopped with the
// last, whatever the number of clients. It speaks RTSP over TLS
// (rtsps://, any crypto/tls listener passed to Serve) and RTSP tunnelled
// over HTTP (the QuickTime GET/POST scheme, told apart from RTSP by its
// first bytes, and also mountable on an HTTP server through
// HTTPTunnelHandler).
//
// Over TLS, DESCRIBE offers the media as RTP/SAVP: SRTP (RFC 3711,
// AES_CM_128_HMAC_SHA1_80) keyed with MIKEY (RFC 3830, package rtsp/mikey)
// in the SDP a=key-mgmt attribute and the KeyMgmt header of RFC 4567, as
// gortsplib and GStreamer speak it. A client may set up RTP/SAVP over UDP
// or TCP, or plain RTP/AVP over TCP inside the TLS connection (as ffmpeg
// does). Each stream has one SRTP key, announced to all its clients: the
// stream encrypts each packet once for all of them, and only while it has
// SRTP clients. Sender reports go out as SRTCP, and a client's SRTCP
// receiver reports are decrypted with the key of its SETUP request's
// KeyMgmt header. RTP/SAVP is refused (461) on plain RTSP, where the key
// would travel in clear, and for multicast; plain RTP over UDP is refused
// under TLS, where the client expects the video encrypted.
//
// With Options.Auth set, every request but OPTIONS needs Digest (SHA-256
// or MD5) or, over TLS, Basic credentials; see package rtsp/auth.
//
// Connections are capped in total and per client address, and so are
// sessions (Options.MaxSessions, and Options.MaxConnsPerAddr per address);
// a connection that carries no TCP session closes after
// Options.IdleTimeout of silence,
// a request must arrive within Options.HeadTimeout of its first byte, and
// its header block may not exceed 8 KB.
//
// # Sessions
//
// SETUP answers with Session: ID;timeout=N. A UDP session is kept alive by
// any RTSP request naming it and by any RTCP packet from the client; it is
// closed after the timeout without either. A playing TCP session lives as
// long as its connection; one that is set up but not playing (never
// played, or paused) times out like a UDP session, and its connection,
// once it carries no session, closes when idle. Sender reports go out every five seconds with the NTP
// time and RTP timestamp of the last frame sent, both from the capture
// clock, and an RTCP BYE ends every session.
//
// # Rate adaptation
//
// With StreamOptions.SetBitrate set, the receiver reports of unicast UDP
// clients steer the stream's encoder bitrate between MinBitrate and
// MaxBitrate (ratecontrol.go): the worst client heard in the last 15 s
// decides; 3% loss or more backs off at once, by up to half, at most once
// a second; 1–3% loss or rising jitter holds; 10 s without loss probes up
// by 5% of the maximum per second.
//
// # Relays
//
// Publishing a stream to relay servers (ANNOUNCE and RECORD) is package
// rtsp/push. A stream that knows its relay (StreamOptions.Relay) sends
// viewers there: a DESCRIBE at the session cap is answered 302 with the
// relay's URL as Location, and at shutdown each player whose RTSP
// connection is open gets a REDIRECT request (RFC 2326 §10.15) to it.
//
// A reply or RTCP report is never written into the middle of an
// interleaved frame: when a non-blocking write stops halfway through a
// frame, other writers on that connection wait until its sender has
// written the rest.
package rtsp
