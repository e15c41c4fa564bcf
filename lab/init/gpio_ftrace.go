package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The ftrace mode of the GPIO recorder: gpiolib's tracepoint gpio:gpio_value
// fires on every output set (gpiod_set_array_value_complex, used by the
// character device's GPIO_V2_LINE_SET_VALUES, and gpiod_direction_output
// when a line is requested as an output) with the physical level (after
// active-low) and the global GPIO number. With trace_clock "mono" its
// timestamps are CLOCK_MONOTONIC (µs resolution as printed), so pulse
// widths are exact and nothing is polled: the reader sleeps in poll(2) on
// trace_pipe. Inputs do not go through it (gpio-sim's pull is no gpiolib
// call); /gpio/pull records them at the time of the write.

const tracefs = "/sys/kernel/tracing"

// chipBase finds the first global GPIO number of the chip labelled label
// in the legacy sysfs class (CONFIG_GPIO_SYSFS, only read here).
func chipBase(label string) (int, error) {
	dirs, _ := filepath.Glob("/sys/class/gpio/gpiochip*")
	for _, d := range dirs {
		if readTrim(d+"/label") == label {
			return strconv.Atoi(readTrim(d + "/base"))
		}
	}
	return 0, fmt.Errorf("gpio: no /sys/class/gpio/gpiochip* labelled %q", label)
}

// ftraceSetup enables gpio:gpio_value for the output sets of GPIOs
// [base, base+n) only (gets, e.g. ipcamd polling its reset button every
// 50 ms, would only wake the reader).
func ftraceSetup(base, n int) error {
	if _, err := os.Stat(tracefs + "/trace_pipe"); err != nil {
		if err := unix.Mount("tracefs", tracefs, "tracefs", 0, ""); err != nil && err != unix.EBUSY {
			return fmt.Errorf("gpio: mount tracefs: %w", err)
		}
	}
	for _, w := range []struct{ file, val string }{
		{"tracing_on", "0"},
		{"trace_clock", "mono"},
		{"trace", ""}, // clear
		{"events/gpio/gpio_value/filter", fmt.Sprintf("get == 0 && gpio >= %d && gpio < %d", base, base+n)},
		{"events/gpio/gpio_value/enable", "1"},
		{"tracing_on", "1"},
	} {
		if err := os.WriteFile(tracefs+"/"+w.file, []byte(w.val), 0); err != nil {
			return fmt.Errorf("gpio: ftrace: %w", err)
		}
	}
	return nil
}

func (tr *tracer) startFtrace(label, name, dir string, lines []string) error {
	base, err := chipBase(label)
	if err != nil {
		return err
	}
	if err := ftraceSetup(base, len(lines)); err != nil {
		return err
	}
	fd, err := unix.Open(tracefs+"/trace_pipe", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("gpio: %w", err)
	}
	// The state at the start, read after tracing is on: a set between
	// the two is in both (and deduplicated).
	v := make([]byte, len(lines))
	for i := range lines {
		b, err := os.ReadFile(fmt.Sprintf("%s/sim_gpio%d/value", dir, i))
		if err != nil || len(b) == 0 {
			unix.Close(fd)
			return fmt.Errorf("gpio: line %d: %v", i, err)
		}
		v[i] = b[0]
	}
	now := monoNow()
	tr.mu.Lock()
	tr.traceState = traceState{chip: name, lines: lines, running: true, mode: "ftrace", base: base,
		v0: string(v), start: now, last: now, stop: make(chan struct{}), done: make(chan struct{})}
	stop, done := tr.stop, tr.done
	tr.mu.Unlock()
	go tr.readFtrace(fd, base, len(lines), stop, done)
	logf("gpio: tracing %s (%s, GPIOs %d-%d) with ftrace gpio:gpio_value", label, name, base, base+len(lines)-1)
	return nil
}

