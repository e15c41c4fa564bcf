package rtsp

import (
	"encoding/base64"
	"errors"
	"net/netip"

	"github.com/ipcamd/ipcamd/rtsp/rtph264"
	"github.com/pion/sdp/v3"
)

// sdp returns the session description of the stream for DESCRIBE (RFC 6184
// §8.2.1 for the H.264 parameters). local is the server address the client
// connected to, for the o= line. With keyMgmt, a MIKEY message, the
// media is offered as RTP/SAVP with that key (RFC 4567 a=key-mgmt); a
// client may still ask for RTP/AVP over TCP inside the TLS connection.
func (s *Stream) sdp(local netip.Addr, keyMgmt []byte) ([]byte, error) {
	sps, pps := s.parameterSets()
	if len(sps) < 4 || len(pps) == 0 {
		return nil, errors.New("rtsp: stream has no parameter sets yet")
	}
	addrType, addr := "IP4", "0.0.0.0"
	if local.IsValid() {
		addr = local.String()
		if local.Is6() {
			addrType = "IP6"
		}
	}
	md, err := rtph264.MediaDescription(sps, pps, trackControl)
	if err != nil {
		return nil, err
	}
	if s.bitrate != nil {
		if bps := s.bitrate(); bps > 0 {
			// RFC 4566 §5.8: what players show as the stream's bitrate.
			md.Bandwidth = []sdp.Bandwidth{{Type: "AS", Bandwidth: uint64((bps + 999) / 1000)}}
		}
	}
	if keyMgmt != nil {
		md.MediaName.Protos = []string{"RTP", "SAVP"}
		md.Attributes = append(md.Attributes, sdp.Attribute{Key: "key-mgmt", Value: "mikey " + base64.StdEncoding.EncodeToString(keyMgmt)})
	}
	d := sdp.SessionDescription{
		Version: 0,
		Origin: sdp.Origin{
			Username:       "-",
			SessionID:      uint64(s.SSRC()),
			SessionVersion: 1,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr,
		},
		SessionName: "ipcamd " + sdp.SessionName(s.path),
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: "IP4",
			Address:     &sdp.Address{Address: "0.0.0.0"},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		Attributes: []sdp.Attribute{
			{Key: "tool", Value: "ipcamd"},
			{Key: "type", Value: "broadcast"},
			{Key: "control", Value: "*"},
			{Key: "range", Value: "npt=now-"},
		},
		MediaDescriptions: []*sdp.MediaDescription{md},
	}
	return d.Marshal()
}
