// Package rtph264 packetizes H.264 access units into RTP packets as
// specified by RFC 6184 for packetization-mode=1 (non-interleaved mode):
// single NAL unit packets, STAP-A aggregation packets and FU-A
// fragmentation units.
package rtph264

import (
	"fmt"
	"slices"

	"github.com/pion/rtp"
)

// DefaultMaxPayload is the RTP payload size limit used when
// Packetizer.MaxPayload is 0. With the 12-byte RTP header, 8-byte UDP
// header and 20-byte IPv4 header it leaves room for tunnelling
// overhead within a 1500-byte MTU.
const DefaultMaxPayload = 1400

// MinMaxPayload is the smallest usable Packetizer.MaxPayload: an FU-A
// needs two header bytes and at least one byte of the NAL unit.
const MinMaxPayload = 3

const (
	headerSize   = 12 // RTP fixed header, no CSRCs or extension
	typeSTAPA    = 24
	typeFUA      = 28
	stapALenSize = 2
	fuaHdrSize   = 2
	maxSTAPANALU = 0xffff // STAP-A NAL unit sizes are 16 bits

	fuStart = 0x80
	fuEnd   = 0x40
)

// Packetizer turns access units into the RTP packets of one stream.
// Set its fields before the first call to AppendAccessUnit and do not
// change them afterwards. A Packetizer must not be used by several
// goroutines at once.
type Packetizer struct {
	PayloadType uint8  // RTP payload type, 0 to 127; dynamic types are 96 to 127
	SSRC        uint32 // RTP synchronization source
	// MaxPayload is the largest RTP payload, in bytes, of a packet;
	// the packet itself is 12 bytes longer. 0 means DefaultMaxPayload.
	MaxPayload int

	seq uint16 // sequence number of the next packet
}

// Sequence returns the sequence number the next packet will carry.
func (p *Packetizer) Sequence() uint16 { return p.seq }

// SetSequence sets the sequence number of the next packet. RFC 3550
// recommends a random initial value.
func (p *Packetizer) SetSequence(seq uint16) { p.seq = seq }

// AppendAccessUnit packetizes one access unit, the NAL units nalus in
// decoding order without start codes, and appends the RTP packets back to
// back to buf. For each packet it appends the offset in buf of the
// packet's end to ends, so that packet i spans buf[ends[i-1]:ends[i]],
// the first one starting at the original len(buf). It returns the
// extended buf and ends, and allocates only when they must grow.
//
// ts is the RTP timestamp (90 kHz clock) shared by all the packets. The
// marker bit is set on the last packet only. Sequence numbers increase
// by one per packet, wrapping at 2^16.
//
// Consecutive NAL units that fit together within MaxPayload are
// aggregated in a STAP-A, such as the SPS and PPS before an IDR slice. A
// NAL unit that fits but cannot be aggregated goes in a single NAL unit
// packet, and one larger than MaxPayload is split into FU-As of nearly
// equal size. Empty NAL units, access unit delimiters, filler data and
// the types 0 and 24 to 31, which RFC 6184 cannot carry, are dropped; if
// nothing is left, no packet is appended.
//
// On error, buf, ends and the sequence number are left unchanged.
func (p *Packetizer) AppendAccessUnit(buf []byte, ends []int, nalus [][]byte, ts uint32) ([]byte, []int, error) {
	maxPayload := p.MaxPayload
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	if maxPayload < MinMaxPayload {
		return buf, ends, fmt.Errorf("rtph264: MaxPayload %d is less than %d", maxPayload, MinMaxPayload)
	}
	if p.PayloadType > 127 {
		return buf, ends, fmt.Errorf("rtph264: payload type %d is greater than 127", p.PayloadType)
	}

	// Grow buf and ends once, to an upper bound of what is appended.
	size, packets := 0, 0
	for _, n := range nalus {
		switch {
		case !sent(n):
		case len(n) <= maxPayload:
			// Alone: header and NAL unit; in a STAP-A, a share of
			// the STAP-A header and the size field are added.
			size += headerSize + 1 + stapALenSize + len(n)
			packets++
		default:
			frags := fragments(len(n), maxPayload)
			size += frags*(headerSize+fuaHdrSize) + len(n) - 1
			packets += frags
		}
	}
	buf = slices.Grow(buf, size)
	ends = slices.Grow(ends, packets)

	for i := nextSent(nalus, 0); i < len(nalus); {
		end, count := stapA(nalus, i, maxPayload)
		if count >= 2 {
			next := nextSent(nalus, end)
			buf = p.appendSTAPA(buf, nalus[i:end], next == len(nalus), ts)
			ends = append(ends, len(buf))
			i = next
			continue
		}
		nalu := nalus[i]
		next := nextSent(nalus, i+1)
		last := next == len(nalus)
		if len(nalu) <= maxPayload {
			buf = p.appendHeader(buf, last, ts)
			buf = append(buf, nalu...)
			ends = append(ends, len(buf))
		} else {
			buf, ends = p.appendFUA(buf, ends, nalu, maxPayload, last, ts)
		}
		i = next
	}
	return buf, ends, nil
}

