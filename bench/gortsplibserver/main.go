// Command gortsplibserver is a minimal RTSP server for the ipcamd fan-out
// benchmark, built on gortsplib v5 (the RTSP engine inside mediamtx):
// gortsplib.Server + one gortsplib.ServerStream serving /main, fed an Annex-B
// H.264 clip that is replayed in a loop in real time (no re-encoding).
//
// Every access unit is packetized once with the format.H264 RTP encoder and
// written with ServerStream.WritePacketRTP; gortsplib marshals each packet
// once and fans it out to per-reader write queues, like mediamtx does.
//
//	gortsplibserver -clip testdata/clip-720p25.h264 -rtsp 127.0.0.1:18555
package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

type handler struct {
	stream *gortsplib.ServerStream
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Path != "/main" {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, h.stream, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Path != "/main" {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, h.stream, nil
}

func (h *handler) OnPlay(_ *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// splitAccessUnits splits an Annex-B byte stream into access units (lists of
// NAL units without start codes). A new access unit starts at a VCL NAL unit
// whose first_mb_in_slice is 0, or at a non-VCL NAL unit (AUD, SPS, PPS,
// SEI) that follows a VCL NAL unit.
func splitAccessUnits(buf []byte) ([][][]byte, error) {
	nalus := splitAnnexB(buf)
	if len(nalus) == 0 {
		return nil, errors.New("no Annex-B start code found")
	}
	var aus [][][]byte
	var cur [][]byte
	curHasVCL := false
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		typ := h264.NALUType(n[0] & 0x1f)
		isVCL := typ >= 1 && typ <= 5
		startsAU := false
		if isVCL {
			// first_mb_in_slice == 0 <=> ue(v) is the single bit '1'
			startsAU = curHasVCL && len(n) > 1 && n[1]&0x80 != 0
		} else {
			startsAU = curHasVCL
		}
		if startsAU {
			aus = append(aus, cur)
			cur, curHasVCL = nil, false
		}
		cur = append(cur, n)
		if isVCL {
			curHasVCL = true
		}
	}
	if len(cur) > 0 {
		aus = append(aus, cur)
	}
	return aus, nil
}

// splitAnnexB returns the NAL units of an Annex-B byte stream, without start
// codes. (mediacommon's h264.AnnexB.Unmarshal caps a buffer at 50 NAL units,
// so it cannot parse a whole file.)
func splitAnnexB(buf []byte) [][]byte {
	var out [][]byte
	start := -1
	i := 0
	for i+3 <= len(buf) {
		if buf[i] == 0 && buf[i+1] == 0 && buf[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && buf[end-1] == 0 { // trailing zero of a 4-byte start code
					end--
				}
				out = append(out, buf[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(buf) {
		out = append(out, buf[start:])
	}
	return out
}

func findParams(aus [][][]byte) (sps, pps []byte) {
	for _, au := range aus {
		for _, n := range au {
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				if sps == nil {
					sps = n
				}
			case h264.NALUTypePPS:
				if pps == nil {
					pps = n
				}
			}
		}
	}
	return
}

func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func main() {
	clip := flag.String("clip", "testdata/clip-720p25.h264", "Annex-B H.264 clip, replayed in a loop")
	fps := flag.Float64("fps", 25, "frame rate of the clip")
	rtspAddr := flag.String("rtsp", "127.0.0.1:18555", "RTSP listen address")
	rtpAddr := flag.String("rtp", "127.0.0.1:18000", "UDP RTP listen address (even port)")
	rtcpAddr := flag.String("rtcp", "127.0.0.1:18001", "UDP RTCP listen address (RTP port + 1)")
	payloadMax := flag.Int("payload-max", 1388, "max RTP payload size (1388 = rtph264pay mtu 1400 minus the 12-byte RTP header)")
	writeQueue := flag.Int("write-queue", 256, "per-reader write queue size (power of two; gortsplib default 256, mediamtx 512)")
	flag.Parse()

	buf, err := os.ReadFile(*clip)
	if err != nil {
		log.Fatal(err)
	}
	aus, err := splitAccessUnits(buf)
	if err != nil {
		log.Fatal(err)
	}
	sps, pps := findParams(aus)
	if sps == nil || pps == nil {
		log.Fatal("clip has no SPS/PPS")
	}

	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: sps, PPS: pps}
	desc := &description.Session{Medias: []*description.Media{{
		Type:    description.MediaTypeVideo,
		Formats: []format.Format{forma},
	}}}

	h := &handler{}
	srv := &gortsplib.Server{
		Handler:        h,
		RTSPAddress:    *rtspAddr,
		UDPRTPAddress:  *rtpAddr,
		UDPRTCPAddress: *rtcpAddr,
		WriteQueueSize: *writeQueue,
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	h.stream = &gortsplib.ServerStream{Server: srv, Desc: desc}
	if err := h.stream.Initialize(); err != nil {
		log.Fatal(err)
	}
	defer h.stream.Close()

	enc := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	rtpEnc, err := enc.CreateEncoder()
	if err != nil {
		log.Fatal(err)
	}
	rtpEnc.PayloadMaxSize = *payloadMax
	if err := rtpEnc.Init(); err != nil {
		log.Fatal(err)
	}

	// Pre-check that every AU encodes (and so fail early on a bad clip).
	for i, au := range aus {
		if _, err := rtpEnc.Encode(au); err != nil {
			log.Fatalf("access unit %d: %v", i, err)
		}
	}

	medi := desc.Medias[0]
	frameDur := time.Duration(float64(time.Second) / *fps)
	tsStep := uint32(90000 / *fps)
	ts0 := randUint32()

	go func() {
		start := time.Now()
		for n := 0; ; n++ {
			// absolute schedule: frame n is due at start + n*frameDur
			if d := time.Until(start.Add(time.Duration(n) * frameDur)); d > 0 {
				time.Sleep(d)
			}
			au := aus[n%len(aus)]
			pkts, err := rtpEnc.Encode(au)
			if err != nil {
				log.Fatal(err)
			}
			ts := ts0 + uint32(n)*tsStep
			now := time.Now()
			for _, p := range pkts {
				p.Timestamp = ts
				if err := h.stream.WritePacketRTPWithNTP(medi, p, now); err != nil {
					var closed liberrors.ErrServerStreamClosed
					if errors.As(err, &closed) {
						return
					}
					log.Printf("write: %v", err)
				}
			}
		}
	}()

	fmt.Printf("gortsplibserver on rtsp://%s/main (%d access units, %s, UDP %s/%s)\n",
		*rtspAddr, len(aus), frameDur, *rtpAddr, *rtcpAddr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-waitErr(srv):
		log.Printf("server: %v", err)
	}
}

func waitErr(srv *gortsplib.Server) <-chan error {
	c := make(chan error, 1)
	go func() { c <- srv.Wait() }()
	return c
}
