#!/usr/bin/python3
"""Drives ipcamd's ONVIF device, media and imaging services with python3-zeep (the
SOAP library Home Assistant's ONVIF integration is built on), loading the
official WSDLs, so every reply is parsed against the schema.

usage: zeep_client.py WSDL_DIR HOST PORT [USER PASSWORD [digest|wsse]]

Prints one line per check and "stream <token> <uri>" for each profile; exits
non-zero on the first failure."""
import os
import sys

from zeep import Client, Settings
from zeep.transports import Transport

wsdl_dir, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
user = password = mode = None
if len(sys.argv) > 5:
    user, password = sys.argv[4], sys.argv[5]
    mode = sys.argv[6] if len(sys.argv) > 6 else "digest"

import requests
from requests.auth import HTTPDigestAuth

session = requests.Session()
wsse = None
if mode == "digest":
    session.auth = HTTPDigestAuth(user, password)
elif mode == "wsse":
    from zeep.wsse.username import UsernameToken
    wsse = UsernameToken(user, password, use_digest=True)
transport = Transport(session=session, timeout=10)
settings = Settings(strict=True)
base = "http://%s:%d" % (host, port)


from zeep.plugins import HistoryPlugin

history = HistoryPlugin()  # the last request and reply, for raw checks


def service(wsdl, binding, path):
    c = Client(os.path.join(wsdl_dir, wsdl), transport=transport, settings=settings, wsse=wsse, plugins=[history])
    return c.create_service(binding, base + path)


def check(name, cond, value):
    if not cond:
        print("FAIL", name, repr(value))
        sys.exit(1)
    print("ok", name)


dev = service("devicemgmt.wsdl", "{http://www.onvif.org/ver10/device/wsdl}DeviceBinding", "/onvif/device_service")
media = service("media.wsdl", "{http://www.onvif.org/ver10/media/wsdl}MediaBinding", "/onvif/media_service")
imaging = service("imaging.wsdl", "{http://www.onvif.org/ver20/imaging/wsdl}ImagingBinding", "/onvif/imaging_service")

t = dev.GetSystemDateAndTime()
check("GetSystemDateAndTime UTC year", t.UTCDateTime.Date.Year >= 2024, t)
check("GetSystemDateAndTime TZ", bool(t.TimeZone.TZ), t)

info = dev.GetDeviceInformation()
for f in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId"):
    check("GetDeviceInformation " + f, bool(info[f]), info)

caps = dev.GetCapabilities(Category="All")
check("GetCapabilities Media XAddr", caps.Media.XAddr == base + "/onvif/media_service", caps.Media.XAddr)
check("GetCapabilities Device XAddr", caps.Device.XAddr == base + "/onvif/device_service", caps.Device.XAddr)
check("GetCapabilities RTP_RTSP_TCP", caps.Media.StreamingCapabilities.RTP_RTSP_TCP is True, caps.Media)
check("GetCapabilities Imaging", caps.Imaging.XAddr == base + "/onvif/imaging_service", caps.Imaging)
check("GetCapabilities Events", caps.Events.XAddr.startswith(base), caps.Events)

svcs = dev.GetServices(IncludeCapability=True)
check("GetServices", {s.Namespace for s in svcs} == {"http://www.onvif.org/ver10/device/wsdl", "http://www.onvif.org/ver10/media/wsdl",
                                                     "http://www.onvif.org/ver20/imaging/wsdl",
                                                     "http://www.onvif.org/ver10/events/wsdl"}, svcs)
