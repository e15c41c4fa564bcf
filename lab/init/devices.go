package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// vividCIDDisconnect is vivid's "Disconnect" button control
// (VIVID_CID_VIVID_BASE + 65 in drivers/media/test-drivers/vivid/vivid-ctrls.c,
// present unless vivid is loaded with no_error_inj=1). Pressing it makes the
// vivid instance behave like an unplugged USB camera: its video nodes are
// marked unregistered, so every open fd gets ENODEV from ioctls and
// EPOLLERR|EPOLLHUP from poll, and opening the node fails with ENODEV. The
// /dev node itself stays, and vivid registers the nodes again when the last
// fd is closed.
const vividCIDDisconnect = 0x00f0f000 + 65

// vidiocSCtrl is VIDIOC_S_CTRL, _IOWR('V', 28, struct v4l2_control).
const vidiocSCtrl = 0xc008561c

// v4l2Control is struct v4l2_control.
type v4l2Control struct {
	ID    uint32
	Value int32
}

var _ [8]byte = [unsafe.Sizeof(v4l2Control{})]byte{}

// deviceHandlers adds the device control endpoints to mux. Each answers
// 200 with one line saying what it did, or 500 with the error.
//
//	/v4l2ctrl?dev=/dev/video0&id=0xf0f041&value=1
//	    VIDIOC_S_CTRL on a fresh fd of dev.
//	/rmmod?name=vivid&timeout=5s
//	    delete_module(name, O_NONBLOCK), retried every 5 ms while the module
//	    is in use (EAGAIN/EBUSY), for up to timeout (default 5 s).
//	/modprobe?name=vivid&params=n_devs=1+node_types=0x1
//	    load name (and its dependencies) with params, as at boot.
//	/unplug?dev=/dev/video0&module=vivid&timeout=5s
//	    simulate unplugging the camera dev of module: press vivid's
//	    Disconnect control on dev, then rmmod module as above, which
//	    succeeds as soon as every user has closed dev. Doing both in one
//	    request matters: vivid re-registers the node when the last user
//	    closes it, and the module must be gone before the user's first
//	    reopen attempt.
func deviceHandlers(mux *http.ServeMux) {
	mux.HandleFunc("/v4l2ctrl", func(w http.ResponseWriter, r *http.Request) {
		dev := r.FormValue("dev")
		id, err1 := strconv.ParseUint(r.FormValue("id"), 0, 32)
		val, err2 := strconv.ParseInt(r.FormValue("value"), 0, 32)
		if err := errors.Join(err1, err2); err != nil || dev == "" {
			http.Error(w, fmt.Sprintf("want dev, id and value: %v", err), http.StatusBadRequest)
			return
		}
		if err := setControl(dev, uint32(id), int32(val)); err != nil {
			reply(w, err, "")
			return
		}
		reply(w, nil, "v4l2ctrl: %s %#x=%d", dev, id, val)
	})
	mux.HandleFunc("/rmmod", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("name")
		timeout, err := timeoutParam(r)
		if err != nil || name == "" {
			http.Error(w, fmt.Sprintf("want name and timeout: %v", err), http.StatusBadRequest)
			return
		}
		d, tries, err := rmmod(name, timeout)
		reply(w, err, "rmmod: %s removed after %v (%d tries)", name, d.Round(time.Millisecond), tries)
	})
	mux.HandleFunc("/modprobe", func(w http.ResponseWriter, r *http.Request) {
		name := r.FormValue("name")
		if name == "" {
			http.Error(w, "want name", http.StatusBadRequest)
			return
		}
		start := time.Now()
		_, err := loadModule(name, r.FormValue("params"), nil)
		reply(w, err, "modprobe: %s %s loaded in %v", name, r.FormValue("params"), time.Since(start).Round(time.Millisecond))
	})
	mux.HandleFunc("/unplug", func(w http.ResponseWriter, r *http.Request) {
		dev, module := r.FormValue("dev"), r.FormValue("module")
		timeout, err := timeoutParam(r)
		if err != nil || dev == "" || module == "" {
			http.Error(w, fmt.Sprintf("want dev, module and timeout: %v", err), http.StatusBadRequest)
			return
		}
		if err := setControl(dev, vividCIDDisconnect, 1); err != nil {
			reply(w, err, "")
			return
		}
		d, tries, err := rmmod(module, timeout)
		reply(w, err, "unplug: %s disconnected, %s removed %v later (%d tries)", dev, module, d.Round(time.Millisecond), tries)
	})
}

// reply logs and answers the outcome of a request.
func reply(w http.ResponseWriter, err error, format string, args ...any) {
	if err != nil {
		logf("%v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	msg := fmt.Sprintf(format, args...)
	logf("%s", msg)
	fmt.Fprintln(w, msg)
}

func timeoutParam(r *http.Request) (time.Duration, error) {
	s := r.FormValue("timeout")
	if s == "" {
		return 5 * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && (d <= 0 || d > time.Minute) {
		err = fmt.Errorf("timeout %v out of range (0, 1m]", d)
	}
	return d, err
}

// setControl sets a V4L2 control on dev through a fd of its own.
func setControl(dev string, id uint32, value int32) error {
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("v4l2ctrl: open %s: %w", dev, err)
	}
	defer unix.Close(fd)
	c := v4l2Control{ID: id, Value: value}
	if err := ioctl(fd, vidiocSCtrl, unsafe.Pointer(&c)); err != nil {
		return fmt.Errorf("v4l2ctrl: %s: VIDIOC_S_CTRL %#x=%d: %w", dev, id, value, err)
	}
	return nil
}

// rmmod unloads module name, retrying while it is in use, and returns how
// long that took and how many tries.
func rmmod(name string, timeout time.Duration) (time.Duration, int, error) {
	start := time.Now()
	for tries := 1; ; tries++ {
		err := unix.DeleteModule(name, unix.O_NONBLOCK)
		if err == nil {
			return time.Since(start), tries, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EBUSY) || time.Since(start) > timeout {
			refcnt, _ := os.ReadFile("/sys/module/" + name + "/refcnt")
			return time.Since(start), tries, fmt.Errorf("rmmod %s: %w after %d tries in %v (refcnt %q)",
				name, err, tries, time.Since(start).Round(time.Millisecond), string(refcnt))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
