package mikey

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Version is the MIKEY version of RFC 3830, the only one there is.
const Version = 1

// DataTypeInitiatorPSK is the data type of an initiator's message keyed
// with a pre-shared key (RFC 3830 §6.1), the only one this package reads.
const DataTypeInitiatorPSK = 0

// Payload types (RFC 3830 §6.1, next payload field).
const (
	payloadLast    = 0
	payloadKEMAC   = 1
	payloadT       = 5
	payloadSP      = 10
	payloadRAND    = 11
	payloadKeyData = 20
)

// Timestamp types of the T payload (RFC 3830 §6.6).
const (
	TimeNTPUTC  = 0 // 64-bit NTP time, UTC
	TimeNTP     = 1 // 64-bit NTP time
	TimeCounter = 2 // 32-bit counter
)

// SRTP security policy parameter types of the SP payload (RFC 3830
// §6.10.1).
const (
	ParamEncrAlg       = 0  // 0 NULL, 1 AES-CM, 2 AES-F8
	ParamEncrKeyLen    = 1  // session encryption key length, bytes
	ParamAuthAlg       = 2  // 0 NULL, 1 HMAC-SHA-1
	ParamAuthKeyLen    = 3  // session authentication key length, bytes
	ParamSaltKeyLen    = 4  // session salt key length, bytes
	ParamPRF           = 5  // SRTP pseudo-random function, 0 AES-CM
	ParamKeyDerivRate  = 6  // key derivation rate
	ParamSRTPEncr      = 7  // SRTP encryption, 0 off, 1 on
	ParamSRTCPEncr     = 8  // SRTCP encryption, 0 off, 1 on
	ParamFECOrder      = 9  // sender's FEC order
	ParamSRTPAuth      = 10 // SRTP authentication, 0 off, 1 on
	ParamAuthTagLen    = 11 // authentication tag length, bytes
	ParamSRTPPrefixLen = 12 // SRTP prefix length
)

// ProtocolSRTP is the Policy.Protocol of an SRTP policy.
const ProtocolSRTP = 0

const (
	mapTypeSRTPID  = 0 // CS ID map type of the header
	kemacNULL      = 0 // KEMAC encryption and MAC algorithm NULL
	kvNull, kvSPI  = 0, 1
	srtpIDEntryLen = 9
)

// Key data types of the key data sub-payload (RFC 3830 §6.13).
const (
	KeyTGK     = 0 // TEK generation key
	KeyTGKSalt = 1 // TGK with a salt
	KeyTEK     = 2 // traffic encryption key
	KeyTEKSalt = 3 // TEK with a salt
)

// CryptoSession is one entry of the header's SRTP-ID map (RFC 3830 §6.1.1):
// an SRTP stream keyed by the message.
type CryptoSession struct {
	// Policy is the number of the SP payload that applies.
	Policy uint8
	// SSRC is the stream's RTP synchronization source.
	SSRC uint32
	// ROC is the stream's SRTP rollover counter when the message was
	// made.
	ROC uint32
}

// Policy is an SP payload (RFC 3830 §6.10): security policy parameters.
type Policy struct {
	// No is the policy number that CryptoSession.Policy refers to.
	No uint8
	// Protocol is the security protocol, ProtocolSRTP.
	Protocol uint8
	// Params are the parameters in message order.
	Params []Param
}

// Param is one security policy parameter: a type such as ParamEncrAlg and
// its value.
type Param struct {
	// Type is the parameter type, such as ParamEncrAlg.
	Type uint8
	// Value is the parameter's value, usually one byte.
	Value []byte
}

// Param returns the value of the first parameter of type typ.
func (p *Policy) Param(typ uint8) ([]byte, bool) {
	for _, x := range p.Params {
		if x.Type == typ {
			return x.Value, true
		}
	}
	return nil, false
}

// KeyData is a key data sub-payload of the KEMAC payload (RFC 3830
// §6.13). SRTP peers put the master key and master salt back to back in
// Key with Type KeyTEK, or split them with KeyTEKSalt.
type KeyData struct {
	// Type is KeyTGK, KeyTGKSalt, KeyTEK or KeyTEKSalt.
	Type uint8
	// Key is the key data.
	Key []byte
	// Salt is the salt data, present only with KeyTGKSalt and KeyTEKSalt.
	Salt []byte
	// SPI, if not empty, is the key validity's security parameter index,
	// which SRTP uses as the master key identifier (MKI).
	SPI []byte
}

