package rtsp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"

	"github.com/pion/sdp/v3"
)

// sdp returns the session description of the stream for DESCRIBE (RFC 6184
// §8.2.1 for the H.264 parameters). local is the server address the client
// connected to, for the o= line.
func (s *Stream) sdp(local netip.Addr) ([]byte, error) {
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
	fmtp := fmt.Sprintf("96 packetization-mode=1;profile-level-id=%02X%02X%02X;sprop-parameter-sets=%s,%s",
		sps[1], sps[2], sps[3],
		base64.StdEncoding.EncodeToString(sps), base64.StdEncoding.EncodeToString(pps))
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
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{
				Media:   "video",
				Port:    sdp.RangedPort{Value: 0},
				Protos:  []string{"RTP", "AVP"},
				Formats: []string{"96"},
			},
			Attributes: []sdp.Attribute{
				{Key: "rtpmap", Value: "96 H264/90000"},
				{Key: "fmtp", Value: fmtp},
				{Key: "control", Value: trackControl},
			},
		}},
	}
	return d.Marshal()
}
