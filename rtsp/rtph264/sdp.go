package rtph264

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"
)

// PayloadType is the dynamic RTP payload type ipcamd gives H.264.
const PayloadType = 96

// MediaDescription returns the SDP media section of an H.264 stream with
// parameter sets sps and pps (RFC 6184 §8.2.1: packetization mode 1,
// profile-level-id from the SPS, sprop-parameter-sets) and the a=control
// attribute control.
func MediaDescription(sps, pps []byte, control string) (*sdp.MediaDescription, error) {
	if len(sps) < 4 || len(pps) == 0 {
		return nil, errors.New("rtph264: no parameter sets")
	}
	fmtp := fmt.Sprintf("%d packetization-mode=1;profile-level-id=%02X%02X%02X;sprop-parameter-sets=%s,%s",
		PayloadType, sps[1], sps[2], sps[3],
		base64.StdEncoding.EncodeToString(sps), base64.StdEncoding.EncodeToString(pps))
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:   "video",
			Port:    sdp.RangedPort{Value: 0},
			Protos:  []string{"RTP", "AVP"},
			Formats: []string{fmt.Sprint(PayloadType)},
		},
		Attributes: []sdp.Attribute{
			{Key: "rtpmap", Value: fmt.Sprintf("%d H264/90000", PayloadType)},
			{Key: "fmtp", Value: fmtp},
			{Key: "control", Value: control},
		},
	}, nil
}
