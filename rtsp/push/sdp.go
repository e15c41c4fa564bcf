package push

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"

	"github.com/pion/sdp/v3"
)

// buildSDP returns the session description for ANNOUNCE: one H.264 video
// medium, payload type 96, with the parameter sets (RFC 6184 §8.2.1) and
// the control attribute "trackID=0". host is the relay's host, for the
// c= line's address type only.
func buildSDP(sps, pps []byte, host string) ([]byte, error) {
	if len(sps) < 4 || len(pps) == 0 {
		return nil, errors.New("push: no parameter sets to announce")
	}
	addrType, addr := "IP4", "127.0.0.1"
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() && !a.Is4In6() {
		addrType, addr = "IP6", "::1"
	}
	fmtp := fmt.Sprintf("96 packetization-mode=1;profile-level-id=%02X%02X%02X;sprop-parameter-sets=%s,%s",
		sps[1], sps[2], sps[3],
		base64.StdEncoding.EncodeToString(sps), base64.StdEncoding.EncodeToString(pps))
	d := sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "-",
			SessionID:      1,
			SessionVersion: 1,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr,
		},
		SessionName: "ipcamd",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: addr},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
		Attributes: []sdp.Attribute{
			{Key: "tool", Value: "ipcamd"},
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
