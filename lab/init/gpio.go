package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The GPIO endpoints let host tests watch the outputs and drive the inputs
// of a gpio-sim chip ("cam-sim") while ipcamd owns its lines through the
// GPIO character device. gpio-sim keeps no event log; the recorder either
// reads gpiolib's ftrace event (exact, free: gpio_ftrace.go) or samples: a
// goroutine preads every sim_gpioK/value of the chip (fds kept open) each
// interval and records a sample whenever the vector changes. Under TCG a
// sample of 8 lines takes ~250 µs; with 1 ms sleeps the gaps are ~2 ms
// (p99 ~6 ms with ipcamd streaming) at ~25% of a vCPU, hence ftrace.
//
//	/gpio/values?chip=cam-sim
//	    one line: the current vector, e.g. "00010100" (offset 0 first).
//	/gpio/pull?chip=cam-sim&line=LIGHT_SENSOR&pull=pull-up
//	    set the simulated external level of an input (line: name or
//	    offset; pull: pull-up or pull-down).
//	/gpio/trace/start?chip=cam-sim&mode=ftrace|poll&interval=1ms
//	    (re)start the recorder; answers JSON like /gpio/trace. mode
//	    ftrace (the default when tracefs works; see gpio_ftrace.go)
//	    records every output set with its kernel timestamp; poll
//	    samples sysfs every interval.
//	/gpio/trace?since=NS
//	    JSON (traceReport): the changes recorded after CLOCK_MONOTONIC
//	    time NS (0: all), preceded by the state at NS, and the sampling
//	    statistics (how many samples, the largest gap between two, the
//	    recorder's CPU time).
//	/gpio/trace/stop
//	    stop the recorder and answer as /gpio/trace?since=0.

// maxTraceEvents bounds the memory of one trace (a fast-blinking LED makes
// ~20 changes a second).
const maxTraceEvents = 200000

// traceEvent is one change of the vector, as seen by the sampler.
type traceEvent struct {
	// T is the CLOCK_MONOTONIC time (ns) of the sample that saw the new
	// vector, taken after reading the files.
	T int64 `json:"t"`
	// Prev is the time of the sample before (the change happened in
	// (Prev, T]; Prev = T for the first event of a trace).
	Prev int64 `json:"prev"`
	// V is the vector, one '0' or '1' per line, offset 0 first.
	V string `json:"v"`
}

// traceReport is the JSON answer of the trace endpoints.
type traceReport struct {
	Chip     string       `json:"chip"`  // e.g. gpiochip1
	Lines    []string     `json:"lines"` // names, by offset
	Running  bool         `json:"running"`
	Start    int64        `json:"start"` // monotonic ns of the first sample
	Now      int64        `json:"now"`   // monotonic ns when answering
	Last     int64        `json:"last"`  // monotonic ns of the last sample
	Interval int64        `json:"interval_ns"`
	Samples  int64        `json:"samples"`
	MaxGap   int64        `json:"max_gap_ns"` // largest time between two samples
	P99Gap   int64        `json:"p99_gap_ns"`
	MeanGap  int64        `json:"mean_gap_ns"`
	ReadNS   int64        `json:"mean_read_ns"` // mean time to read all lines
	CPU      int64        `json:"cpu_ns"`       // recorder thread CPU time
	Dropped  int64        `json:"dropped"`      // events not kept (maxTraceEvents)
	Events   []traceEvent `json:"events"`
	Err      string       `json:"error,omitempty"`
	// Mode is "ftrace" (exact kernel timestamps of every output set, see
	// gpio_ftrace.go; inputs at the time of /gpio/pull) or "poll".
	Mode string `json:"mode"`
}

type tracer struct {
	mu sync.Mutex
	traceState
}

// traceState is the recorder's state, guarded by tracer.mu.
type traceState struct {
	chip    string
	lines   []string
	running bool
	stop    chan struct{}
	done    chan struct{}
	start   int64
	last    int64
	ival    time.Duration
	samples int64
	gaps    [64]int64 // histogram of gaps, 250 µs buckets (last: ≥15.75 ms)
	maxGap  int64
	sumGap  int64
	sumRead int64
	cpu     int64
	dropped int64
	events  []traceEvent
	err     string
	// ftrace mode: the vector at start, then every line change seen.
	mode    string // "ftrace" or "poll"
	base    int    // the chip's first global GPIO number (ftrace)
	v0      string
	changes []lineChange
}

// lineChange is one line set to a level at monotonic time T (ftrace mode).
type lineChange struct {
	T     int64
	Line  int
	Level byte
}

var trace tracer

