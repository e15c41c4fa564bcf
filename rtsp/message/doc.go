// Package message reads and writes RTSP 1.0 (RFC 2326) messages: requests,
// responses and the interleaved binary frames ("$" + channel + length +
// payload, RFC 2326 §10.12) that share a TCP connection with them.
//
// The readers work on a *bufio.Reader so that a server's per-connection loop
// can alternate between them:
//
//	for {
//		if ok, err := message.IsInterleaved(br); err != nil {
//			return err
//		} else if ok {
//			ch, payload, err := message.ReadInterleaved(br, buf)
//			...
//			continue
//		}
//		req, err := message.ReadRequest(br)
//		var perr *message.ProtocolError
//		if errors.As(err, &perr) {
//			// reply 400, echoing perr.CSeq when it is not empty
//		}
//		...
//	}
//
// Every reader bounds the memory it uses (see MaxLineLength, MaxHeaders and
// MaxContentLength) and reports malformed input as a *ProtocolError rather
// than panicking.
package message
