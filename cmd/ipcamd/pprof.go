//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

// Built with -tags pprof, ipcamd serves net/http/pprof on IPCAMD_PPROF
// (default 127.0.0.1:6060), for profiling on a bench machine.
func init() {
	addr := os.Getenv("IPCAMD_PPROF")
	if addr == "" {
		addr = "127.0.0.1:6060"
	}
	go http.ListenAndServe(addr, nil)
}
