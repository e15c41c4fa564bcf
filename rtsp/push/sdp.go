package push

import (
	"errors"
	"net/netip"

	"github.com/ipcamd/ipcamd/rtsp/rtph264"
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
	md, err := rtph264.MediaDescription(sps, pps, trackControl)
	if err != nil {
		return nil, err
	}
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
		MediaDescriptions: []*sdp.MediaDescription{md},
	}
	return d.Marshal()
}