check("GetServices imaging XAddr", any(s.XAddr == base + "/onvif/imaging_service" for s in svcs), svcs)
sc = dev.GetServiceCapabilities()
check("GetServiceCapabilities", sc.Security.UsernameToken is True, sc)
scopes = dev.GetScopes()
check("GetScopes", any(s.ScopeItem == "onvif://www.onvif.org/Profile/Streaming" for s in scopes), scopes)
hn = dev.GetHostname()
check("GetHostname", hn.FromDHCP is False, hn)
nics = dev.GetNetworkInterfaces()
check("GetNetworkInterfaces", len(nics) > 0 and all(n.Info.HwAddress for n in nics), nics)
dns = dev.GetDNS()
check("GetDNS", dns.FromDHCP is False, dns)
ntp = dev.GetNTP()
check("GetNTP", ntp.FromDHCP is False, ntp)
gw = dev.GetNetworkDefaultGateway()
check("GetNetworkDefaultGateway", gw is not None, gw)
try:
    dev.SetSystemDateAndTime(DateTimeType="NTP", DaylightSavings=False)
    check("SetSystemDateAndTime", True, None)
except Exception as e:  # a viewer may not change the device
    check("SetSystemDateAndTime refused", user is not None and "NotAuthorized" in " ".join(map(str, getattr(e, "subcodes", None) or [])), e)

