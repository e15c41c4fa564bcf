#!/usr/bin/python3
# gst-rtsp-server peer for the ipcamd fan-out benchmark.
#
#   /usr/bin/python3 bench/peers/gst_rtsp_server.py PORT CLIP.h264 [BIND] [FPS]
#
# Serves rtsp://BIND:PORT/main from ONE shared media: the Annex-B clip is read
# by multifilesrc in a loop (loop=true re-opens the same file at EOF), split
# into access units by h264parse, time-stamped from the caps' framerate and
# paced in real time by the clock-synchronised sinks of the media pipeline,
# then packetized by rtph264pay. No re-encoding: the server's CPU is RTP
# packetization + fan-out only. Python only builds the pipeline; it is not in
# the per-packet path.
#
# Must run with /usr/bin/python3 (Debian's, which has python3-gi), not pyenv's.
import os
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
gi.require_version('GstRtsp', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)
port, clip = sys.argv[1], sys.argv[2]
bind = sys.argv[3] if len(sys.argv) > 3 else '127.0.0.1'
fps = sys.argv[4] if len(sys.argv) > 4 else '25'

# Knobs (environment), defaults chosen after checking the RTP output:
#   GST_BENCH_FORMAT  h264parse output: avc (default; byte-stream makes
#                     h264parse insert an AUD NAL into every access unit)
#   GST_BENCH_CI      rtph264pay config-interval (default 1, see README)
#   GST_BENCH_AGG     rtph264pay aggregate-mode (default zero-latency: small
#                     NAL units go into STAP-A, as gortsplib's encoder does)
stream_format = os.environ.get('GST_BENCH_FORMAT', 'avc')
config_interval = os.environ.get('GST_BENCH_CI', '1')
aggregate = os.environ.get('GST_BENCH_AGG', 'zero-latency')

# multifilesrc caps: the file is a byte stream with no timestamps; the
# framerate lets h264parse (baseparse) give every access unit a DTS of
# n * 1/fps, continuing monotonically across loops (PTS is copied from DTS by
# the probe below). The clock-synchronised sinks of the (non-live) media
# pipeline pace delivery at fps.
launch = (
    f'( multifilesrc location="{clip}" loop=true '
    f'caps="video/x-h264,stream-format=byte-stream,framerate={fps}/1" '
    '! h264parse name=parse '
    f'! video/x-h264,stream-format={stream_format},alignment=au '
    f'! rtph264pay name=pay0 pt=96 config-interval={config_interval} mtu=1400 '
    f'aggregate-mode={aggregate} )'
)

srv = GstRtspServer.RTSPServer()
srv.set_address(bind)
srv.set_service(port)
f = GstRtspServer.RTSPMediaFactory()
f.set_launch(launch)
f.set_shared(True)


def set_pts(_pad, info):
    # h264parse interpolates DTS from the framerate but leaves PTS unset for a
    # raw byte stream; rtph264pay takes the RTP timestamp from PTS. The clip
    # has no B-frames, so PTS = DTS. Runs once per access unit (25/s), not
    # per packet or per client.
    buf = info.get_buffer()
    if buf.pts == Gst.CLOCK_TIME_NONE:
        buf.pts = buf.dts
    return Gst.PadProbeReturn.OK


def on_configure(_factory, media):
    parse = media.get_element().get_by_name('parse')
    parse.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, set_pts)


f.connect('media-configure', on_configure)
f.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
srv.get_mount_points().add_factory('/main', f)
srv.attach(None)
print(f'gst-rtsp-server on rtsp://{bind}:{port}/main', flush=True)
print(f'launch: {launch}', flush=True)
GLib.MainLoop().run()
