package rtsp

import (
	"net/netip"
	"sort"
	"time"
)

// SessionStats is a snapshot of one session's counters.
type SessionStats struct {
	ID        string
	Path      string
	Transport string // "UDP", "TCP" or "multicast"
	// SRTP reports whether the session takes RTP/SAVP (SRTP, under RTSPS).
	SRTP    bool
	Client  netip.AddrPort
	Playing bool
	// Sent counts what reached the client's socket.
	FramesSent, PacketsSent, BytesSent uint64
	// FramesDropped counts frames skipped because the client's backlog was
	// full, up to the next IDR.
	FramesDropped uint64
	// From the client's latest RTCP receiver report.
	FractionLost float64 // 0..1
	TotalLost    uint32
	Jitter       time.Duration
}

// ServerStats is a snapshot of the server's counters.
type ServerStats struct {
	Sessions []SessionStats
	// Evicted counts sessions closed because they fell too far behind or
	// their TCP writes stalled.
	Evicted uint64
	// Expired counts UDP sessions closed by the session timeout.
	Expired uint64
	// Redirected counts clients sent to a relay: DESCRIBEs answered 302
	// at the session cap, and REDIRECTs sent at shutdown.
	Redirected uint64
}

// Stats returns a snapshot of the server's sessions, sorted by ID.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		if ss.setUp.Load() {
			list = append(list, ss)
		}
	}
	s.mu.Unlock()
	st := ServerStats{Evicted: s.evicted.Load(), Expired: s.expired.Load(), Redirected: s.redirected.Load()}
	for _, ss := range list {
		x := SessionStats{
			ID:           ss.id,
			Transport:    ss.transport.String(),
			SRTP:         ss.secure,
			FractionLost: float64(ss.fractionLost.Load()) / 256,
			TotalLost:    ss.totalLost.Load(),
			Jitter:       time.Duration(ss.jitter.Load()) * time.Second / 90000,
		}
		if ss.stream != nil {
			x.Path = ss.stream.Path()
		}
		if ss.transport == transportUDP {
			x.Client = ss.clientRTP
		} else if ss.conn != nil {
			x.Client, _ = netip.ParseAddrPort(ss.conn.nc.RemoteAddr().String())
		}
		ss.mu.Lock()
		sub := ss.sub
		ss.mu.Unlock()
		x.Playing = sub != nil
		x.FramesSent = ss.cnt.framesSent.Load()
		x.PacketsSent = ss.cnt.packetsSent.Load()
		x.BytesSent = ss.cnt.bytesSent.Load()
		x.FramesDropped = ss.cnt.framesDropped.Load()
		st.Sessions = append(st.Sessions, x)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].ID < st.Sessions[j].ID })
	return st
}
