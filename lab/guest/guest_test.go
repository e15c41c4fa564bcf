//go:build labguest

// Package guest holds tests that run inside the emulated board (built with
// -tags labguest for linux/arm64 by TestLabRunsGuestTests). They check the
// lab itself: that vicodec's stateful FWHT encoder is there for the
// encoder/v4l2m2m Lab tests.
package guest

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

type capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type fmtdesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	PixelFormat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

const (
	vidiocQuerycap = 0x80685600
	vidiocEnumFmt  = 0xc0405602
	fourccFWHT     = 'F' | 'W'<<8 | 'H'<<16 | 'T'<<24
)

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// TestLabVicodecEncoder finds the vicodec node whose CAPTURE queue offers
// FWHT: the stateful encoder.
func TestLabVicodecEncoder(t *testing.T) {
	if os.Getenv("IPCAMD_LAB") != "1" {
		t.Fatal("IPCAMD_LAB=1 is not set: this test runs only inside the lab board")
	}
	nodes, _ := filepath.Glob("/dev/video*")
	for _, n := range nodes {
		fd, err := unix.Open(n, unix.O_RDWR|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatalf("open %s: %v", n, err)
		}
		var c capability
		if err := ioctl(fd, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
			t.Fatalf("VIDIOC_QUERYCAP %s: %v", n, err)
		}
		caps := c.DeviceCaps
		if unix.ByteSliceToString(c.Driver[:]) != "vicodec" || caps&(0x4000|0x8000) == 0 {
			unix.Close(fd)
			continue
		}
		bufType := uint32(1) // VIDEO_CAPTURE
		if caps&0x4000 != 0 {
			bufType = 9 // VIDEO_CAPTURE_MPLANE
		}
		for i := uint32(0); ; i++ {
			d := fmtdesc{Index: i, Type: bufType}
			if ioctl(fd, vidiocEnumFmt, unsafe.Pointer(&d)) != nil {
				break
			}
			if d.PixelFormat == fourccFWHT {
				t.Logf("vicodec encoder: %s (device_caps %#x, capture format %q)", n, caps, unix.ByteSliceToString(d.Description[:]))
				unix.Close(fd)
				return
			}
		}
		unix.Close(fd)
	}
	t.Fatalf("no vicodec encoder (M2M node with FWHT on CAPTURE) among %v", nodes)
}
