package main

import (
	"fmt"
	"io"

	capture "github.com/ipcamd/ipcamd/capture/v4l2"
	"github.com/ipcamd/ipcamd/encoder/v4l2m2m"
	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// devices prints every V4L2 device with its driver, formats, sizes and
// rates, and says which are H.264 encoders ipcamd can use.
func devices(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: ipcamd devices")
		return 2
	}
	cams, err := capture.List()
	if err != nil {
		fmt.Fprintln(stderr, "ipcamd devices:", err)
		return 1
	}
	if len(cams) == 0 {
		fmt.Fprintln(stdout, "no V4L2 devices (/dev/video*): ipcamd can stream its test pattern (-source testsrc) or a file")
		return 0
	}
	encoders := 0
	for i := range cams {
		d := &cams[i]
		if err := d.WriteText(stdout); err != nil {
			fmt.Fprintln(stderr, "ipcamd devices:", err)
			return 1
		}
		if uint32(d.Caps)&(v4l2.CapVideoM2M|v4l2.CapVideoM2MMPlane) == 0 {
			continue
		}
		m, err := v4l2m2m.Probe(d.Path)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "  memory-to-memory: %v\n", err)
		case m.Supports(v4l2.PixFmtH264):
			encoders++
			fmt.Fprintf(stdout, "  H.264 encoder, usable by ipcamd (encoder.device: %s): %s\n", d.Path, m)
		default:
			fmt.Fprintf(stdout, "  memory-to-memory, not an H.264 encoder: %s\n", m)
		}
	}
	if encoders == 0 {
		fmt.Fprintln(stdout, "no hardware H.264 encoder: raw cameras use the software encoder")
	}
	return 0
}