// Message is a MIKEY message of the subset the package documents. Absent
// optional payloads are nil.
type Message struct {
	// CSBID is the crypto session bundle ID.
	CSBID uint32
	// CryptoSessions is the SRTP-ID map.
	CryptoSessions []CryptoSession
	// TimeType is the timestamp type of the T payload, TimeNTPUTC,
	// TimeNTP or TimeCounter, and Time its value.
	TimeType uint8
	Time     uint64
	// HasTime reports whether the message has a T payload.
	HasTime bool
	// Rand is the RAND payload's data; nil when absent.
	Rand []byte
	// Policies are the SP payloads.
	Policies []Policy
	// Keys is the key data of the KEMAC payload; nil when the message has
	// no KEMAC payload.
	Keys []KeyData
}

// NTPTime converts t to a 64-bit NTP timestamp for Message.Time.
func NTPTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	ns := t.UnixNano()
	sec := uint64(ns/1e9) + unixToNTP
	frac := uint64(ns%1e9) << 32 / 1e9
	return sec<<32 | frac
}

// TimeFromNTP converts a 64-bit NTP timestamp to a time. Seconds with the
// top bit clear are in NTP era 1, from 2036-02-07 on (RFC 4330 §3), as
// NTPTime writes them.
func TimeFromNTP(v uint64) time.Time {
	const unixToNTP = 2208988800
	sec := int64(v>>32) - unixToNTP
	if v>>63 == 0 {
		sec += 1 << 32
	}
	frac := int64((v & 0xffffffff) * 1e9 >> 32)
	return time.Unix(sec, frac)
}

// Policy returns the SP payload numbered no.
func (m *Message) Policy(no uint8) (*Policy, bool) {
	for i := range m.Policies {
		if m.Policies[i].No == no {
			return &m.Policies[i], true
		}
	}
	return nil, false
}

// Marshal encodes the message. It fails when a field does not fit its
// wire length.
func (m *Message) Marshal() ([]byte, error) {
	if len(m.CryptoSessions) > 255 {
		return nil, fmt.Errorf("mikey: header: %d crypto sessions, at most 255 fit", len(m.CryptoSessions))
	}
	var next []uint8
	if m.HasTime {
		next = append(next, payloadT)
	}
	if m.Rand != nil {
		next = append(next, payloadRAND)
	}
	for range m.Policies {
		next = append(next, payloadSP)
	}
	if m.Keys != nil {
		next = append(next, payloadKEMAC)
	}
	next = append(next, payloadLast)

	b := make([]byte, 0, 128)
	b = append(b, Version, DataTypeInitiatorPSK, next[0], 0)
	b = binary.BigEndian.AppendUint32(b, m.CSBID)
	b = append(b, byte(len(m.CryptoSessions)), mapTypeSRTPID)
	for _, cs := range m.CryptoSessions {
		b = append(b, cs.Policy)
		b = binary.BigEndian.AppendUint32(b, cs.SSRC)
		b = binary.BigEndian.AppendUint32(b, cs.ROC)
	}
	k := 1
	if m.HasTime {
		b = append(b, next[k], m.TimeType)
		switch m.TimeType {
		case TimeNTPUTC, TimeNTP:
			b = binary.BigEndian.AppendUint64(b, m.Time)
		case TimeCounter:
			if m.Time > 0xffffffff {
				return nil, fmt.Errorf("mikey: T: counter %d does not fit 32 bits", m.Time)
			}
			b = binary.BigEndian.AppendUint32(b, uint32(m.Time))
		default:
			return nil, fmt.Errorf("mikey: T: unknown timestamp type %d", m.TimeType)
		}
		k++
	}
	if m.Rand != nil {
		if len(m.Rand) > 255 {
			return nil, fmt.Errorf("mikey: RAND: %d bytes, at most 255 fit", len(m.Rand))
		}
		b = append(b, next[k], byte(len(m.Rand)))
		b = append(b, m.Rand...)
		k++
	}
	for _, p := range m.Policies {
		n := 0
		for _, x := range p.Params {
			if len(x.Value) > 255 {
				return nil, fmt.Errorf("mikey: SP %d: parameter %d has %d bytes, at most 255 fit", p.No, x.Type, len(x.Value))
			}
			n += 2 + len(x.Value)
		}
		if n > 0xffff {
			return nil, fmt.Errorf("mikey: SP %d: %d bytes of parameters, at most 65535 fit", p.No, n)
		}
		b = append(b, next[k], p.No, p.Protocol)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		for _, x := range p.Params {
			b = append(b, x.Type, byte(len(x.Value)))
			b = append(b, x.Value...)
		}
		k++
	}
	if m.Keys != nil {
		var sub []byte
		for i, kd := range m.Keys {
			var err error
			if sub, err = kd.append(sub, i+1 < len(m.Keys)); err != nil {
				return nil, fmt.Errorf("mikey: KEMAC: key data %d: %w", i, err)
			}
		}
		if len(sub) > 0xffff {
			return nil, fmt.Errorf("mikey: KEMAC: %d bytes of key data, at most 65535 fit", len(sub))
		}
		b = append(b, next[k], kemacNULL)
		b = binary.BigEndian.AppendUint16(b, uint16(len(sub)))
		b = append(b, sub...)
		b = append(b, kemacNULL)
	}
	return b, nil
}

