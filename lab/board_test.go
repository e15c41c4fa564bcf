package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The board layer on the gpio-sim chip cam-sim (ipcamd -board qemu-virt,
// board/profiles/qemu-virt.yaml). Offsets of the lines (lab/init's
// gpioLines) and their levels in sim_gpioK/value, which are physical: the
// profile sets no active_low on the outputs, so active = 1.
const (
	lineIRCutA    = 0 // H-bridge A: active for the pulse = filter in (day)
	lineIRCutB    = 1 // H-bridge B: active for the pulse = filter out (night)
	lineIRLED     = 2
	lineStatusLED = 3
	lineButton    = 4
	lineSensor    = 5

	levelActive = '1' // IR_CUT_A/B, IR_LED, LED_STATUS

	// LIGHT_SENSOR is board.SensorGPIO ("active = dark") without
	// active_low: high = dark. gpio-sim's default pull (down) is daylight.
	sensorDark   = "pull-up"
	sensorBright = "pull-down"
	// BUTTON_RESET is active_low with bias up: pulled down = pressed.
	buttonPressed  = "pull-down"
	buttonReleased = "pull-up"
)

// irCutPulse is the profile's pulse width; pulseSlack is how much longer
// than that (beyond the sampling uncertainty) a pulse may last under TCG.
const (
	irCutPulse = 50 * time.Millisecond
	pulseSlack = 25 * time.Millisecond
)

// bootBoard boots ipcamd -board qemu-virt streaming a test pattern, with
// cam-sim's inputs at daylight and button released, and waits for RTSP.
func bootBoard(t *testing.T) *Board { return bootBoardWith(t, "") }

// bootBoardWith is bootBoard with the profile given as YAML (written to
// /etc/board.yaml in the guest); "" uses the built-in qemu-virt.
func bootBoardWith(t *testing.T, profile string) *Board {
	t.Helper()
	files := map[string]string{"/bin/ipcamd": ipcamd}
	boardArg := "qemu-virt"
	if profile != "" {
		f := filepath.Join(t.TempDir(), "board.yaml")
		if err := os.WriteFile(f, []byte(profile), 0o644); err != nil {
			t.Fatal(err)
		}
		files["/etc/board.yaml"], boardArg = f, "/etc/board.yaml"
	}
	b := Boot(t, BoardConfig{
		Modules: baseModules,
		Cmds: []string{
			"pull LIGHT_SENSOR " + sensorBright,
			"pull BUTTON_RESET " + buttonReleased,
			"gpio-trace cam-sim", // from before ipcamd starts
			fmt.Sprintf("run /bin/ipcamd -source testsrc:320x240@15 -board %s -rtsp :%d -http :%d", boardArg, guestRTSP, guestHTTP),
		},
		Files: files,
	})
	// An ipcamd without the board layer rejects -board at once.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		con := b.Console()
		if strings.Contains(con, "flag provided but not defined: -board") {
			t.Fatalf("ipcamd has no -board flag yet (the board layer is not wired into cmd/ipcamd); console:\n%s", lastLines(con, 6))
		}
		if strings.Contains(con, "run ipcamd: exited") {
			t.Fatalf("ipcamd -board qemu-virt exited at start; console:\n%s", lastLines(con, 10))
		}
		if strings.Contains(con, "ipcamd started") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitRTSP(t, b, fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort), 30*time.Second)
	return b
}

// traceEvent and traceReport are lab/init's /gpio/trace JSON.
type traceEvent struct {
	T    int64  `json:"t"`    // CLOCK_MONOTONIC ns of the sample that saw V
	Prev int64  `json:"prev"` // the sample before: the change was in (Prev, T]
	V    string `json:"v"`    // '0'/'1' per line, offset 0 first
}

type traceReport struct {
	Chip    string       `json:"chip"`
	Lines   []string     `json:"lines"`
	Running bool         `json:"running"`
	Start   int64        `json:"start"`
	Now     int64        `json:"now"`
	Last    int64        `json:"last"`
	Samples int64        `json:"samples"`
	MaxGap  int64        `json:"max_gap_ns"`
	P99Gap  int64        `json:"p99_gap_ns"`
	MeanGap int64        `json:"mean_gap_ns"`
	ReadNS  int64        `json:"mean_read_ns"`
	CPU     int64        `json:"cpu_ns"`
	Dropped int64        `json:"dropped"`
	Events  []traceEvent `json:"events"`
	Err     string       `json:"error"`
	Mode    string       `json:"mode"`
}

