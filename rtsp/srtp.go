package rtsp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/mikey"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP (RFC 3711) for RTP/SAVP under RTSPS, keyed with MIKEY (RFC 3830)
// as RFC 4567 carries it: the SDP a=key-mgmt attribute and the KeyMgmt
// header. The only crypto suite is AES_CM_128_HMAC_SHA1_80, the one
// gortsplib and GStreamer use.
//
// A stream has one master key for every SRTP client, announced in DESCRIBE
// and in each SETUP reply: the stream encrypts each packet once, as it
// packetizes each access unit once. Each client sends its own key in its
// SETUP request's KeyMgmt header, which decrypts the client's SRTCP
// receiver reports.

const (
	srtpKeyLen  = 16 // AES-128 master key
	srtpSaltLen = 14 // master salt
	srtpTagLen  = 10 // HMAC-SHA1-80 authentication tag
	srtpProfile = srtp.ProtectionProfileAes128CmHmacSha1_80
)

// streamSRTP is a stream's SRTP sender: its master key and the contexts
// that encrypt its packets and its sender reports.
type streamSRTP struct {
	key  []byte // master key then master salt, as MIKEY carries them
	ssrc uint32

	// rtp encrypts RTP packets; only the stream uses it, under its lock.
	rtp *srtp.Context
	hdr rtp.Header // reused by rtp, under the same lock

	// rtcp encrypts the sender reports of every session of the stream. Its
	// SRTCP index must never repeat for the key and SSRC, so every session
	// shares it, under rtcpMu.
	rtcpMu sync.Mutex
	rtcp   *srtp.Context
}

func newStreamSRTP(ssrc uint32) (*streamSRTP, error) {
	key := make([]byte, srtpKeyLen+srtpSaltLen)
	rand.Read(key)
	rtpCtx, err := srtp.CreateContext(key[:srtpKeyLen], key[srtpKeyLen:], srtpProfile)
	if err != nil {
		return nil, fmt.Errorf("rtsp: SRTP context: %w", err)
	}
	rtcpCtx, err := srtp.CreateContext(key[:srtpKeyLen], key[srtpKeyLen:], srtpProfile)
	if err != nil {
		return nil, fmt.Errorf("rtsp: SRTCP context: %w", err)
	}
	return &streamSRTP{key: key, ssrc: ssrc, rtp: rtpCtx, rtcp: rtcpCtx}, nil
}

// encrypt appends the SRTP form of f's packets to f.enc. The caller holds
// the stream's lock. A packet that fails to encrypt (which AES-CM cannot
// do with a well-formed RTP packet) leaves f without its twin: SRTP
// clients then skip it like a frame they had no room for.
func (sp *streamSRTP) encrypt(f *frame) error {
	n := f.packets()
	need := len(f.buf) + n*srtpTagLen
	if cap(f.enc) < need {
		f.enc = make([]byte, 0, need+need/4)
	}
	if cap(f.encEnds) < n {
		f.encEnds = make([]int, 0, n+n/4)
	}
	f.enc, f.encEnds = f.enc[:0], f.encEnds[:0]
	// Packets carry only 16 bits of their index: set the rollover counter
	// the stream counted, so that frames encrypted out of order (a GOP
	// replayed to a new client) or after a gap get the right one.
	sp.rtp.SetROC(sp.ssrc, f.roc)
	for i := range n {
		p := f.packet(i)
		off := len(f.enc)
		out, err := sp.rtp.EncryptRTP(f.enc[off:off:cap(f.enc)], p, &sp.hdr)
		if err != nil {
			return fmt.Errorf("rtsp: SRTP encryption of packet %d of %d: %w", i, n, err)
		}
		if len(out) > 0 && &out[0] == &f.enc[:off+1][off] {
			f.enc = f.enc[:off+len(out)]
		} else {
			f.enc = append(f.enc, out...)
		}
		f.encEnds = append(f.encEnds, len(f.enc))
	}
	f.encrypted = true
	return nil
}

// encryptRTCP returns the SRTCP form of an RTCP compound packet.
func (sp *streamSRTP) encryptRTCP(b []byte) ([]byte, error) {
	sp.rtcpMu.Lock()
	defer sp.rtcpMu.Unlock()
	return sp.rtcp.EncryptRTCP(nil, b, nil)
}

