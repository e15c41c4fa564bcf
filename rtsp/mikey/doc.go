// Package mikey reads and writes the MIKEY messages (Multimedia Internet
// KEYing, RFC 3830) that RTSP peers exchange to key SRTP (RFC 4567: the
// SDP a=key-mgmt attribute and the RTSP KeyMgmt header).
//
// It covers the subset that RTSP servers and clients such as gortsplib and
// GStreamer send: a pre-shared-key initiator message (data type 0) made of
// the common header with an SRTP-ID map (the SSRC and rollover counter of
// each crypto session), a timestamp (T), a random value (RAND), SRTP
// security policies (SP) and a KEMAC payload with NULL encryption and no
// MAC that carries the key data in clear. That is only safe inside a
// channel that is already encrypted, such as RTSP over TLS.
//
// [Message.Unmarshal] fails with an error naming the payload and the
// field at fault on anything outside that subset or malformed; it never
// panics. [Message.Marshal] writes the payloads in the order T, RAND, SP,
// KEMAC.
package mikey