// readFtrace parses trace_pipe lines like
//
//	ipcamd-93  [001] .....  12.345678: gpio_value: 505 set 1
//
// until stop is closed, then disables the event.
func (tr *tracer) readFtrace(fd, base, n int, stop, done chan struct{}) {
	defer close(done)
	defer func() {
		unix.Close(fd)
		_ = os.WriteFile(tracefs+"/events/gpio/gpio_value/enable", []byte("0"), 0)
	}()
	runtime.LockOSThread() // for CLOCK_THREAD_CPUTIME_ID
	cpu0 := threadCPU()
	buf := make([]byte, 64<<10)
	var partial []byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 100); err != nil && !errors.Is(err, unix.EINTR) {
			tr.fail(fmt.Errorf("gpio: poll trace_pipe: %w", err))
			return
		}
		k, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || k == 0 {
			continue
		}
		if err != nil {
			tr.fail(fmt.Errorf("gpio: read trace_pipe: %w", err))
			return
		}
		partial = append(partial, buf[:k]...)
		var chs []lineChange
		for {
			i := bytes.IndexByte(partial, '\n')
			if i < 0 {
				break
			}
			if c, ok := parseGPIOValue(string(partial[:i]), base, n); ok {
				chs = append(chs, c)
			}
			partial = partial[i+1:]
		}
		tr.mu.Lock()
		tr.samples += int64(len(chs))
		tr.changes = append(tr.changes, chs...)
		if len(chs) > 0 {
			tr.last = max(tr.last, chs[len(chs)-1].T)
		}
		tr.cpu = threadCPU() - cpu0
		tr.mu.Unlock()
	}
}

func (tr *tracer) fail(err error) {
	tr.mu.Lock()
	tr.err = err.Error()
	tr.running = false
	tr.mu.Unlock()
	logf("%v", err)
}

func parseGPIOValue(line string, base, n int) (lineChange, bool) {
	head, ev, ok := strings.Cut(line, ": gpio_value: ")
	if !ok {
		return lineChange{}, false
	}
	f := strings.Fields(ev)
	h := strings.Fields(head)
	if len(f) != 3 || f[1] != "set" || len(h) == 0 {
		return lineChange{}, false
	}
	gpio, err := strconv.Atoi(f[0])
	if err != nil || gpio < base || gpio >= base+n {
		return lineChange{}, false
	}
	// Seconds with (usually) 6 decimals, parsed without floats.
	sec, frac, _ := strings.Cut(h[len(h)-1], ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		return lineChange{}, false
	}
	lvl := byte('0')
	if f[2] != "0" {
		lvl = '1'
	}
	return lineChange{T: s*1e9 + ns, Line: gpio - base, Level: lvl}, true
}

// external records an input change made through /gpio/pull.
func (tr *tracer) external(chip string, line int, high bool, t int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.mode != "ftrace" || !tr.running || tr.chip != chip {
		return
	}
	lvl := byte('0')
	if high {
		lvl = '1'
	}
	tr.changes = append(tr.changes, lineChange{T: t, Line: line, Level: lvl})
}

// ftraceEvents builds the vectors from the changes (sorted by time,
// without repeats): the state at since, then every change after it.
// Called with tr.mu held.
func (tr *tracer) ftraceEvents(since int64) []traceEvent {
	chs := append([]lineChange(nil), tr.changes...)
	sort.SliceStable(chs, func(i, j int) bool { return chs[i].T < chs[j].T })
	v := []byte(tr.v0)
	evs := []traceEvent{{T: tr.start, Prev: tr.start, V: tr.v0}}
	for _, c := range chs {
		if c.Line >= len(v) || v[c.Line] == c.Level {
			continue
		}
		v[c.Line] = c.Level
		t := max(c.T, tr.start)
		evs = append(evs, traceEvent{T: t, Prev: t, V: string(v)})
	}
	i := sort.Search(len(evs), func(i int) bool { return evs[i].T > since })
	if i > 0 {
		i--
	}
	return evs[i:]
}
