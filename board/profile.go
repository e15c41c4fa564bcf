package board

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

//go:embed profiles/*.yaml
var builtinFS embed.FS

// Profile describes which GPIO lines and sensors a board has. Profiles are
// YAML documents; LoadProfile reads a built-in one by name or a file. A nil
// pointer field means the board has no such device.
type Profile struct {
	// Name identifies the profile in logs.
	Name string `yaml:"name"`
	// Description is free text for humans.
	Description string `yaml:"description,omitempty"`
	// IRCut is the mechanical IR-cut filter.
	IRCut *IRCutConfig `yaml:"ircut,omitempty"`
	// IRLight is the infrared illuminator (850/940 nm LEDs), on at night.
	IRLight *LineConfig `yaml:"ir_light,omitempty"`
	// WhiteLight is a visible flood light. The board only opens it and
	// keeps it off; it is there for integrations that drive it.
	WhiteLight *LineConfig `yaml:"white_light,omitempty"`
	// LEDs are indicator LEDs by role. "status" shows Board.SetStatus.
	LEDs map[string]LineConfig `yaml:"leds,omitempty"`
	// ResetButton is the factory-reset push button (active = pressed).
	ResetButton *LineConfig `yaml:"reset_button,omitempty"`
	// LightSensor feeds the automatic day/night controller.
	LightSensor *SensorConfig `yaml:"light_sensor,omitempty"`
}

// LineConfig names one GPIO line.
type LineConfig struct {
	// Chip selects the GPIO chip by label ("cam-sim", "pinctrl-bcm2711"),
	// name ("gpiochip0") or device path ("/dev/gpiochip0"). Empty means
	// "search every chip for Line".
	Chip string `yaml:"chip,omitempty"`
	// Line is the line name (device-tree gpio-line-names, gpio-sim names).
	Line string `yaml:"line,omitempty"`
	// Offset is the line offset on Chip; used when Line is empty.
	Offset *int `yaml:"offset,omitempty"`
	// ActiveLow inverts the line: the device is active at the low level.
	ActiveLow bool `yaml:"active_low,omitempty"`
	// Bias applies to inputs: "" (leave as is), "up", "down" or "disable".
	Bias string `yaml:"bias,omitempty"`
}

// String identifies the line as chip/line or chip/offset for logs, errors
// and boardtest.
func (c LineConfig) String() string {
	id := c.Line
	if id == "" && c.Offset != nil {
		id = strconv.Itoa(*c.Offset)
	}
	if c.Chip == "" {
		return id
	}
	return c.Chip + "/" + id
}

// IR-cut types.
const (
	// IRCutHBridge is a latching filter driven through an H-bridge by two
	// lines: A active for Pulse moves the filter in (day), B active for
	// Pulse moves it out (night); both inactive the rest of the time.
	IRCutHBridge = "hbridge"
	// IRCutSingle is a filter held by the level of one line: active = filter
	// in (day), inactive = filter out (night).
	IRCutSingle = "single"
)

// Pulse limits for an H-bridge IR-cut.
const (
	DefaultIRCutPulse = 50 * time.Millisecond
	MinIRCutPulse     = 10 * time.Millisecond
	MaxIRCutPulse     = 100 * time.Millisecond
)

// IRCutConfig describes the IR-cut filter actuator.
type IRCutConfig struct {
	// Type is IRCutHBridge or IRCutSingle.
	Type string `yaml:"type"`
	// A (filter in) and B (filter out) are the H-bridge inputs.
	A LineConfig `yaml:"a,omitempty"`
	B LineConfig `yaml:"b,omitempty"`
	// Line is the single-line actuator.
	Line LineConfig `yaml:"line,omitempty"`
	// Pulse is how long A or B stays active: 10–100 ms, default 50 ms.
	Pulse time.Duration `yaml:"pulse,omitempty"`
}

// Light sensor types.
const (
	// SensorGPIO is a photodiode/LDR comparator on a GPIO line: active = dark.
	SensorGPIO = "gpio"
	// SensorADC is an IIO ADC channel read from sysfs; the raw value rises
	// with light (set Invert when it falls).
	SensorADC = "adc"
	// SensorLuma is the mean luma (0–255) of video frames, fed by Board.Luma.
	SensorLuma = "luma"
)

// SensorConfig describes the light sensor of the day/night controller.
type SensorConfig struct {
	// Type is SensorGPIO, SensorADC or SensorLuma.
	Type string `yaml:"type"`
	// Line is the SensorGPIO line.
	Line LineConfig `yaml:"line,omitempty"`
	// ADCPath is the SensorADC sysfs file, e.g.
	// /sys/bus/iio/devices/iio:device0/in_voltage0_raw.
	ADCPath string `yaml:"adc_path,omitempty"`
	// Invert makes a SensorADC value Max-raw, for sensors whose raw value
	// falls with light. Requires Max.
	Invert bool `yaml:"invert,omitempty"`
	// Max is the full-scale raw ADC value (e.g. 4095).
	Max float64 `yaml:"max,omitempty"`
	// DarkBelow: switch to night when the ambient value stays below it.
	// Zero means the default for Type (see ControllerConfig).
	DarkBelow float64 `yaml:"dark_below,omitempty"`
	// BrightAbove: switch back to day when the ambient value stays above
	// it; must be greater than DarkBelow. Zero means the default for Type.
	BrightAbove float64 `yaml:"bright_above,omitempty"`
	// IRAffectsSensor says whether the IR light raises the sensor reading.
	// Nil means the default: true for luma, false for gpio and adc.
	IRAffectsSensor *bool `yaml:"ir_affects_sensor,omitempty"`
	// Poll is the polling period of gpio and adc sensors (default 1 s).
	Poll time.Duration `yaml:"poll,omitempty"`
	// Dwell is how long the light must stay past a threshold before a
	// switch, and MinSwitch the least time between two switches; zero
	// means the default for Type (see DefaultControllerConfig).
	Dwell     time.Duration `yaml:"dwell,omitempty"`
	MinSwitch time.Duration `yaml:"min_switch,omitempty"`
}