func (kd *KeyData) append(b []byte, more bool) ([]byte, error) {
	if kd.Type > KeyTEKSalt {
		return nil, fmt.Errorf("unknown key type %d", kd.Type)
	}
	salted := kd.Type == KeyTGKSalt || kd.Type == KeyTEKSalt
	if !salted && kd.Salt != nil {
		return nil, fmt.Errorf("key type %d has no salt", kd.Type)
	}
	if len(kd.Key) > 0xffff || len(kd.Salt) > 0xffff {
		return nil, errors.New("key or salt longer than 65535 bytes")
	}
	if len(kd.SPI) > 255 {
		return nil, fmt.Errorf("SPI of %d bytes, at most 255 fit", len(kd.SPI))
	}
	next := byte(payloadLast)
	if more {
		next = payloadKeyData
	}
	kv := byte(kvNull)
	if len(kd.SPI) > 0 {
		kv = kvSPI
	}
	b = append(b, next, kd.Type<<4|kv)
	b = binary.BigEndian.AppendUint16(b, uint16(len(kd.Key)))
	b = append(b, kd.Key...)
	if salted {
		b = binary.BigEndian.AppendUint16(b, uint16(len(kd.Salt)))
		b = append(b, kd.Salt...)
	}
	if kv == kvSPI {
		b = append(b, byte(len(kd.SPI)))
		b = append(b, kd.SPI...)
	}
	return b, nil
}