// mikey returns a MIKEY message that gives a client the stream's key: its
// SSRC at rollover counter roc. Its timestamp is ntp, the client's own
// (see clientSRTCP), or, when ntp is 0, the camera's clock.
func (sp *streamSRTP) mikey(roc uint32, ntp uint64) ([]byte, error) {
	if ntp == 0 {
		ntp = mikey.NTPTime(time.Now())
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	m := mikey.Message{
		CSBID:          binary.BigEndian.Uint32(rnd[:4]),
		CryptoSessions: []mikey.CryptoSession{{Policy: 0, SSRC: sp.ssrc, ROC: roc}},
		HasTime:        true,
		TimeType:       mikey.TimeNTPUTC,
		Time:           ntp,
		Policies: []mikey.Policy{{No: 0, Protocol: mikey.ProtocolSRTP, Params: []mikey.Param{
			{Type: mikey.ParamEncrAlg, Value: []byte{1}}, // AES-CM
			{Type: mikey.ParamEncrKeyLen, Value: []byte{srtpKeyLen}},
			{Type: mikey.ParamAuthAlg, Value: []byte{1}}, // HMAC-SHA-1
			{Type: mikey.ParamAuthKeyLen, Value: []byte{20}},
			{Type: mikey.ParamSaltKeyLen, Value: []byte{srtpSaltLen}},
			{Type: mikey.ParamSRTPEncr, Value: []byte{1}},
			{Type: mikey.ParamSRTCPEncr, Value: []byte{1}},
			{Type: mikey.ParamSRTPAuth, Value: []byte{1}},
			{Type: mikey.ParamAuthTagLen, Value: []byte{srtpTagLen}},
		}}},
		Keys: []mikey.KeyData{{Type: mikey.KeyTEK, Key: sp.key}},
	}
	m.Rand = make([]byte, 16)
	rand.Read(m.Rand)
	b, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("rtsp: MIKEY: %w", err)
	}
	return b, nil
}

// clientSRTCP returns the context that decrypts a client's SRTCP, from the
// MIKEY message of its SETUP request, and the message's NTP timestamp (0
// if it has none). It checks the message asks for what we speak:
// AES_CM_128_HMAC_SHA1_80 with encryption and authentication on, and a
// key of 30 bytes.
//
// The timestamp is not checked against the camera's clock: the message
// comes inside TLS, which already stops replays (the timestamp's purpose,
// RFC 3830 §5.4), and a camera without NTP or a battery-backed clock
// starts in 1970. The reply's MIKEY message carries the client's
// timestamp back instead, as a MIKEY responder's does, so that clients
// that check it against their own clock (gortsplib, within an hour)
// accept it whatever the camera's clock says.
func clientSRTCP(data []byte) (*srtp.Context, uint64, error) {
	var m mikey.Message
	if err := m.Unmarshal(data); err != nil {
		return nil, 0, err
	}
	var ntp uint64
	if m.HasTime && (m.TimeType == mikey.TimeNTPUTC || m.TimeType == mikey.TimeNTP) {
		ntp = m.Time
	}
	if len(m.Keys) != 1 {
		return nil, 0, fmt.Errorf("MIKEY message carries %d keys, want 1", len(m.Keys))
	}
	pol := uint8(0)
	if len(m.CryptoSessions) > 0 {
		pol = m.CryptoSessions[0].Policy
	}
	if p, ok := m.Policy(pol); ok {
		want := []struct {
			typ  uint8
			name string
			v    byte
		}{
			{mikey.ParamEncrAlg, "encryption algorithm", 1},
			{mikey.ParamEncrKeyLen, "encryption key length", srtpKeyLen},
			{mikey.ParamAuthAlg, "authentication algorithm", 1},
			{mikey.ParamSaltKeyLen, "salt length", srtpSaltLen},
			{mikey.ParamSRTPEncr, "SRTP encryption", 1},
			{mikey.ParamSRTCPEncr, "SRTCP encryption", 1},
			{mikey.ParamSRTPAuth, "SRTP authentication", 1},
			{mikey.ParamAuthTagLen, "authentication tag length", srtpTagLen},
		}
		for _, w := range want {
			if v, ok := p.Param(w.typ); ok && !bytes.Equal(v, []byte{w.v}) {
				return nil, 0, fmt.Errorf("MIKEY policy asks for %s %x; only %d is supported", w.name, v, w.v)
			}
		}
	}
	kd := m.Keys[0]
	key := kd.Key
	if kd.Type == mikey.KeyTEKSalt {
		key = append(append([]byte(nil), kd.Key...), kd.Salt...)
	} else if kd.Type != mikey.KeyTEK {
		return nil, 0, fmt.Errorf("MIKEY key type %d, want a TEK (2 or 3)", kd.Type)
	}
	if len(key) != srtpKeyLen+srtpSaltLen {
		return nil, 0, fmt.Errorf("MIKEY key and salt are %d bytes, want %d", len(key), srtpKeyLen+srtpSaltLen)
	}
	opts := []srtp.ContextOption{srtp.SRTCPReplayProtection(64)}
	if len(kd.SPI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(kd.SPI))
	}
	ctx, err := srtp.CreateContext(key[:srtpKeyLen], key[srtpKeyLen:], srtpProfile, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("SRTCP context from the client's key: %w", err)
	}
	return ctx, ntp, nil
}
