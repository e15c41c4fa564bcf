// Package headers parses and formats the structured RTSP 1.0 (RFC 2326)
// header values that an RTSP server needs to understand: Transport,
// Session, RTP-Info, Range, Authorization, WWW-Authenticate and KeyMgmt.
//
// Each header has a type with an Unmarshal method, which parses one header
// value (the text after "Name:" with surrounding whitespace removed), and a
// Marshal method, which formats the value in the canonical form a server
// sends. For every value v that Unmarshal accepts, Marshal produces a string
// that Unmarshal parses back to an equal value. Parameters this package does
// not know are ignored when parsing and are therefore not reproduced by
// Marshal.
//
// Parse errors start with "rtsp: malformed <Name> header" and quote the
// offending value (except Authorization's and KeyMgmt's, which carry
// credentials or keys); errors that a server answers with a specific status code
// can be recognised with errors.Is (see ErrUnsupportedProfile and
// ErrUnsupportedRangeUnit).
package headers
