#!/usr/bin/python3
"""Reference RTSP server for validating the e2e harness (not ipcamd).

Usage: /usr/bin/python3 gst_rtsp_server.py PORT CLIP.h264 [--timeout SECONDS] [--shared]

Serves rtsp://127.0.0.1:PORT/main: the Annex-B clip as a live stream (appsrc
is-live), looped forever at 25 fps, one pipeline per client, so every client
starts on the clip's first IDR (like ipcamd's join policy). The clip carries
SPS/PPS in-band before every IDR, so rtph264pay inserts none (config-interval=-1
would put them before each of the IDR's two slices, which splits the access
unit for ffmpeg and gortsplib). --shared serves one pipeline to all clients
instead (fan-out, as in ipcamd; then clients join mid-GOP). SIGTERM removes every client and exits 0;
before that, EOS into every pipeline makes rtpbin send RTCP BYE.
"""
import argparse
import os
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
gi.require_version('GstRtsp', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)
ap = argparse.ArgumentParser()
ap.add_argument('port')
ap.add_argument('clip')
ap.add_argument('--timeout', type=int, default=0, help='session timeout in seconds (0: default 60)')
ap.add_argument('--shared', action='store_true', help='one pipeline for all clients')
args = ap.parse_args()
port, clip, timeout = args.port, args.clip, args.timeout
FRAME = Gst.SECOND // 25

# Load the clip once as a list of access units.
loader = Gst.parse_launch(
    f'filesrc location="{clip}" ! h264parse ! '
    'video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=s sync=false')
sink = loader.get_by_name('s')
loader.set_state(Gst.State.PLAYING)
units = []
while True:
    sample = sink.emit('pull-sample')
    if sample is None:
        break
    buf = sample.get_buffer()
    units.append(buf.extract_dup(0, buf.get_size()))
loader.set_state(Gst.State.NULL)
if not units:
    sys.exit(f'no access units in {clip}')

srv = GstRtspServer.RTSPServer()
srv.set_address('127.0.0.1')
srv.set_service(port)

f = GstRtspServer.RTSPMediaFactory()
f.set_launch('( appsrc name=src is-live=true format=time do-timestamp=false '
             'caps="video/x-h264,stream-format=byte-stream,alignment=au,framerate=25/1" ! '
             'h264parse ! rtph264pay name=pay0 pt=96 config-interval=0 )')
f.set_shared(args.shared)
f.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)


sources = set()  # appsrc of every live media


def on_media_configure(_factory, media):
    src = media.get_element().get_by_name('src')
    state = {'n': 0}
    sources.add(src)
    media.connect('unprepared', lambda _m: sources.discard(src))

    def need_data(appsrc, _length):
        n = state['n']
        state['n'] = n + 1
        buf = Gst.Buffer.new_wrapped(units[n % len(units)])
        buf.pts = buf.dts = n * FRAME
        buf.duration = FRAME
        appsrc.emit('push-buffer', buf)

    src.connect('need-data', need_data)


f.connect('media-configure', on_media_configure)
srv.get_mount_points().add_factory('/main', f)


def on_new_session(_client, session):
    if timeout > 0:
        session.set_timeout(timeout)


srv.connect('client-connected', lambda _s, client: client.connect('new-session', on_new_session))

# gst-rtsp-server only expires sessions when someone calls cleanup().
pool = srv.get_session_pool()
GLib.timeout_add(250, lambda: pool.cleanup() >= 0)

loop = GLib.MainLoop()


def on_sigterm():
    # EOS into every pipeline makes rtpbin send RTCP BYE; then drop clients.
    for src in list(sources):
        src.emit('end-of-stream')

    def finish():
        srv.client_filter(lambda _s, _c: GstRtspServer.RTSPFilterResult.REMOVE)
        GLib.timeout_add(200, loop.quit)
        return GLib.SOURCE_REMOVE

    GLib.timeout_add(400, finish)
    return GLib.SOURCE_REMOVE


GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, on_sigterm)
srv.attach(None)
print(f'gst-rtsp-server on rtsp://127.0.0.1:{port}/main ({len(units)} access units)', flush=True)
loop.run()
sys.stdout.flush()
os._exit(0)
