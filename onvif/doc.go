// Package onvif serves the ONVIF device (ver10), media (ver10), imaging
// (ver20) and events (ver10, pull-point) services over SOAP, as an
// http.Handler mounted under /onvif/.
//
// Requests are SOAP 1.2 (answered in 1.2, application/soap+xml) or SOAP
// 1.1 (answered in 1.1, text/xml); the request Content-Type is ignored.
// The envelope is parsed namespace-aware and operations are dispatched on
// the namespace URI and local name of the Body's first child, never on a
// prefix or the URL path: any of DevicePath, MediaPath, ImagingPath and
// EventsPath serves any operation. Replies are built with encoding/xml and
// their Envelope declares every prefix they use (env, tds, trt, tt, ter,
// timg).
// Every address in a reply is the local address the request arrived at.
//
// Faults: an unknown operation gets env:Receiver/ter:ActionNotSupported
// with HTTP 500 and a reason containing "not implemented"; CreateProfile and DeleteProfile get
// ter:Action/ter:MaxNVTProfiles before any authentication (Synology probes
// with an unauthenticated CreateProfile); a header other than wsse:Security
// with mustUnderstand gets an env:MustUnderstand fault.
//
// Authentication: with Options.PasswordLookup and Options.Authenticate
// both nil every operation is open. Otherwise the PRE_AUTH operations
// (GetSystemDateAndTime, GetCapabilities, GetServices, GetHostname and the
// services' GetServiceCapabilities) are answered whatever credentials are
// attached, and the others need a valid WS-Security UsernameToken
// (PasswordDigest or PasswordText, Nonce and Created required, Created
// within TokenWindow, each nonce accepted once) or valid HTTP credentials
// (Options.Authenticate, e.g. Digest). Missing credentials get 401 with the
// challenges of Options.Authenticate; a bad UsernameToken gets 400 (see
// Options.WSSecurityStatus); both with env:Sender/ter:NotAuthorized.
// Operations that change the device (SetSystemDateAndTime, SystemReboot,
// SetImagingSettings, SetVideoEncoderConfiguration) also need
// Options.IsAdmin.
//
// UsernameToken PasswordDigest is Base64(SHA-1(nonce ‖ Created ‖
// password)): it needs the plain-text password, which
// Options.PasswordLookup provides (ipcamd keeps it sealed in the config
// under a key in its state directory).
//
// Media: the profiles are fixed (CreateProfile faults), but their video
// encoder settings are not: SetVideoEncoderConfiguration changes the
// resolution (among Profile.Resolutions), frame rate, bit rate (clamped
// to the range GetVideoEncoderConfigurationOptions reports) and GOP
// through Options.SetVideoEncoder, which makes the change live and
// persistent. Quality, multicast and session timeout are fixed.
package onvif
