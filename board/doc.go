// Package board drives a camera board's GPIO devices — IR-cut filter, IR
// light, white light, LEDs, reset button — and decides between day and
// night from a light sensor.
//
// # Profiles
//
// A Profile (YAML, LoadProfile) names the lines. Built-ins, embedded from
// profiles/*.yaml:
//
//   - "none" (default): no GPIO is touched; Mode, SetMode and Night still
//     work in memory so ONVIF Imaging always has a Board.
//   - "qemu-virt": the QEMU lab's gpio-sim chip "cam-sim": 0 IR_CUT_A,
//     1 IR_CUT_B, 2 IR_LED, 3 LED_STATUS, 4 BUTTON_RESET (pull-up, active
//     low), 5 LIGHT_SENSOR (active = dark), 6 AUX_OUT, 7 AUX_IN (unused).
//   - "rpi-generic": Raspberry Pi header, BCM numbering, lines found by
//     their device-tree names on any chip: GPIO17 (pin 11) IR-cut A /
//     filter in, GPIO27 (pin 13) IR-cut B / filter out, GPIO22 (pin 15) IR
//     LED enable, GPIO23 (pin 16) status LED, GPIO24 (pin 18) reset button
//     to GND with pull-up (active low), GPIO25 (pin 22) LDR comparator
//     output, high when dark.
//
// A line is chosen by chip (label, name or /dev path; empty = any chip)
// and line name or offset; ActiveLow inverts it. Unknown YAML keys are
// errors naming the key.
//
// # Devices
//
// The IR-cut "hbridge" type drives A (filter in, day) or B (filter out,
// night) active for Pulse (10–100 ms, default 50 ms), then both inactive.
// Both lines are requested as one group and changed by one operation
// (periph.io gpioioctl LineSet.Out with a mask, one ioctl); when that is
// impossible (different chips, unnamed lines, sysfs) the inactive line is
// set first, so the two are never active at once. The "single" type holds
// one line: active = filter in (day). Open moves the filter to day and
// switches the lights off; Close leaves the H-bridge idle, the lights and
// LEDs off, and releases every line. Switching to night moves the filter
// out then turns the IR light on; switching to day does the reverse.
//
// The status LED shows SetStatus: starting = slow blink (500/500 ms),
// streaming = steady on, client = on with a 100 ms off-blink every 2 s,
// error = fast blink (100/100 ms). The reset button is polled every 50 ms;
// held for ResetHold (10 s) it calls OnReset once per press; shorter
// presses are logged and ignored. Both run in Run's goroutines.
//
// # Day/night controller
//
// Controller (controller.go) is pure logic fed with timestamped samples:
// gpio sensors (0 dark / 1 bright) and IIO ADC sysfs files are polled by
// Run (1 s); frame luma comes from Board.Luma. It uses hysteresis (night
// below DarkBelow, day again only above BrightAbove), a dwell (DwellSamples
// consecutive samples spanning Dwell), a minimum time between switches
// (MinSwitch), and IR compensation: the IR light raises frame luma, so at
// every switch the controller measures the step the switch itself causes
// (median of the last samples before versus median of the second half of
// the Settle window after) and, in night, compares reading − step with
// BrightAbove. Its own IR therefore cannot send it back to day; an
// underestimated step is corrected at the next switch and MinSwitch bounds
// the rate meanwhile. IRAffectsSensor defaults to true for luma and false
// for gpio and adc sensors (which face outward). Defaults for luma: 40/80,
// 10 s and 5 samples, 60 s, settle 3 s.
//
// # Concurrency and callbacks
//
// Board methods are safe for concurrent use; one mutex serialises all line
// operations (a pulse blocks other line operations for Pulse). SetMode
// switches before it returns; automatic switches are applied by Run.
// OnDayNight and OnReset are called in order on one goroutine owned by the
// Board, so they may call Board methods.
//
// # Backends
//
// The default LineOpener (NewPeriphOpener) uses periph.io/x/host/v3
// gpioioctl. Its chip list gpioioctl.Chips is package-level state owned by
// periph; it is filled once by periph's driver registry (driverreg.Init,
// idempotent, called by NewPeriphOpener; host.Init would do the same).
// Without character-device chips the sysfs interface is used (offsets
// only; lines are unexported on Close). Known limitation of gpioioctl
// v3.8.5: outputs are requested without initial values, so a line whose
// inactive level is high (ActiveLow) is driven low for a few microseconds
// at Open. Tests use boardtest.Opener.
package board
