package onvif

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

func (s *Server) handle(ns, local string, access int, fn func(c *call) (*el, error)) {
	s.ops[xmlName(ns, local)] = operation{access: access, fn: fn}
}

func bstr(b bool) string { return strconv.FormatBool(b) }
func itoa(i int) string  { return strconv.Itoa(i) }

func (s *Server) deviceOps() {
	d := NSDevice
	s.handle(d, "GetSystemDateAndTime", preAuth, s.getSystemDateAndTime)
	s.handle(d, "GetCapabilities", preAuth, s.getCapabilities)
	s.handle(d, "GetServices", preAuth, s.getServices)
	s.handle(d, "GetServiceCapabilities", preAuth, func(c *call) (*el, error) {
		return e("tds:GetServiceCapabilitiesResponse", s.deviceServiceCaps()), nil
	})
	s.handle(d, "GetHostname", preAuth, s.getHostname)
	s.handle(d, "GetDeviceInformation", read, func(c *call) (*el, error) {
		o := &s.opts
		return e("tds:GetDeviceInformationResponse",
			e("tds:Manufacturer", o.Manufacturer), e("tds:Model", o.Model),
			e("tds:FirmwareVersion", o.FirmwareVersion), e("tds:SerialNumber", o.SerialNumber),
			e("tds:HardwareId", o.HardwareID)), nil
	})
	s.handle(d, "GetScopes", read, func(c *call) (*el, error) {
		r := e("tds:GetScopesResponse")
		for _, sc := range s.opts.Scopes {
			r.kids = append(r.kids, e("tds:Scopes", e("tt:ScopeDef", "Fixed"), e("tt:ScopeItem", sc)))
		}
		return r, nil
	})
	s.handle(d, "GetNetworkInterfaces", read, s.getNetworkInterfaces)
	s.handle(d, "GetDNS", read, func(c *call) (*el, error) {
		info := e("tds:DNSInformation", e("tt:FromDHCP", "false"))
		for _, ns := range resolvConf() {
			if ip, err := netip.ParseAddr(ns); err == nil && ip.Is4() {
				info.kids = append(info.kids, e("tt:DNSManual", e("tt:Type", "IPv4"), e("tt:IPv4Address", ip.String())))
			}
		}
		return e("tds:GetDNSResponse", info), nil
	})
	s.handle(d, "GetNTP", read, func(c *call) (*el, error) {
		return e("tds:GetNTPResponse", e("tds:NTPInformation", e("tt:FromDHCP", "false"))), nil
	})
	s.handle(d, "GetNetworkDefaultGateway", read, func(c *call) (*el, error) {
		gw := e("tds:NetworkGateway")
		for _, g := range defaultGateways() {
			gw.kids = append(gw.kids, e("tt:IPv4Address", g))
		}
		return e("tds:GetNetworkDefaultGatewayResponse", gw), nil
	})
	s.handle(d, "SetSystemDateAndTime", write, s.setSystemDateAndTime)
	s.handle(d, "SystemReboot", write, func(c *call) (*el, error) {
		if s.opts.Reboot == nil {
			return nil, fault(http.StatusInternalServerError, "Receiver", "reboot not implemented", "ActionNotSupported")
		}
		go s.opts.Reboot()
		return e("tds:SystemRebootResponse", e("tds:Message", "Rebooting")), nil
	})
}

func (s *Server) getSystemDateAndTime(c *call) (*el, error) {
	now := s.opts.Now()
	utc := now.UTC()
	dt := func(name string, t time.Time) *el {
		return e(name,
			e("tt:Time", e("tt:Hour", itoa(t.Hour())), e("tt:Minute", itoa(t.Minute())), e("tt:Second", itoa(t.Second()))),
			e("tt:Date", e("tt:Year", itoa(t.Year())), e("tt:Month", itoa(int(t.Month()))), e("tt:Day", itoa(t.Day()))))
	}
	typ := "NTP"
	if s.opts.SetTime != nil {
		typ = "Manual"
	}
	return e("tds:GetSystemDateAndTimeResponse", e("tds:SystemDateAndTime",
		e("tt:DateTimeType", typ),
		e("tt:DaylightSavings", "false"),
		e("tt:TimeZone", e("tt:TZ", posixTZ(now))),
		dt("tt:UTCDateTime", utc),
		dt("tt:LocalDateTime", now))), nil
}