msc = media.GetServiceCapabilities()
check("media GetServiceCapabilities", msc.SnapshotUri is True, msc)
profiles = media.GetProfiles()
check("GetProfiles", len(profiles) >= 1, profiles)
for p in profiles:
    vec = p.VideoEncoderConfiguration
    check("profile %s H264" % p.token, vec.Encoding == "H264", vec)
    check("profile %s RateControl" % p.token, vec.RateControl.BitrateLimit > 0 and vec.RateControl.FrameRateLimit > 0, vec)
    check("profile %s H264 GovLength" % p.token, vec.H264.GovLength > 0 and vec.H264.H264Profile == "Baseline", vec)
    print("size %s %dx%d" % (p.token, vec.Resolution.Width, vec.Resolution.Height))
    one = media.GetProfile(ProfileToken=p.token)
    check("GetProfile %s" % p.token, one.token == p.token, one)
    uri = media.GetStreamUri(StreamSetup={"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}, ProfileToken=p.token)
    check("GetStreamUri %s" % p.token, uri.Uri.startswith("rtsp://%s:" % host) and uri.Timeout is not None, uri)
    print("stream", p.token, uri.Uri)
    snap = media.GetSnapshotUri(ProfileToken=p.token)
    check("GetSnapshotUri %s" % p.token, snap.Uri == base + "/snapshot.jpg", snap)
    opts = media.GetVideoEncoderConfigurationOptions(ProfileToken=p.token)
    check("GetVideoEncoderConfigurationOptions %s" % p.token, len(opts.H264.ResolutionsAvailable) >= 1, opts)
    c = media.GetVideoEncoderConfiguration(ConfigurationToken=vec.token)
    check("GetVideoEncoderConfiguration %s" % p.token, c.token == vec.token, c)

vs = media.GetVideoSources()
check("GetVideoSources", len(vs) == 1 and vs[0].Resolution.Width > 0, vs)
vscs = media.GetVideoSourceConfigurations()
check("GetVideoSourceConfigurations", len(vscs) == 1, vscs)
vsc = media.GetVideoSourceConfiguration(ConfigurationToken=vscs[0].token)
check("GetVideoSourceConfiguration", vsc.SourceToken == vs[0].token, vsc)
vecs = media.GetVideoEncoderConfigurations()
check("GetVideoEncoderConfigurations", len(vecs) == len(profiles), vecs)

# Imaging, on the source of the first profile as Home Assistant does.
src = profiles[0].VideoSourceConfiguration.SourceToken
isc = imaging.GetServiceCapabilities()
check("imaging GetServiceCapabilities", isc.ImageStabilization is False, isc)
iopts = imaging.GetOptions(VideoSourceToken=src)
check("imaging GetOptions IrCutFilterModes", list(iopts.IrCutFilterModes) == ["ON", "OFF", "AUTO"], iopts)
check("imaging GetOptions Brightness", iopts.Brightness.Min == 0 and iopts.Brightness.Max == 100, iopts)
ims = imaging.GetImagingSettings(VideoSourceToken=src)
check("imaging GetImagingSettings", ims.IrCutFilter in ("ON", "OFF", "AUTO") and ims.Brightness is not None, ims)
print("ircut", ims.IrCutFilter)


def subcodes(e):
    return " ".join(map(str, getattr(e, "subcodes", None) or []))


try:
    imaging.SetImagingSettings(VideoSourceToken=src, ImagingSettings={"IrCutFilter": "OFF"})
    ims2 = imaging.GetImagingSettings(VideoSourceToken=src)
    check("imaging SetImagingSettings OFF", ims2.IrCutFilter == "OFF" and ims2.Brightness == ims.Brightness, ims2)
    imaging.SetImagingSettings(VideoSourceToken=src, ImagingSettings={"Brightness": 60.0}, ForcePersistence=True)
    ims2 = imaging.GetImagingSettings(VideoSourceToken=src)
    check("imaging SetImagingSettings partial", ims2.IrCutFilter == "OFF" and ims2.Brightness == 60.0, ims2)
    imaging.SetImagingSettings(VideoSourceToken=src, ImagingSettings={"IrCutFilter": "AUTO"})
    ims2 = imaging.GetImagingSettings(VideoSourceToken=src)
    check("imaging SetImagingSettings AUTO", ims2.IrCutFilter == "AUTO" and ims2.Brightness == 60.0, ims2)
    imaging.SetImagingSettings(VideoSourceToken=src, ImagingSettings={"Brightness": ims.Brightness})
except Exception as e:  # a viewer may not change the device
    check("imaging SetImagingSettings refused", user is not None and "NotAuthorized" in subcodes(e), e)
try:
    imaging.GetImagingSettings(VideoSourceToken="NoSuchSource")
    check("imaging NoSource", False, None)
except Exception as e:
    check("imaging NoSource", "NoSource" in subcodes(e), e)
try:
    imaging.GetStatus(VideoSourceToken=src)
    check("imaging GetStatus not supported", False, None)
except Exception as e:
    check("imaging GetStatus not supported", "ActionNotSupported" in subcodes(e), e)

# Events: a pull point, as Home Assistant's onvif-zeep-async uses it.
events = service("events.wsdl", "{http://www.onvif.org/ver10/events/wsdl}EventBinding", "/onvif/events_service")
esc = events.GetServiceCapabilities()
check("events GetServiceCapabilities", esc.WSPullPointSupport is True, esc)
check("GetCapabilities Events WSPullPointSupport", caps.Events.WSPullPointSupport is True, caps.Events)
props = events.GetEventProperties()
check("GetEventProperties", props.FixedTopicSet is True and props.TopicSet is not None, props)
sub = events.CreatePullPointSubscription(InitialTerminationTime="PT30S")
addr = sub.SubscriptionReference.Address._value_1
check("CreatePullPointSubscription address", addr.startswith(base + "/onvif/events_service?sub="), sub)
check("CreatePullPointSubscription times", sub.TerminationTime > sub.CurrentTime, sub)
# zeep drops the text of the mixed-content wsnt:Topic (Topic._value_1 is
# None; onvif-zeep-async patches zeep for it), so topics are read from the
# raw reply kept by a HistoryPlugin.
pullpoint = Client(os.path.join(wsdl_dir, "events.wsdl"), transport=transport, settings=settings, wsse=wsse,
                   plugins=[history]).create_service("{http://www.onvif.org/ver10/events/wsdl}PullPointSubscriptionBinding", addr)
msgs = pullpoint.PullMessages(Timeout="PT1S", MessageLimit=10)
WSNT = "{http://docs.oasis-open.org/wsn/b-2}"
TT = "{http://www.onvif.org/ver10/schema}"
topics = [t.text for t in history.last_received["envelope"].iter(WSNT + "Topic")]
check("PullMessages initial topics", topics == ["tns1:VideoSource/MotionAlarm", "tns1:VideoSource/ImageTooDark/ImagingService"], topics)
m0 = msgs.NotificationMessage[0].Message._value_1
state = m0.find(TT + "Data/" + TT + "SimpleItem").attrib
check("PullMessages initial state", m0.get("PropertyOperation") == "Initialized" and
      m0.find(TT + "Source/" + TT + "SimpleItem").get("Value") == src and
      state.get("Name") == "State" and state.get("Value") in ("true", "false"), msgs)
print("motion", state["Value"])
import time as _time
start = _time.monotonic()
msgs = pullpoint.PullMessages(Timeout="PT1S", MessageLimit=10)
check("PullMessages timeout", len(msgs.NotificationMessage) == 0 and _time.monotonic() - start >= 0.8, msgs)
pullpoint.SetSynchronizationPoint()
msgs = pullpoint.PullMessages(Timeout="PT0S", MessageLimit=10)
check("SetSynchronizationPoint", len(msgs.NotificationMessage) == 2, msgs)
manager = service("events.wsdl", "{http://www.onvif.org/ver10/events/wsdl}SubscriptionManagerBinding", addr[len(base):])
renewed = manager.Renew(TerminationTime="PT1M")
check("Renew", renewed.TerminationTime > sub.TerminationTime, renewed)
manager.Unsubscribe()
try:
    pullpoint.PullMessages(Timeout="PT0S", MessageLimit=1)
    check("PullMessages after Unsubscribe faults", False, None)
except Exception as e:
    check("PullMessages after Unsubscribe faults", "ResourceUnknown" in subcodes(e), e)

# Change the sub stream's encoder as an NVR does: read the configuration
# and its options, change some values, send the whole configuration back.
subs = [p for p in profiles if p.token == "sub"]
if subs:
    vec = media.GetVideoEncoderConfiguration(ConfigurationToken=subs[0].VideoEncoderConfiguration.token)
    vopts = media.GetVideoEncoderConfigurationOptions(ConfigurationToken=vec.token)
    smallest = min((r.Width, r.Height) for r in vopts.H264.ResolutionsAvailable)
    # zeep files Extension/H264 under the xs:any that comes first in
    # VideoEncoderOptionsExtension; look for it in the raw reply.
    br = history.last_received["envelope"].find(".//" + TT + "Extension/" + TT + "H264/" + TT + "BitrateRange/" + TT + "Max")
    check("GetVideoEncoderConfigurationOptions BitrateRange", br is not None and int(br.text) >= 300, vopts.Extension)
    vec.Resolution.Width, vec.Resolution.Height = smallest
    vec.RateControl.BitrateLimit, vec.RateControl.FrameRateLimit, vec.H264.GovLength = 300, 15, 30
    try:
        media.SetVideoEncoderConfiguration(Configuration=vec, ForcePersistence=True)
        got = media.GetVideoEncoderConfiguration(ConfigurationToken=vec.token)
        check("SetVideoEncoderConfiguration", (got.Resolution.Width, got.Resolution.Height, got.RateControl.BitrateLimit,
              got.RateControl.FrameRateLimit, got.H264.GovLength) == (smallest[0], smallest[1], 300, 15, 30), got)
        print("resized sub %dx%d" % smallest)
        vec.Resolution.Width = 1001
        try:
            media.SetVideoEncoderConfiguration(Configuration=vec, ForcePersistence=True)
            check("SetVideoEncoderConfiguration bad size faults", False, None)
        except Exception as e:
            check("SetVideoEncoderConfiguration bad size faults", "ConfigModify" in subcodes(e), e)
    except Exception as e:
        check("SetVideoEncoderConfiguration refused", user is not None and "NotAuthorized" in subcodes(e), e)

try:
    media.CreateProfile(Name="SynoTestProfile")
    check("CreateProfile faults", False, None)
except Exception as e:  # zeep.exceptions.Fault
    check("CreateProfile faults", "MaxNVTProfiles" in " ".join(map(str, getattr(e, "subcodes", None) or [])) or "profiles" in str(e), e)
print("DONE")