// BuiltinProfiles returns the names of the profiles embedded in the binary,
// sorted.
func BuiltinProfiles() []string {
	entries, err := builtinFS.ReadDir("profiles")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// LoadProfile returns the built-in profile called nameOrFile ("none",
// "rpi-generic", "qemu-virt"; "" means "none"), or else reads the YAML file
// at that path. Unknown keys and invalid values are errors.
func LoadProfile(nameOrFile string) (*Profile, error) {
	if nameOrFile == "" {
		nameOrFile = "none"
	}
	if !strings.ContainsRune(nameOrFile, '/') {
		if data, err := builtinFS.ReadFile(path.Join("profiles", nameOrFile+".yaml")); err == nil {
			p, err := ParseProfile(data)
			if err != nil {
				return nil, fmt.Errorf("built-in board profile %q: %w", nameOrFile, err)
			}
			return p, nil
		}
		if _, err := os.Stat(nameOrFile); err != nil {
			return nil, fmt.Errorf("board profile %q: not a built-in profile (have %s) and not a file",
				nameOrFile, strings.Join(BuiltinProfiles(), ", "))
		}
	}
	data, err := os.ReadFile(nameOrFile)
	if err != nil {
		return nil, fmt.Errorf("board profile: %w", err)
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("board profile %s: %w", nameOrFile, err)
	}
	return p, nil
}

// ParseProfile decodes and validates one YAML profile document.
func ParseProfile(data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty profile")
		}
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the profile and fills in defaults (IR-cut pulse).
func (p *Profile) Validate() error {
	if p.Name == "" {
		return errors.New("name: missing")
	}
	if c := p.IRCut; c != nil {
		switch c.Type {
		case IRCutHBridge:
			if err := c.A.validate("ircut.a"); err != nil {
				return err
			}
			if err := c.B.validate("ircut.b"); err != nil {
				return err
			}
			if c.A.Chip == c.B.Chip && c.A.String() == c.B.String() {
				return fmt.Errorf("ircut: a and b are the same line %s", c.A)
			}
			if c.Pulse == 0 {
				c.Pulse = DefaultIRCutPulse
			}
			if c.Pulse < MinIRCutPulse || c.Pulse > MaxIRCutPulse {
				return fmt.Errorf("ircut.pulse: %v outside %v–%v", c.Pulse, MinIRCutPulse, MaxIRCutPulse)
			}
		case IRCutSingle:
			if err := c.Line.validate("ircut.line"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("ircut.type: %q is not %q or %q", c.Type, IRCutHBridge, IRCutSingle)
		}
	}
	if p.IRLight != nil {
		if err := p.IRLight.validate("ir_light"); err != nil {
			return err
		}
	}
	if p.WhiteLight != nil {
		if err := p.WhiteLight.validate("white_light"); err != nil {
			return err
		}
	}
	for role, l := range p.LEDs {
		if err := l.validate("leds." + role); err != nil {
			return err
		}
	}
	if p.ResetButton != nil {
		if err := p.ResetButton.validate("reset_button"); err != nil {
			return err
		}
	}
	if s := p.LightSensor; s != nil {
		switch s.Type {
		case SensorGPIO:
			if err := s.Line.validate("light_sensor.line"); err != nil {
				return err
			}
		case SensorADC:
			if s.ADCPath == "" {
				return errors.New("light_sensor.adc_path: missing for an adc sensor")
			}
			if s.DarkBelow == 0 || s.BrightAbove == 0 {
				return errors.New("light_sensor: an adc sensor needs dark_below and bright_above (raw units)")
			}
			if s.Invert && s.Max <= 0 {
				return errors.New("light_sensor.max: invert needs the full-scale raw value")
			}
		case SensorLuma:
		default:
			return fmt.Errorf("light_sensor.type: %q is not gpio, adc or luma", s.Type)
		}
		if s.DarkBelow < 0 || s.BrightAbove < 0 {
			return errors.New("light_sensor: thresholds must not be negative")
		}
		if (s.DarkBelow != 0 || s.BrightAbove != 0) && s.BrightAbove <= s.DarkBelow {
			return fmt.Errorf("light_sensor: bright_above (%g) must be greater than dark_below (%g)", s.BrightAbove, s.DarkBelow)
		}
		if s.Poll < 0 {
			return fmt.Errorf("light_sensor.poll: %v is negative", s.Poll)
		}
	}
	return nil
}

func (c LineConfig) validate(key string) error {
	if c.Line == "" && c.Offset == nil {
		return fmt.Errorf("%s: needs line (a name) or offset", key)
	}
	if c.Offset != nil && *c.Offset < 0 {
		return fmt.Errorf("%s.offset: %d is negative", key, *c.Offset)
	}
	if c.Line == "" && c.Chip == "" {
		return fmt.Errorf("%s: an offset needs a chip", key)
	}
	switch c.Bias {
	case "", "up", "down", "disable":
	default:
		return fmt.Errorf("%s.bias: %q is not up, down or disable", key, c.Bias)
	}
	return nil
}
