package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"

	"github.com/ipcamd/ipcamd/onvif/discovery"
)

// startDiscovery runs the ONVIF WS-Discovery responder for the HTTP server
// listening on httpAddr until ctx ends; wait returns once it has said Bye.
//
// The responder serves the interfaces HTTP is reachable on: every one when
// HTTP listens on all addresses, else the one holding its address. An HTTP
// server on loopback or IPv6 only is not announced. Problems are logged,
// never fatal.
func startDiscovery(ctx context.Context, httpAddr net.Addr, log *slog.Logger) (wait func()) {
	noop := func() {}
	ta, ok := httpAddr.(*net.TCPAddr)
	if !ok {
		return noop
	}
	var ifaces []string
	if !ta.IP.IsUnspecified() {
		name := interfaceWithIP(ta.IP)
		if ta.IP.To4() == nil || ta.IP.IsLoopback() || name == "" {
			log.Debug("discovery: off, HTTP listens on a loopback, IPv6 or unknown address", "http", ta)
			return noop
		}
		ifaces = []string{name}
	}
	mac := firstMAC()
	hw := runtime.GOARCH
	if hw == "" {
		hw = "ipcamd"
	}
	r, err := discovery.New(discovery.Options{
		Name:       "ipcamd",
		Hardware:   hw,
		MAC:        mac,
		XAddrPort:  ta.Port,
		Path:       "/onvif/device_service",
		Interfaces: ifaces,
		Logger:     log,
	})
	if err != nil {
		log.Warn("discovery: not started", "err", err)
		return noop
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			log.Warn("discovery: stopped", "err", err)
		}
	}()
	return func() { <-done }
}

// firstMAC returns the hardware address of the first non-loopback
// interface that has one.
func firstMAC() net.HardwareAddr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	zero := make([]byte, 6)
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) < 6 || bytes.Equal(ifi.HardwareAddr[:6], zero) {
			continue
		}
		return ifi.HardwareAddr
	}
	return nil
}

// interfaceWithIP returns the name of the interface holding ip, or "".
func interfaceWithIP(ip net.IP) string {
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifi := range ifs {
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.Equal(ip) {
				return ifi.Name
			}
		}
	}
	return ""
}