// reader reads big-endian fields, remembering the first shortfall.
type reader struct {
	b   []byte
	err error
	at  string // what is being read, for the error
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("mikey: %s: %s needs %d bytes, %d left", r.at, what, n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(what string) uint8 {
	if v := r.bytes(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16(what string) uint16 {
	if v := r.bytes(2, what); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32(what string) uint32 {
	if v := r.bytes(4, what); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// Unmarshal decodes a message. The byte slices of m alias b. On error m
// is left unchanged.
func (m *Message) Unmarshal(b []byte) error {
	var out Message
	r := &reader{b: b, at: "header"}
	if v := r.u8("version"); r.err == nil && v != Version {
		return fmt.Errorf("mikey: header: version %d, want %d", v, Version)
	}
	if v := r.u8("data type"); r.err == nil && v != DataTypeInitiatorPSK {
		return fmt.Errorf("mikey: header: data type %d unsupported: only a pre-shared-key initiator message (0) is", v)
	}
	next := r.u8("next payload")
	if v := r.u8("V and PRF"); r.err == nil && v != 0 {
		return fmt.Errorf("mikey: header: V flag or PRF %#x unsupported: only 0 is", v)
	}
	out.CSBID = r.u32("CSB ID")
	ncs := int(r.u8("number of crypto sessions"))
	if v := r.u8("CS ID map type"); r.err == nil && v != mapTypeSRTPID {
		return fmt.Errorf("mikey: header: CS ID map type %d unsupported: only SRTP-ID (0) is", v)
	}
	if r.err == nil && ncs*srtpIDEntryLen > len(r.b) {
		return fmt.Errorf("mikey: header: %d crypto sessions need %d bytes, %d left", ncs, ncs*srtpIDEntryLen, len(r.b))
	}
	for range ncs {
		cs := CryptoSession{Policy: r.u8("policy"), SSRC: r.u32("SSRC"), ROC: r.u32("ROC")}
		out.CryptoSessions = append(out.CryptoSessions, cs)
	}
	if r.err != nil {
		return r.err
	}
	sawKEMAC := false
	for next != payloadLast {
		typ := next
		switch typ {
		case payloadT:
			r.at = "T"
			if out.HasTime {
				return errors.New("mikey: T: more than one T payload")
			}
			next = r.u8("next payload")
			out.TimeType = r.u8("timestamp type")
			switch out.TimeType {
			case TimeNTPUTC, TimeNTP:
				if v := r.bytes(8, "NTP timestamp"); v != nil {
					out.Time = binary.BigEndian.Uint64(v)
				}
			case TimeCounter:
				out.Time = uint64(r.u32("counter"))
			default:
				if r.err == nil {
					return fmt.Errorf("mikey: T: unknown timestamp type %d", out.TimeType)
				}
			}
			out.HasTime = true
		case payloadRAND:
			r.at = "RAND"
			if out.Rand != nil {
				return errors.New("mikey: RAND: more than one RAND payload")
			}
			next = r.u8("next payload")
			n := int(r.u8("length"))
			out.Rand = r.bytes(n, "data")
			if r.err == nil && n == 0 {
				return errors.New("mikey: RAND: empty")
			}
		case payloadSP:
			r.at = "SP"
			next = r.u8("next payload")
			p := Policy{No: r.u8("policy number"), Protocol: r.u8("protocol type")}
			n := int(r.u16("parameters length"))
			pr := &reader{b: r.bytes(n, "parameters"), at: fmt.Sprintf("SP %d", p.No)}
			if r.err != nil {
				return r.err
			}
			for len(pr.b) > 0 {
				x := Param{Type: pr.u8("parameter type")}
				x.Value = pr.bytes(int(pr.u8("parameter length")), "parameter value")
				if pr.err != nil {
					return pr.err
				}
				p.Params = append(p.Params, x)
			}
			if _, dup := out.Policy(p.No); dup {
				return fmt.Errorf("mikey: SP: policy number %d given twice", p.No)
			}
			out.Policies = append(out.Policies, p)
		case payloadKEMAC:
			r.at = "KEMAC"
			if sawKEMAC {
				return errors.New("mikey: KEMAC: more than one KEMAC payload")
			}
			sawKEMAC = true
			next = r.u8("next payload")
			if v := r.u8("encryption algorithm"); r.err == nil && v != kemacNULL {
				return fmt.Errorf("mikey: KEMAC: encryption algorithm %d unsupported: only NULL (0) is", v)
			}
			data := r.bytes(int(r.u16("encrypted data length")), "encrypted data")
			if v := r.u8("MAC algorithm"); r.err == nil && v != kemacNULL {
				return fmt.Errorf("mikey: KEMAC: MAC algorithm %d unsupported: only NULL (0) is", v)
			}
			if r.err != nil {
				return r.err
			}
			keys, err := parseKeyData(data)
			if err != nil {
				return err
			}
			out.Keys = keys
		default:
			return fmt.Errorf("mikey: payload type %d unsupported (after %s)", typ, r.at)
		}
		if r.err != nil {
			return r.err
		}
	}
	if len(r.b) > 0 {
		return fmt.Errorf("mikey: %d bytes after the last payload", len(r.b))
	}
	*m = out
	return nil
}

// parseKeyData parses the key data sub-payloads of a KEMAC payload.
func parseKeyData(b []byte) ([]KeyData, error) {
	keys := []KeyData{}
	r := &reader{b: b}
	for i := 0; ; i++ {
		r.at = fmt.Sprintf("KEMAC: key data %d", i)
		next := r.u8("next payload")
		tkv := r.u8("type and KV")
		kd := KeyData{Type: tkv >> 4}
		kv := tkv & 0x0f
		if r.err != nil {
			return nil, r.err
		}
		if kd.Type > KeyTEKSalt {
			return nil, fmt.Errorf("mikey: %s: unknown key type %d", r.at, kd.Type)
		}
		kd.Key = r.bytes(int(r.u16("key length")), "key")
		if kd.Type == KeyTGKSalt || kd.Type == KeyTEKSalt {
			kd.Salt = r.bytes(int(r.u16("salt length")), "salt")
		}
		switch kv {
		case kvNull:
		case kvSPI:
			kd.SPI = r.bytes(int(r.u8("SPI length")), "SPI")
			if r.err == nil && len(kd.SPI) == 0 {
				return nil, fmt.Errorf("mikey: %s: empty SPI", r.at)
			}
		default:
			return nil, fmt.Errorf("mikey: %s: key validity type %d unsupported: only none (0) and SPI (1) are", r.at, kv)
		}
		if r.err != nil {
			return nil, r.err
		}
		keys = append(keys, kd)
		switch next {
		case payloadLast:
			if len(r.b) > 0 {
				return nil, fmt.Errorf("mikey: KEMAC: %d bytes after the last key data", len(r.b))
			}
			return keys, nil
		case payloadKeyData:
		default:
			return nil, fmt.Errorf("mikey: %s: next payload %d inside KEMAC, want key data (20)", r.at, next)
		}
	}
}