func (r traceReport) stats() string {
	d := func(ns int64) time.Duration { return time.Duration(ns) }
	span := r.Last - r.Start
	cpu := 0.0
	if span > 0 {
		cpu = 100 * float64(r.CPU) / float64(span)
	}
	if r.Mode == "ftrace" {
		return fmt.Sprintf("ftrace gpio:gpio_value: %d output sets in %v, reader CPU %.2f%%", r.Samples, d(span).Round(time.Millisecond), cpu)
	}
	return fmt.Sprintf("polling sysfs: %d samples in %v: gap mean %v, p99 ≤%v, max %v; read of %d lines %v; sampler CPU %.1f%% of one core",
		r.Samples, d(span).Round(time.Millisecond), d(r.MeanGap).Round(time.Microsecond), d(r.P99Gap), d(r.MaxGap).Round(time.Microsecond),
		len(r.Lines), d(r.ReadNS).Round(time.Microsecond), cpu)
}

// gpioTraceInterval is the recorder's sleep between samples (see README).
const gpioTraceInterval = "1ms"

func (b *Board) initGet(path string) []byte {
	b.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", b.InitPort, path)
	resp, err := c.Get(url)
	if err != nil {
		b.t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body
}

func (b *Board) traceGet(path string) traceReport {
	b.t.Helper()
	var r traceReport
	body := b.initGet(path)
	if err := json.Unmarshal(body, &r); err != nil {
		b.t.Fatalf("GET %s: %v: %.200s", path, err, body)
	}
	if r.Err != "" {
		b.t.Fatalf("GPIO trace failed in the guest: %s", r.Err)
	}
	return r
}

// startTrace starts /init's recorder on cam-sim; it is stopped (and its
// statistics logged) when the test ends.
func (b *Board) startTrace(mode string) traceReport {
	b.t.Helper()
	return b.checkTrace(b.traceGet("/gpio/trace/start?chip=cam-sim&mode="+mode+"&interval="+gpioTraceInterval), mode)
}

// bootTrace returns the trace that bootBoard started before ipcamd (ftrace
// mode); it is stopped when the test ends.
func (b *Board) bootTrace() traceReport {
	b.t.Helper()
	r := b.checkTrace(b.trace(0), "ftrace")
	if !r.Running {
		b.t.Fatalf("the GPIO trace started at boot is not running (see the console)")
	}
	return r
}

func (b *Board) checkTrace(r traceReport, mode string) traceReport {
	b.t.Helper()
	if r.Mode != mode {
		b.t.Fatalf("GPIO trace mode %q, want %q", r.Mode, mode)
	}
	if len(r.Lines) != 8 || r.Lines[lineIRCutA] != "IR_CUT_A" || r.Lines[lineSensor] != "LIGHT_SENSOR" {
		b.t.Fatalf("unexpected cam-sim lines %v", r.Lines)
	}
	b.t.Cleanup(func() {
		select {
		case <-b.exited:
			return
		default:
		}
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/gpio/trace/stop", b.InitPort))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		var r traceReport
		if json.NewDecoder(resp.Body).Decode(&r) == nil {
			b.t.Logf("GPIO trace: %s", r.stats())
			addTiming("%s: GPIO trace %s", b.t.Name(), r.stats())
		}
	})
	return r
}

// trace returns the changes after guest time since (with the state at since
// first).
func (b *Board) trace(since int64) traceReport {
	b.t.Helper()
	return b.traceGet(fmt.Sprintf("/gpio/trace?since=%d", since))
}

// pull sets an input of cam-sim and returns the guest's monotonic time
// right after the write.
func (b *Board) pull(line, pull string) int64 {
	b.t.Helper()
	s := strings.TrimSpace(string(b.initGet("/gpio/pull?chip=cam-sim&line=" + line + "&pull=" + pull)))
	var t int64
	if i := strings.LastIndex(s, " at "); i < 0 {
		b.t.Fatalf("/gpio/pull answered %q", s)
	} else if _, err := fmt.Sscan(s[i+4:], &t); err != nil {
		b.t.Fatalf("/gpio/pull answered %q: %v", s, err)
	}
	return t
}

// now is the guest's CLOCK_MONOTONIC, as /init's recorder sees it.
func (b *Board) now() int64 {
	b.t.Helper()
	return b.trace(1 << 62).Now
}

// formatTrace renders events relative to t0, for failure messages.
func formatTrace(evs []traceEvent, t0 int64) string {
	var s strings.Builder
	s.WriteString("          t (±)   A B L S R D . .  (IR_CUT_A IR_CUT_B IR_LED LED_STATUS BUTTON_RESET LIGHT_SENSOR AUX_OUT AUX_IN)\n")
	for i, e := range evs {
		if i == 60 && len(evs) > 70 {
			fmt.Fprintf(&s, "  … %d more\n", len(evs)-60)
			break
		}
		fmt.Fprintf(&s, "  %9.1fms (%4.1f) %s\n", float64(e.T-t0)/1e6, float64(e.T-e.Prev)/1e6, strings.Join(strings.Split(e.V, ""), " "))
	}
	return s.String()
}

// pulse is one active period of a line in a trace.
type pulse struct {
	rise, fall traceEvent // fall.T == 0: still active at the end
}

// width returns the shortest and longest widths consistent with the
// samples, and the estimate between sample times.
func (p pulse) width() (lo, est, hi time.Duration) {
	return time.Duration(p.fall.Prev - p.rise.T), time.Duration(p.fall.T - p.rise.T), time.Duration(p.fall.T - p.rise.Prev)
}

// pulses returns the active periods of line that start within evs[1:] (the
// first event is the state at the start of the window).
func pulses(evs []traceEvent, line int) []pulse {
	var ps []pulse
	active := len(evs) > 0 && evs[0].V[line] == levelActive
	for _, e := range evs[1:] {
		a := e.V[line] == levelActive
		switch {
		case a && !active:
			ps = append(ps, pulse{rise: e})
		case !a && active && len(ps) > 0:
			ps[len(ps)-1].fall = e
		}
		active = a
	}
	return ps
}

// changes counts the transitions of line within evs.
func changes(evs []traceEvent, line int) int {
	n := 0
	for i := 1; i < len(evs); i++ {
		if evs[i].V[line] != evs[i-1].V[line] {
			n++
		}
	}
	return n
}

// checkNeverBoth fails if IR_CUT_A and IR_CUT_B were active in one sample.
func checkNeverBoth(t *testing.T, evs []traceEvent, t0 int64) {
	t.Helper()
	for _, e := range evs {
		if e.V[lineIRCutA] == levelActive && e.V[lineIRCutB] == levelActive {
			t.Errorf("IR_CUT_A and IR_CUT_B both active at %.1f ms (shorting the H-bridge):\n%s",
				float64(e.T-t0)/1e6, formatTrace(evs, t0))
			return
		}
	}
}

// waitTrace polls the trace from since until done accepts it (then waits
// settle more and returns the final trace) or timeout passes.
func (b *Board) waitTrace(since int64, timeout, settle time.Duration, what string, done func([]traceEvent) bool) traceReport {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := b.trace(since)
		if done(r.Events) {
			time.Sleep(settle)
			return b.trace(since)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %v; GPIO trace:\n%s", what, timeout, formatTrace(r.Events, since))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkSwitch checks one IR-cut switch within evs: exactly one pulse on the
// line `on` (none on `off`) of irCutPulse, both inactive afterwards, never
// both active, and IR_LED at wantLED at the end. It returns the pulse.
func checkSwitch(t *testing.T, evs []traceEvent, t0 int64, on, off int, wantLED byte, res time.Duration) pulse {
	t.Helper()
	names := map[int]string{lineIRCutA: "IR_CUT_A", lineIRCutB: "IR_CUT_B"}
	checkNeverBoth(t, evs, t0)
	ps, other := pulses(evs, on), pulses(evs, off)
	if len(ps) != 1 || len(other) != 0 {
		t.Fatalf("want one %s pulse and no %s pulse, got %d and %d:\n%s", names[on], names[off], len(ps), len(other), formatTrace(evs, t0))
	}
	p := ps[0]
	if p.fall.T == 0 {
		t.Fatalf("%s still active at the end of the trace:\n%s", names[on], formatTrace(evs, t0))
	}
	lo, est, hi := p.width()
	t.Logf("%s pulse: %.1f ms (between %.1f and %.1f ms given the samples), %.1f ms after the request",
		names[on], ms(est), ms(lo), ms(hi), float64(p.rise.T-t0)/1e6)
	if hi < irCutPulse-time.Millisecond || lo > irCutPulse+pulseSlack+res {
		t.Errorf("%s pulse %.1f ms [%.1f, %.1f], want %v (+%v slack, sampling resolution %v):\n%s",
			names[on], ms(est), ms(lo), ms(hi), irCutPulse, pulseSlack, res, formatTrace(evs, t0))
	}
	last := evs[len(evs)-1].V
	if last[lineIRCutA] == levelActive || last[lineIRCutB] == levelActive {
		t.Errorf("an IR_CUT line is still active at the end: %s", last)
	}
	if last[lineIRLED] != wantLED {
		t.Errorf("IR_LED = %c at the end, want %c:\n%s", last[lineIRLED], wantLED, formatTrace(evs, t0))
	}
	return p
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// resolution is the sampling resolution to allow for: the trace's p99 gap
// (at least 1 ms).
func resolution(r traceReport) time.Duration {
	return max(time.Duration(r.P99Gap), time.Millisecond)
}

// soap posts an ONVIF SOAP 1.2 body to ipcamd's imaging service.
func (b *Board) soap(body string) string {
	b.t.Helper()
	env := `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` + body + `</s:Body></s:Envelope>`
	c := &http.Client{Timeout: 10 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/onvif/imaging_service", b.HTTPPort)
	resp, err := c.Post(url, "application/soap+xml; charset=utf-8", strings.NewReader(env))
	if err != nil {
		b.t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("POST %s: %s\n%s", url, resp.Status, reply)
	}
	return string(reply)
}

func (b *Board) setIrCut(mode string) {
	b.t.Helper()
	r := b.soap(`<SetImagingSettings xmlns="http://www.onvif.org/ver20/imaging/wsdl"><VideoSourceToken>VideoSource_1</VideoSourceToken>` +
		`<ImagingSettings><IrCutFilter xmlns="http://www.onvif.org/ver10/schema">` + mode + `</IrCutFilter></ImagingSettings></SetImagingSettings>`)
	if !strings.Contains(r, "SetImagingSettingsResponse") {
		b.t.Fatalf("SetImagingSettings IrCutFilter=%s: %s", mode, r)
	}
}

var irCutRE = regexp.MustCompile(`<(?:\w+:)?IrCutFilter>\s*(\w+)\s*<`)

func (b *Board) irCut() string {
	b.t.Helper()
	r := b.soap(`<GetImagingSettings xmlns="http://www.onvif.org/ver20/imaging/wsdl"><VideoSourceToken>VideoSource_1</VideoSourceToken></GetImagingSettings>`)
	m := irCutRE.FindStringSubmatch(r)
	if m == nil {
		b.t.Fatalf("GetImagingSettings has no IrCutFilter: %s", r)
	}
	return m[1]
}

// TestBoardIRCut forces night and day through ONVIF Imaging and checks the
// H-bridge pulses and the IR light on the GPIO lines.
func TestBoardIRCut(t *testing.T) {
	b := bootBoard(t)
	// At start-up ipcamd puts the filter in a known state: day (one
	// IR_CUT_A pulse), IR light off.
	boot := b.bootTrace()
	t.Logf("boot trace (t=0: /init started the recorder, just before ipcamd):\n%s", formatTrace(boot.Events, boot.Start))
	checkSwitch(t, boot.Events, boot.Start, lineIRCutA, lineIRCutB, '0', resolution(boot))
	time.Sleep(500 * time.Millisecond)
	t.Logf("state before: %s (mode %s)", b.trace(b.now()).Events[0].V, b.irCut())

	for _, step := range []struct {
		mode    string
		on, off int
		led     byte
		log     string
	}{
		// Filter out: night, IR light on.
		{"OFF", lineIRCutB, lineIRCutA, '1', `msg="day/night switch" board=qemu-virt night=true`},
		// Filter in: day, IR light off.
		{"ON", lineIRCutA, lineIRCutB, '0', `msg="day/night switch" board=qemu-virt night=false`},
	} {
		conOff := len(b.Console())
		t0 := b.now()
		b.setIrCut(step.mode)
		r := b.waitTrace(t0, 5*time.Second, 500*time.Millisecond, "IrCutFilter="+step.mode+": pulse and IR_LED", func(evs []traceEvent) bool {
			ps := pulses(evs, step.on)
			return len(ps) > 0 && ps[len(ps)-1].fall.T != 0 && evs[len(evs)-1].V[lineIRLED] == step.led
		})
		checkSwitch(t, r.Events, t0, step.on, step.off, step.led, resolution(r))
		t.Logf("IrCutFilter=%s trace:\n%s", step.mode, formatTrace(r.Events, t0))
		// The trace agrees with gpio-sim's sysfs.
		if now := strings.TrimSpace(string(b.initGet("/gpio/values?chip=cam-sim"))); now != r.Events[len(r.Events)-1].V {
			t.Errorf("sysfs shows %s, the trace ends at %s", now, r.Events[len(r.Events)-1].V)
		}
		if m := b.irCut(); m != step.mode {
			t.Errorf("GetImagingSettings IrCutFilter = %s after setting %s", m, step.mode)
		}
		if _, ok := findLine(b.Console()[conOff:], step.log); !ok {
			t.Errorf("IrCutFilter=%s: ipcamd did not log %q:\n%s", step.mode, step.log, b.Console()[conOff:])
		}
	}
}

// The day/night test's profile: qemu-virt with a quicker controller (the
// defaults for a GPIO sensor are a 5 s dwell and 30 s between switches).
// The sensor is polled every second, a change must hold for gpioDwell (and
// 3 samples), and no automatic switch comes sooner than gpioMinSwitch
// after the previous one.
const (
	gpioDwell     = 2 * time.Second
	gpioMinSwitch = 8 * time.Second
)

// quickProfile is board/profiles/qemu-virt.yaml with gpioDwell and
// gpioMinSwitch.
func quickProfile(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join(rootDir, "board", "profiles", "qemu-virt.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), "  line: {chip: cam-sim, line: LIGHT_SENSOR}",
		fmt.Sprintf("  line: {chip: cam-sim, line: LIGHT_SENSOR}\n  dwell: %v\n  min_switch: %v", gpioDwell, gpioMinSwitch), 1)
}

// TestBoardDayNightAuto lets the light sensor drive day/night (IrCutFilter
// AUTO): dark → exactly one switch to night within the dwell, which holds
// (no oscillation while it stays dark); bright → exactly one switch back to
// day, which the controller's rate limit delays to gpioMinSwitch after the
// night switch. ipcamd logs each switch (msg="day/night switch" night=…).
// It takes ~20 s, most of it the rate limit.
func TestBoardDayNightAuto(t *testing.T) {
	b := bootBoardWith(t, quickProfile(t))
	b.bootTrace()
	b.setIrCut("AUTO")
	if m := b.irCut(); m != "AUTO" {
		t.Errorf("GetImagingSettings IrCutFilter = %s after setting AUTO", m)
	}
	if v := b.trace(b.now()).Events[0].V; v[lineIRLED] == levelActive {
		t.Fatalf("night (IR_LED on) in daylight before the test: %s", v)
	}
	var nightAt int64
	for _, step := range []struct {
		name, pull string
		on, off    int
		led        byte
		log        string
		allowance  func(t0 int64) time.Duration
		hold       time.Duration
	}{
		{"dark", sensorDark, lineIRCutB, lineIRCutA, '1', `msg="day/night switch" board=qemu-virt night=true`,
			func(int64) time.Duration { return 3 * gpioDwell }, 5 * time.Second},
		{"bright", sensorBright, lineIRCutA, lineIRCutB, '0', `msg="day/night switch" board=qemu-virt night=false`,
			func(t0 int64) time.Duration { return gpioMinSwitch - time.Duration(t0-nightAt) + 2*gpioDwell }, time.Second},
	} {
		conOff := len(b.Console())
		t0 := b.pull("LIGHT_SENSOR", step.pull)
		allow := step.allowance(t0)
		r := b.waitTrace(t0, allow, 0, fmt.Sprintf("%s: switch within %v", step.name, allow.Round(time.Second)), func(evs []traceEvent) bool {
			ps := pulses(evs, step.on)
			return len(ps) > 0 && ps[len(ps)-1].fall.T != 0 && evs[len(evs)-1].V[lineIRLED] == step.led
		})
		p := pulses(r.Events, step.on)[0]
		took := time.Duration(p.rise.T - t0)
		if step.name == "dark" {
			nightAt = p.rise.T
			t.Logf("dark: night %.2f s after the sensor changed (dwell %v)", took.Seconds(), gpioDwell)
			if took < gpioDwell {
				t.Errorf("switched to night %v after dark, sooner than the dwell %v", took, gpioDwell)
			}
		} else {
			since := time.Duration(p.rise.T - nightAt)
			t.Logf("bright: day %.2f s after the sensor changed, %.2f s after the night switch (rate limit %v)",
				took.Seconds(), since.Seconds(), gpioMinSwitch)
			if took < gpioDwell || since < gpioMinSwitch-100*time.Millisecond {
				t.Errorf("switched to day %v after bright and %v after night: sooner than the dwell %v or the rate limit %v",
					took, since, gpioDwell, gpioMinSwitch)
			}
		}
		addTiming("%s: sensor %s → IR-cut pulse %.2f s", t.Name(), step.name, took.Seconds())
		// Hold: no further switching (the IR light must not feed back).
		time.Sleep(step.hold)
		r = b.trace(t0)
		checkSwitch(t, r.Events, t0, step.on, step.off, step.led, resolution(r))
		if n := changes(r.Events, lineIRLED); n != 1 {
			t.Errorf("%s: IR_LED changed %d times, want 1:\n%s", step.name, n, formatTrace(r.Events, t0))
		}
		t.Logf("%s trace (%v hold after the switch):\n%s", step.name, step.hold, formatTrace(r.Events, t0))
		con := b.Console()[conOff:]
		if l, ok := findLine(con, step.log); !ok {
			t.Errorf("%s: ipcamd did not log %q:\n%s", step.name, step.log, con)
		} else {
			t.Logf("console: %s", strings.TrimSpace(l))
		}
	}
	if m := b.irCut(); m != "AUTO" {
		t.Errorf("GetImagingSettings IrCutFilter = %s after the automatic switches, want AUTO", m)
	}
}

// TestBoardStatusLED checks the status LED (board.Status patterns): steady
// on while streaming with no client; while an RTSP client is connected,
// on with a 100 ms off-blink every 2 s (board.StatusClient: 1.9 s on,
// 100 ms off), so ffmpeg reading for 5 s sees at least two blinks of
// 100 ms (±40 ms) about 2 s apart (±300 ms); steady on again after the
// client leaves.
func TestBoardStatusLED(t *testing.T) {
	b := bootBoard(t)
	b.bootTrace()
	// Steady on: a quiet window of 2 s with the LED on, within 10 s of
	// RTSP answering (start-up blinking must end).
	quiet := 2 * time.Second
	steady := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			t0 := b.now()
			time.Sleep(quiet)
			r := b.trace(t0)
			if len(r.Events) == 1 && r.Events[0].V[lineStatusLED] == levelActive {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: LED_STATUS not steady on for %v:\n%s", what, quiet, formatTrace(r.Events, t0))
			}
		}
	}
	steady("streaming, no client")

	url := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t0 := b.now()
	ff := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
		"-i", url, "-t", "5", "-f", "null", "-")
	var ffErr bytes.Buffer
	ff.Stderr = &ffErr
	if err := ff.Run(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", url, err, ffErr.String())
	}
	t1 := b.now()
	var inClient []traceEvent
	for _, e := range b.trace(t0).Events {
		if e.T <= t1 {
			inClient = append(inClient, e)
		}
	}
	// Off periods: [start, end) in guest time.
	type period struct{ start, end int64 }
	var offs []period
	for i, e := range inClient {
		off := e.V[lineStatusLED] != levelActive
		wasOff := i > 0 && inClient[i-1].V[lineStatusLED] != levelActive
		switch {
		case off && !wasOff:
			offs = append(offs, period{max(e.T, t0), t1})
		case !off && wasOff:
			offs[len(offs)-1].end = e.T
		}
	}
	var desc []string
	for i, p := range offs {
		d := fmt.Sprintf("off %.0f ms at %.2f s", ms(time.Duration(p.end-p.start)), float64(p.start-t0)/1e9)
		if i > 0 {
			d += fmt.Sprintf(" (%.2f s after the previous)", float64(p.start-offs[i-1].start)/1e9)
		}
		desc = append(desc, d)
	}
	t.Logf("client connected (ffmpeg ran %.1f s): %s", float64(t1-t0)/1e9, strings.Join(desc, "; "))
	if len(offs) < 2 {
		t.Errorf("LED_STATUS blinked %d times while a client was connected for 5 s, want ≥2:\n%s", len(offs), formatTrace(inClient, t0))
	}
	for i, p := range offs {
		if d := time.Duration(p.end - p.start); p.end != t1 && (d < 60*time.Millisecond || d > 140*time.Millisecond) {
			t.Errorf("LED_STATUS off-blink of %v, want 100 ms:\n%s", d, formatTrace(inClient, t0))
		}
		if i > 0 {
			if d := time.Duration(p.start - offs[i-1].start); d < 1700*time.Millisecond || d > 2300*time.Millisecond {
				t.Errorf("LED_STATUS off-blinks %v apart, want 2 s:\n%s", d, formatTrace(inClient, t0))
			}
		}
	}
	steady("after the client left")
}

// TestBoardResetButton: a 3 s press does nothing; holding ≥10 s does a
// factory reset and ipcamd restarts in place, streaming again.
func TestBoardResetButton(t *testing.T) {
	b := bootBoard(t)
	b.bootTrace()
	started := func() int { return strings.Count(b.Console(), "ipcamd started") }
	if n := started(); n != 1 {
		t.Fatalf("ipcamd started %d times before the test", n)
	}

	conOff := len(b.Console())
	b.pull("BUTTON_RESET", buttonPressed)
	time.Sleep(3 * time.Second)
	b.pull("BUTTON_RESET", buttonReleased)
	time.Sleep(2 * time.Second)
	con := b.Console()[conOff:]
	if strings.Contains(strings.ToLower(con), "factory") || started() != 1 {
		t.Fatalf("a 3 s press of the reset button did something:\n%s", con)
	}
	t.Logf("3 s press: console after it:\n%s", strings.TrimSpace(con))

	conOff = len(b.Console())
	pressed := time.Now()
	pressedT := b.pull("BUTTON_RESET", buttonPressed)
	var resetAt, restartAt time.Duration
	for time.Since(pressed) < 11*time.Second {
		if resetAt == 0 && strings.Contains(strings.ToLower(b.Console()[conOff:]), "factory") {
			resetAt = time.Since(pressed)
		}
		if restartAt == 0 && started() >= 2 {
			restartAt = time.Since(pressed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.pull("BUTTON_RESET", buttonReleased)
	t.Logf("long press: factory reset logged %v and ipcamd started again %v after pressing (host clock)",
		resetAt.Round(10*time.Millisecond), restartAt.Round(10*time.Millisecond))
	if resetAt != 0 && resetAt < 10*time.Second {
		t.Errorf("factory reset %v after pressing, before the 10 s hold", resetAt)
	}
	deadline := time.Now().Add(10 * time.Second)
	// ipcamd logs "reset button held: restoring the factory configuration",
	// then "restarting on request" and "ipcamd started".
	for !strings.Contains(strings.ToLower(b.Console()[conOff:]), "factory") || started() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("holding the reset button 11 s: no factory reset and restart (ipcamd started %d times); console:\n%s",
				started(), b.Console()[conOff:])
		}
		select {
		case <-b.exited:
			t.Fatal("QEMU exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	if strings.Contains(b.Console(), "run ipcamd: exited") {
		t.Fatalf("ipcamd exited instead of restarting in place:\n%s", b.Console()[conOff:])
	}
	url := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
	waitRTSP(t, b, url, 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"-show_entries", "stream=codec_name", "-of", "compact", url).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "codec_name=h264") {
		t.Fatalf("ffprobe after the factory reset: %v\n%s", err, out)
	}
	// The restarted ipcamd put the filter in its known state again: one
	// IR_CUT_A pulse after the press.
	r := b.trace(pressedT)
	if ps := pulses(r.Events, lineIRCutA); len(ps) != 1 || len(pulses(r.Events, lineIRCutB)) != 0 {
		t.Errorf("after the factory reset: %d IR_CUT_A pulses (want 1, the restart's) and %d IR_CUT_B:\n%s",
			len(ps), len(pulses(r.Events, lineIRCutB)), formatTrace(r.Events, pressedT))
	}
	t.Logf("GPIO trace from the long press:\n%s", formatTrace(r.Events, pressedT))
	t.Logf("console from the long press:\n%s", strings.TrimSpace(lastLines(b.Console()[conOff:], 15)))
}

// TestGPIOTraceRecorder checks the polling mode of the lab's GPIO recorder
// (no -board needed): while ipcamd streams to ffmpeg, input changes made
// through /gpio/pull show up in the trace within one sampling gap of the
// time /gpio/pull reports, and the sampling resolution is measured (p99
// gap ≤ 10 ms required; ~6 ms measured). The board tests use the ftrace
// mode, which is exact; they check its final state against sysfs.
func TestGPIOTraceRecorder(t *testing.T) {
	b := Boot(t, BoardConfig{
		Modules: baseModules,
		Cmds:    []string{fmt.Sprintf("run /bin/ipcamd -source testsrc:320x240@15 -rtsp :%d -http :%d", guestRTSP, guestHTTP)},
		Files:   map[string]string{"/bin/ipcamd": ipcamd},
	})
	url := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
	waitRTSP(t, b, url, 30*time.Second)
	b.startTrace("poll")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ff := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
		"-i", url, "-t", "5", "-progress", "pipe:1", "-f", "null", "-")
	var ffOut bytes.Buffer
	ff.Stdout = &ffOut
	ff.Stderr = &ffOut
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	t0 := b.now()
	var ups, downs []int64
	for range 10 {
		ups = append(ups, b.pull("AUX_IN", "pull-up"))
		time.Sleep(100 * time.Millisecond)
		downs = append(downs, b.pull("AUX_IN", "pull-down"))
		time.Sleep(100 * time.Millisecond)
	}
	err := ff.Wait()
	r := b.trace(t0)
	t.Logf("GPIO trace with ffmpeg decoding: %s", r.stats())
	if err != nil {
		t.Errorf("ffmpeg: %v\n%s", err, ffOut.String())
	}
	if m := regexp.MustCompile(`fps=\s*([0-9.]+)`).FindAllStringSubmatch(ffOut.String(), -1); len(m) > 0 {
		t.Logf("ffmpeg fps (15 nominal) while tracing: %s", m[len(m)-1][1])
	}
	ps := pulses(r.Events, 7)
	if len(ps) != len(ups) {
		t.Fatalf("trace shows %d AUX_IN pulses, want %d:\n%s", len(ps), len(ups), formatTrace(r.Events, t0))
	}
	var worst time.Duration
	for i, p := range ps {
		// The write returned at ups[i]; the sample that saw it is after
		// that, and at most one gap later.
		for _, d := range []time.Duration{time.Duration(p.rise.T - ups[i]), time.Duration(p.fall.T - downs[i])} {
			if d < -time.Duration(r.MaxGap) || d > time.Duration(r.MaxGap)+time.Millisecond {
				t.Errorf("pulse %d seen %v after /gpio/pull returned (max gap %v)", i, d, time.Duration(r.MaxGap))
			}
			worst = max(worst, d)
		}
	}
	t.Logf("changes seen ≤%v after the write returned", worst.Round(time.Microsecond))
	if r.P99Gap > int64(10*time.Millisecond) {
		t.Errorf("sampling p99 gap %v > 10 ms", time.Duration(r.P99Gap))
	}
}
