#!/usr/bin/python3
"""gst-rtsp-server in RECORD mode, as a relay that accepts a publisher.

Usage: /usr/bin/python3 gst_record_server.py PORT [--auth none|basic|digest]
       [--user U --password P]

Serves rtsp://127.0.0.1:PORT/push for ANNOUNCE + SETUP + RECORD (H.264).
The received stream goes through rtph264depay ! h264parse ! avdec_h264 when
available (else just h264parse) into a fakesink; the script prints
"decoder avdec_h264" (or "decoder none") and "ready" once listening,
"record" when a client starts recording, then "frames N" every 25 decoded
(or parsed) frames. SIGTERM exits 0.
"""
import argparse
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
ap.add_argument('--auth', default='none', choices=['none', 'basic', 'digest'])
ap.add_argument('--user', default='pub')
ap.add_argument('--password', default='secret')
args = ap.parse_args()

decode = 'avdec_h264 ! ' if Gst.ElementFactory.find('avdec_h264') else ''

srv = GstRtspServer.RTSPServer()
srv.set_address('127.0.0.1')
srv.set_service(args.port)

f = GstRtspServer.RTSPMediaFactory()
f.set_transport_mode(GstRtspServer.RTSPTransportMode.RECORD)
f.set_launch('( rtph264depay name=depay0 ! h264parse ! ' + decode +
             'identity name=count silent=true signal-handoffs=true ! fakesink async=false )')
f.set_latency(200)

counts = {'frames': 0}


def on_handoff(_identity, _buf):
    counts['frames'] += 1
    if counts['frames'] % 25 == 0:
        print(f"frames {counts['frames']}", flush=True)


def on_media_configure(_factory, media):
    el = media.get_element()
    ident = el.get_by_name('count')
    ident.connect('handoff', on_handoff)
    print('media configured', flush=True)


f.connect('media-configure', on_media_configure)

if args.auth != 'none':
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, 'publisher')
    if args.auth == 'basic':
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
    else:
        auth.add_digest(args.user, args.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    srv.set_auth(auth)
    perms = GstRtspServer.RTSPPermissions()
    perms.add_permission_for_role('publisher', GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    perms.add_permission_for_role('publisher', GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    f.set_permissions(perms)

srv.get_mount_points().add_factory('/push', f)


def on_client(_srv, client):
    def on_record(_c, _ctx):
        print('record', flush=True)
    client.connect('record-request', on_record)


srv.connect('client-connected', on_client)
if srv.attach(None) == 0:
    sys.exit('cannot listen on port ' + args.port)

loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)
print('decoder ' + ('avdec_h264' if decode else 'none'), flush=True)
print('ready', flush=True)
loop.run()