func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func threadCPU() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// simChip finds the gpio-sim chip labelled label: its gpiochipN name, its
// sysfs directory (with sim_gpioK/{value,pull}) and line names.
func simChip(label string) (name, dir string, lines []string, err error) {
	chips, _ := filepath.Glob("/dev/gpiochip*")
	sort.Strings(chips)
	for _, p := range chips {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var info gpiochipInfo
		err = ioctl(fd, gpioGetChipinfo, unsafe.Pointer(&info))
		unix.Close(fd)
		if err != nil || unix.ByteSliceToString(info.Label[:]) != label {
			continue
		}
		name = unix.ByteSliceToString(info.Name[:])
		dirs, _ := filepath.Glob("/sys/devices/platform/gpio-sim.*/" + name)
		if len(dirs) != 1 {
			return "", "", nil, fmt.Errorf("gpio: %s (%s) is not a gpio-sim chip: %v", label, name, dirs)
		}
		lines = make([]string, info.Lines)
		for i := range lines {
			lines[i] = fmt.Sprint(i)
			if i < len(gpioLines) && label == "cam-sim" {
				lines[i] = gpioLines[i]
			}
		}
		return name, dirs[0], lines, nil
	}
	return "", "", nil, fmt.Errorf("gpio: no chip labelled %q", label)
}

// readVector reads the value of every line through the open fds.
func readVector(fds []int, buf []byte) (string, error) {
	v := make([]byte, len(fds))
	for i, fd := range fds {
		n, err := unix.Pread(fd, buf, 0)
		if err != nil || n < 1 {
			return "", fmt.Errorf("gpio: reading sim_gpio%d/value: n=%d %v", i, n, err)
		}
		v[i] = buf[0]
	}
	return string(v), nil
}

func (tr *tracer) startTrace(label, mode string, ival time.Duration) error {
	tr.stopTrace()
	name, dir, lines, err := simChip(label)
	if err != nil {
		return err
	}
	if mode != "poll" {
		err := tr.startFtrace(label, name, dir, lines)
		if err == nil || mode == "ftrace" {
			return err
		}
		logf("%v; polling instead", err)
	}
	var fds []int
	for i := range lines {
		fd, err := unix.Open(fmt.Sprintf("%s/sim_gpio%d/value", dir, i), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			for _, f := range fds {
				unix.Close(f)
			}
			return fmt.Errorf("gpio: %w", err)
		}
		fds = append(fds, fd)
	}
	tr.mu.Lock()
	tr.traceState = traceState{chip: name, lines: lines, running: true, ival: ival, mode: "poll",
		stop: make(chan struct{}), done: make(chan struct{}), events: make([]traceEvent, 0, 1024)}
	stop, done := tr.stop, tr.done
	tr.mu.Unlock()
	ready := make(chan struct{})
	go tr.sample(fds, ival, stop, done, ready)
	<-ready
	logf("gpio: tracing %s (%s) every %v", label, name, ival)
	return nil
}

// sample runs on a thread of its own (the timestamps and the CPU time are
// its own) until stop is closed.
func (tr *tracer) sample(fds []int, ival time.Duration, stop, done, ready chan struct{}) {
	defer close(done)
	defer func() {
		for _, f := range fds {
			unix.Close(f)
		}
	}()
	// One OS thread, so that CLOCK_THREAD_CPUTIME_ID measures the sampler
	// alone.
	runtime.LockOSThread()
	cpu0 := threadCPU()
	buf := make([]byte, 8)
	var prevV string
	var prevT int64
	first := true
	for {
		t0 := monoNow()
		v, err := readVector(fds, buf)
		t := monoNow()
		tr.mu.Lock()
		if err != nil {
			tr.err = err.Error()
			tr.running = false
			tr.mu.Unlock()
			if first {
				close(ready)
			}
			logf("%v", err)
			return
		}
		tr.samples++
		tr.sumRead += t - t0
		if first {
			tr.start = t
			tr.events = append(tr.events, traceEvent{T: t, Prev: t, V: v})
		} else {
			gap := t - prevT
			tr.sumGap += gap
			tr.maxGap = max(tr.maxGap, gap)
			tr.gaps[min(gap/250000, int64(len(tr.gaps)-1))]++
			if v != prevV {
				if len(tr.events) < maxTraceEvents {
					tr.events = append(tr.events, traceEvent{T: t, Prev: prevT, V: v})
				} else {
					tr.dropped++
				}
			}
		}
		tr.last = t
		tr.cpu = threadCPU() - cpu0
		tr.mu.Unlock()
		if first {
			first = false
			close(ready)
		}
		prevV, prevT = v, t
		select {
		case <-stop:
			return
		default:
		}
		time.Sleep(ival)
	}
}