// sent reports whether nalu is packetized rather than dropped.
func sent(nalu []byte) bool {
	if len(nalu) == 0 {
		return false
	}
	switch nalu[0] & 0x1f {
	case 0, 9, 12, 24, 25, 26, 27, 28, 29, 30, 31: // AUD 9, filler 12
		return false
	}
	return true
}

// nextSent returns the index of the first NAL unit from i on that is
// sent, or len(nalus).
func nextSent(nalus [][]byte, i int) int {
	for i < len(nalus) && !sent(nalus[i]) {
		i++
	}
	return i
}

// stapA returns the longest run nalus[i:end] of NAL units, starting at the
// sent NAL unit i, that fits in one STAP-A of at most maxPayload bytes,
// and the number of sent NAL units in it.
func stapA(nalus [][]byte, i, maxPayload int) (end, count int) {
	size := 1 // STAP-A NAL unit header
	end = i
	for k := i; k < len(nalus); k++ {
		n := nalus[k]
		if !sent(n) {
			continue
		}
		if len(n) > maxSTAPANALU || size+stapALenSize+len(n) > maxPayload {
			break
		}
		size += stapALenSize + len(n)
		count++
		end = k + 1
	}
	return end, count
}

// fragments returns the number of FU-As a NAL unit of naluLen bytes
// takes: its payload, without the NAL unit header, in pieces of at most
// maxPayload-2 bytes.
func fragments(naluLen, maxPayload int) int {
	per := maxPayload - fuaHdrSize
	return (naluLen - 1 + per - 1) / per
}

// appendHeader appends an RTP header and advances the sequence number.
func (p *Packetizer) appendHeader(buf []byte, marker bool, ts uint32) []byte {
	h := rtp.Header{
		Version:        2,
		Marker:         marker,
		PayloadType:    p.PayloadType,
		SequenceNumber: p.seq,
		Timestamp:      ts,
		SSRC:           p.SSRC,
	}
	n := len(buf)
	buf = slices.Grow(buf, headerSize)[:n+headerSize]
	// MarshalTo only fails on a short buffer, and a header without
	// CSRCs or extensions is headerSize bytes.
	_, _ = h.MarshalTo(buf[n:])
	p.seq++
	return buf
}

// appendSTAPA appends one STAP-A packet of the sent NAL units of nalus.
func (p *Packetizer) appendSTAPA(buf []byte, nalus [][]byte, marker bool, ts uint32) []byte {
	buf = p.appendHeader(buf, marker, ts)
	hdr := len(buf)
	buf = append(buf, typeSTAPA)
	var f, nri byte
	for _, n := range nalus {
		if !sent(n) {
			continue
		}
		// RFC 6184 section 5.7.1: F is the OR and NRI the maximum of
		// the aggregated NAL units' fields.
		f |= n[0] & 0x80
		nri = max(nri, n[0]&0x60)
		buf = append(buf, byte(len(n)>>8), byte(len(n)))
		buf = append(buf, n...)
	}
	buf[hdr] |= f | nri
	return buf
}

// appendFUA appends the FU-A packets of nalu, whose payload is split in
// pieces of nearly equal size so that none of them is a runt.
func (p *Packetizer) appendFUA(buf []byte, ends []int, nalu []byte, maxPayload int, last bool, ts uint32) ([]byte, []int) {
	indicator := nalu[0]&0xe0 | typeFUA // F and NRI of the NAL unit
	header := nalu[0] & 0x1f
	data := nalu[1:]
	frags := fragments(len(nalu), maxPayload)
	base, extra := len(data)/frags, len(data)%frags
	for k := range frags {
		size := base
		if k < extra {
			size++
		}
		fu := header
		if k == 0 {
			fu |= fuStart
		}
		if k == frags-1 {
			fu |= fuEnd
		}
		buf = p.appendHeader(buf, last && k == frags-1, ts)
		buf = append(buf, indicator, fu)
		buf = append(buf, data[:size]...)
		data = data[size:]
		ends = append(ends, len(buf))
	}
	return buf, ends
}