// posixTZ returns a POSIX TZ string for t's zone offset, such as UTC0 or
// CET-1 (POSIX offsets have the opposite sign of ISO ones).
func posixTZ(t time.Time) string {
	name, off := t.Zone()
	if off == 0 {
		return "UTC0"
	}
	if len(name) < 3 || strings.ContainsAny(name, "+-0123456789") {
		name = "LOC"
	}
	sign := "-"
	if off < 0 {
		sign, off = "", -off
	}
	s := fmt.Sprintf("%s%s%d", name, sign, off/3600)
	if m := off % 3600 / 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

func (s *Server) setSystemDateAndTime(c *call) (*el, error) {
	typ := c.op.child(NSDevice, "DateTimeType").text()
	if typ != "Manual" && typ != "NTP" {
		return nil, fault(http.StatusBadRequest, "Sender", "DateTimeType must be Manual or NTP", "InvalidArgVal", "InvalidDateTime")
	}
	if typ == "Manual" && s.opts.SetTime != nil {
		u := c.op.child(NSDevice, "UTCDateTime")
		tm, dt := u.child(NSSchema, "Time"), u.child(NSSchema, "Date")
		n := func(x *node, name string) int {
			v, err := strconv.Atoi(x.child(NSSchema, name).text())
			if err != nil {
				return -1
			}
			return v
		}
		y, mo, d, h, mi, sec := n(dt, "Year"), n(dt, "Month"), n(dt, "Day"), n(tm, "Hour"), n(tm, "Minute"), n(tm, "Second")
		t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
		if u == nil || y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 || t.Day() != d {
			return nil, fault(http.StatusBadRequest, "Sender", "invalid UTCDateTime", "InvalidArgVal", "InvalidDateTime")
		}
		if err := s.opts.SetTime(t); err != nil {
			return nil, err
		}
	}
	return e("tds:SetSystemDateAndTimeResponse"), nil
}

func (s *Server) xaddrs(c *call) (device, media, imaging, events string) {
	return c.url("http", c.port, DevicePath), c.url("http", c.port, MediaPath),
		c.url("http", c.port, ImagingPath), c.url("http", c.port, EventsPath)
}

func (s *Server) getCapabilities(c *call) (*el, error) {
	cat := "All"
	if x := c.op.child(NSDevice, "Category"); x != nil {
		cat = x.text()
	}
	dev, media, img, ev := s.xaddrs(c)
	caps := e("tds:Capabilities")
	all := cat == "All"
	if all || cat == "Device" {
		caps.kids = append(caps.kids, e("tt:Device",
			e("tt:XAddr", dev),
			e("tt:Network", e("tt:IPFilter", "false"), e("tt:ZeroConfiguration", "false"),
				e("tt:IPVersion6", "false"), e("tt:DynDNS", "false")),
			e("tt:System", e("tt:DiscoveryResolve", "false"), e("tt:DiscoveryBye", "false"),
				e("tt:RemoteDiscovery", "false"), e("tt:SystemBackup", "false"),
				e("tt:SystemLogging", "false"), e("tt:FirmwareUpgrade", "false"),
				e("tt:SupportedVersions", e("tt:Major", "2"), e("tt:Minor", "60")))))
	}
	if all || cat == "Events" {
		caps.kids = append(caps.kids, e("tt:Events", e("tt:XAddr", ev),
			e("tt:WSSubscriptionPolicySupport", "false"), e("tt:WSPullPointSupport", "true"),
			e("tt:WSPausableSubscriptionManagerInterfaceSupport", "false")))
	}
	if all || cat == "Imaging" {
		caps.kids = append(caps.kids, e("tt:Imaging", e("tt:XAddr", img)))
	}
	if all || cat == "Media" {
		caps.kids = append(caps.kids, e("tt:Media", e("tt:XAddr", media),
			e("tt:StreamingCapabilities", e("tt:RTPMulticast", "true"), e("tt:RTP_TCP", "true"), e("tt:RTP_RTSP_TCP", "true"))))
	}
	if len(caps.kids) == 0 {
		return nil, fault(http.StatusBadRequest, "Receiver", "no such capability category", "ActionNotSupported", "NoSuchService")
	}
	return e("tds:GetCapabilitiesResponse", caps), nil
}

func (s *Server) deviceServiceCaps() *el {
	return e("tds:Capabilities",
		e("tds:Network", a("IPFilter", "false"), a("ZeroConfiguration", "false"), a("IPVersion6", "false"),
			a("DynDNS", "false"), a("Dot11Configuration", "false"), a("HostnameFromDHCP", "false"), a("NTP", "0")),
		e("tds:Security", a("TLS1.0", "false"), a("TLS1.1", "false"), a("TLS1.2", "false"),
			a("OnboardKeyGeneration", "false"), a("AccessPolicyConfig", "false"), a("DefaultAccessPolicy", "false"),
			a("Dot1X", "false"), a("RemoteUserHandling", "false"), a("X.509Token", "false"), a("SAMLToken", "false"),
			a("KerberosToken", "false"), a("UsernameToken", "true"), a("HttpDigest", "true"), a("RELToken", "false")),
		e("tds:System", a("DiscoveryResolve", "false"), a("DiscoveryBye", "false"), a("RemoteDiscovery", "false"),
			a("SystemBackup", "false"), a("SystemLogging", "false"), a("FirmwareUpgrade", "false"),
			a("HttpFirmwareUpgrade", "false"), a("HttpSystemBackup", "false"), a("HttpSystemLogging", "false"),
			a("HttpSupportInformation", "false")))
}

func (s *Server) getServices(c *call) (*el, error) {
	incl := c.op.child(NSDevice, "IncludeCapability").text() == "true"
	dev, media, img, ev := s.xaddrs(c)
	svc := func(ns, xaddr string, caps *el, major, minor string) *el {
		x := e("tds:Service", e("tds:Namespace", ns), e("tds:XAddr", xaddr))
		if incl && caps != nil {
			x.kids = append(x.kids, e("tds:Capabilities", caps))
		}
		x.kids = append(x.kids, e("tds:Version", e("tt:Major", major), e("tt:Minor", minor)))
		return x
	}
	return e("tds:GetServicesResponse",
		svc(NSDevice, dev, s.deviceServiceCaps(), "2", "60"),
		svc(NSMedia, media, s.mediaServiceCaps(), "2", "60"),
		svc(NSImg, img, s.imagingServiceCaps(), "2", "60"),
		svc(NSEvents, ev, s.eventsServiceCaps(), "2", "60")), nil
}

func (s *Server) getHostname(c *call) (*el, error) {
	name := s.opts.Hostname
	if name == "" {
		name, _ = os.Hostname()
	}
	h := e("tds:HostnameInformation", e("tt:FromDHCP", "false"))
	if name != "" {
		h.kids = append(h.kids, e("tt:Name", name))
	}
	return e("tds:GetHostnameResponse", h), nil
}

func (s *Server) getNetworkInterfaces(c *call) (*el, error) {
	ifs, err := s.opts.Interfaces()
	if err != nil {
		return nil, err
	}
	r := e("tds:GetNetworkInterfacesResponse")
	var first []*el
	for _, ifc := range ifs {
		if len(ifc.HardwareAddr) == 0 && ifc.Flags&net.FlagLoopback == 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		ip4 := e("tt:Config")
		mine := false
		for _, ad := range addrs {
			p, err := netip.ParsePrefix(ad.String())
			if err != nil || !p.Addr().Is4() {
				continue
			}
			if p.Addr() == c.local {
				mine = true
			}
			ip4.kids = append(ip4.kids, e("tt:Manual", e("tt:Address", p.Addr().String()), e("tt:PrefixLength", itoa(p.Bits()))))
		}
		if ifc.Flags&net.FlagLoopback != 0 && !mine {
			continue // lo only when the request came that way
		}
		ip4.kids = append(ip4.kids, e("tt:DHCP", "false"))
		mac := ifc.HardwareAddr.String()
		if mac == "" {
			mac = "00:00:00:00:00:00"
		}
		x := e("tds:NetworkInterfaces", a("token", ifc.Name),
			e("tt:Enabled", bstr(ifc.Flags&net.FlagUp != 0)),
			e("tt:Info", e("tt:Name", ifc.Name), e("tt:HwAddress", mac), e("tt:MTU", itoa(ifc.MTU))),
			e("tt:IPv4", e("tt:Enabled", bstr(len(ip4.kids) > 1)), ip4))
		if mine {
			first = append(first, x)
		} else {
			r.kids = append(r.kids, x)
		}
	}
	r.kids = append(first, r.kids...)
	return r, nil
}

// resolvConf lists the name servers of /etc/resolv.conf.
func resolvConf() []string {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "nameserver" {
			out = append(out, fs[1])
		}
	}
	return out
}

// defaultGateways lists the IPv4 default gateways of /proc/net/route.
func defaultGateways() []string {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || fs[1] != "00000000" {
			continue
		}
		b, err := hex.DecodeString(fs[2])
		if err != nil || len(b) != 4 {
			continue
		}
		var ip [4]byte
		binary.LittleEndian.PutUint32(ip[:], binary.BigEndian.Uint32(b))
		if a := netip.AddrFrom4(ip); !a.IsUnspecified() {
			out = append(out, a.String())
		}
	}
	return out
}