func (tr *tracer) stopTrace() {
	tr.mu.Lock()
	stop, done := tr.stop, tr.done
	tr.stop = nil
	tr.running = false
	tr.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (tr *tracer) report(since int64) traceReport {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r := traceReport{Chip: tr.chip, Lines: tr.lines, Running: tr.running, Start: tr.start, Now: monoNow(),
		Last: tr.last, Interval: int64(tr.ival), Samples: tr.samples, MaxGap: tr.maxGap, CPU: tr.cpu,
		Dropped: tr.dropped, Err: tr.err, Events: []traceEvent{}, Mode: tr.mode}
	if tr.mode == "ftrace" {
		r.Now = monoNow()
		r.Events = tr.ftraceEvents(since)
		return r
	}
	if n := tr.samples - 1; n > 0 {
		r.MeanGap = tr.sumGap / n
		var acc int64
		for i, c := range tr.gaps {
			acc += c
			if acc*100 >= n*99 {
				r.P99Gap = int64(i+1) * 250000
				break
			}
		}
	}
	if tr.samples > 0 {
		r.ReadNS = tr.sumRead / tr.samples
	}
	// The state at since (the last event at or before it), then the rest.
	i := sort.Search(len(tr.events), func(i int) bool { return tr.events[i].T > since })
	if i > 0 {
		i--
	}
	r.Events = append(r.Events, tr.events[i:]...)
	return r
}

func gpioHandlers(mux *http.ServeMux) {
	mux.HandleFunc("/gpio/values", func(w http.ResponseWriter, r *http.Request) {
		_, dir, lines, err := simChip(chipParam(r))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		v := make([]byte, len(lines))
		for i := range lines {
			b, err := os.ReadFile(fmt.Sprintf("%s/sim_gpio%d/value", dir, i))
			if err != nil || len(b) == 0 {
				http.Error(w, fmt.Sprintf("gpio: line %d: %v", i, err), http.StatusInternalServerError)
				return
			}
			v[i] = b[0]
		}
		fmt.Fprintln(w, string(v))
	})
	mux.HandleFunc("/gpio/pull", func(w http.ResponseWriter, r *http.Request) {
		label, line, pull := chipParam(r), r.FormValue("line"), r.FormValue("pull")
		if pull != "pull-up" && pull != "pull-down" {
			http.Error(w, "want pull=pull-up or pull=pull-down", http.StatusBadRequest)
			return
		}
		name, dir, lines, err := simChip(label)
		if err != nil {
			reply(w, err, "")
			return
		}
		off := -1
		for i, n := range lines {
			if n == line {
				off = i
			}
		}
		if n, err := strconv.Atoi(line); err == nil && n >= 0 && n < len(lines) {
			off = n
		}
		if off < 0 {
			http.Error(w, fmt.Sprintf("gpio: %s has no line %q", label, line), http.StatusBadRequest)
			return
		}
		err = os.WriteFile(fmt.Sprintf("%s/sim_gpio%d/pull", dir, off), []byte(pull), 0)
		now := monoNow()
		if err == nil {
			trace.external(name, off, pull == "pull-up", now)
		}
		reply(w, err, "gpio: %s line %d (%s) %s at %d", label, off, lines[off], pull, now)
	})
	mux.HandleFunc("/gpio/trace/start", func(w http.ResponseWriter, r *http.Request) {
		ival := time.Millisecond
		if s := r.FormValue("interval"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 || d > time.Second {
				http.Error(w, fmt.Sprintf("bad interval %q (0 to 1s)", s), http.StatusBadRequest)
				return
			}
			ival = d
		}
		mode := r.FormValue("mode")
		if mode != "" && mode != "ftrace" && mode != "poll" {
			http.Error(w, "mode: ftrace, poll or empty (ftrace if available, else poll)", http.StatusBadRequest)
			return
		}
		if err := trace.startTrace(chipParam(r), mode, ival); err != nil {
			reply(w, err, "")
			return
		}
		writeJSON(w, trace.report(0))
	})
	mux.HandleFunc("/gpio/trace", func(w http.ResponseWriter, r *http.Request) {
		var since int64
		if s := r.FormValue("since"); s != "" {
			var err error
			if since, err = strconv.ParseInt(s, 10, 64); err != nil {
				http.Error(w, "bad since", http.StatusBadRequest)
				return
			}
		}
		writeJSON(w, trace.report(since))
	})
	mux.HandleFunc("/gpio/trace/stop", func(w http.ResponseWriter, r *http.Request) {
		trace.stopTrace()
		rep := trace.report(0)
		logf("gpio: trace of %s stopped: %d samples, %d changes, mean gap %v, p99 %v, max %v, mean read %v, cpu %v",
			rep.Chip, rep.Samples, len(rep.Events), time.Duration(rep.MeanGap), time.Duration(rep.P99Gap),
			time.Duration(rep.MaxGap), time.Duration(rep.ReadNS), time.Duration(rep.CPU).Round(time.Millisecond))
		writeJSON(w, rep)
	})
}

func chipParam(r *http.Request) string {
	if c := r.FormValue("chip"); c != "" {
		return c
	}
	return "cam-sim"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logf("gpio: %v", err)
	}
}
