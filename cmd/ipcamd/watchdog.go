package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ipcamd/ipcamd/h264"
	"golang.org/x/sys/unix"
)

// WatchdogConfig configures the hardware watchdog.
type WatchdogConfig struct {
	// Device is the watchdog node, e.g. /dev/watchdog; empty turns the
	// watchdog off.
	Device string `yaml:"device"`
	// Timeout is how long the board waits without a feed before it
	// resets (2 s to 5 min; the driver may round it).
	Timeout time.Duration `yaml:"timeout"`
}

// Linux watchdog ioctls (linux/watchdog.h).
const (
	wdiocKeepalive  = 0x80045705 // _IOR('W', 5, int)
	wdiocSetTimeout = 0xc0045706 // _IOWR('W', 6, int)
)

// healthWriter passes access units on and notes when the last one went
// through: the pipeline is healthy while they keep coming. It also counts
// them, for the encoder's metrics.
type healthWriter struct {
	w    auWriter
	last atomic.Int64 // unix nanoseconds
	// frames, bytes (the NAL units' sizes) and idrs count the access
	// units written.
	frames, bytes, idrs atomic.Uint64
	rate                rateWindow
}

func (h *healthWriter) WriteAccessUnit(au *h264.AccessUnit) error {
	now := time.Now().UnixNano()
	h.last.Store(now)
	n := 0
	for _, nalu := range au.NALUs {
		n += len(nalu)
	}
	h.frames.Add(1)
	h.bytes.Add(uint64(n))
	if au.IDR() {
		h.idrs.Add(1)
	}
	h.rate.note(now, h)
	return h.w.WriteAccessUnit(au)
}

// counts returns the number of access units written, their bytes and the
// number of IDRs among them. The counts only grow.
func (h *healthWriter) counts() (frames, bytes, idrs uint64) {
	return h.frames.Load(), h.bytes.Load(), h.idrs.Load()
}

// since returns the time since the last access unit, or since start if
// there has been none.
func (h *healthWriter) since(start time.Time) time.Duration {
	if l := h.last.Load(); l != 0 {
		return time.Since(time.Unix(0, l))
	}
	return time.Since(start)
}

// runWatchdog feeds the watchdog while the pipeline is healthy: an access
// unit reached the ring within half the timeout (the camera gets a whole
// timeout to start). When it stalls the feeding stops, and the board
// resets once the timeout runs out. At a clean exit the watchdog is
// disarmed with the magic close ('V'), so a shutdown or a restart in
// place does not reset the board.
func runWatchdog(ctx context.Context, cfg WatchdogConfig, health *healthWriter, log *slog.Logger) error {
	f, err := os.OpenFile(cfg.Device, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	fd := int(f.Fd())
	secs := int32(cfg.Timeout / time.Second)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), wdiocSetTimeout, uintptr(unsafe.Pointer(&secs))); errno != 0 {
		log.Warn("watchdog: cannot set the timeout, using the driver's", "device", cfg.Device, "err", errno)
	}
	timeout := time.Duration(secs) * time.Second
	log.Info("watchdog armed", "device", cfg.Device, "timeout", timeout)
	feed := func() {
		var dummy int32
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), wdiocKeepalive, uintptr(unsafe.Pointer(&dummy)))
	}
	start := time.Now()
	t := time.NewTicker(timeout / 4)
	defer t.Stop()
	stalled := false
	for {
		grace := timeout / 2
		if health.last.Load() == 0 {
			grace = timeout // the first frame may take a camera a while
		}
		switch since := health.since(start); {
		case since < grace:
			feed()
			if stalled {
				log.Info("watchdog: the pipeline is flowing again; feeding")
				stalled = false
			}
		case !stalled:
			stalled = true
			log.Error("watchdog: the pipeline has stalled; no longer feeding: the board resets unless it recovers",
				"since_last_frame", since.Round(time.Millisecond), "timeout", timeout)
		}
		select {
		case <-ctx.Done():
			f.Write([]byte("V")) // magic close: disarm
			f.Close()
			log.Info("watchdog disarmed")
			return nil
		case <-t.C:
		}
	}
}
