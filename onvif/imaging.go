package onvif

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
)

// IR cut filter modes (tt:IrCutFilterMode).
const (
	IrCutOn   = "ON"
	IrCutOff  = "OFF"
	IrCutAuto = "AUTO"
)

// Imaging is the board's IR cut filter, driven by the imaging service
// (timg:SetImagingSettings IrCutFilter; Home Assistant's "IR lamp" switch
// sets OFF for on and ON for off). Options.Imaging nil uses an in-memory
// holder starting at AUTO.
type Imaging interface {
	// IrCut returns the current mode: IrCutOn, IrCutOff or IrCutAuto.
	IrCut() string
	// SetIrCut applies mode, one of IrCutOn, IrCutOff, IrCutAuto.
	SetIrCut(mode string) error
}

// memImaging is the default Imaging: plain state.
type memImaging struct {
	mu   sync.Mutex
	mode string
}

func (m *memImaging) IrCut() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mode
}

func (m *memImaging) SetIrCut(mode string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mode = mode
	return nil
}

// imagingLevels are the picture levels held as plain state (0–100), in
// tt:ImagingSettings20 order.
var imagingLevels = [...]string{"Brightness", "ColorSaturation", "Contrast", "Sharpness"}

const levelMin, levelMax = 0, 100

// imagingService is the state of the imaging service.
type imagingService struct {
	ir     Imaging
	mu     sync.Mutex
	levels map[string]float64
}

func validIrCut(m string) bool { return m == IrCutOn || m == IrCutOff || m == IrCutAuto }

// timg is an element of the imaging namespace.
func timg(name string, content ...any) *el {
	return e("timg:"+name, content...)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 32) }

func (s *Server) imagingOps() {
	s.img = &imagingService{ir: s.opts.Imaging, levels: map[string]float64{}}
	if s.img.ir == nil {
		s.img.ir = &memImaging{mode: IrCutAuto}
	}
	for _, l := range imagingLevels {
		s.img.levels[l] = 50
	}
	i := NSImg
	s.handle(i, "GetServiceCapabilities", preAuth, func(c *call) (*el, error) {
		return timg("GetServiceCapabilitiesResponse", s.imagingServiceCaps()), nil
	})
	s.handle(i, "GetImagingSettings", read, s.getImagingSettings)
	s.handle(i, "SetImagingSettings", write, s.setImagingSettings)
	s.handle(i, "GetOptions", read, s.getImagingOptions)
	// GetStatus, GetMoveOptions, Move and Stop are not registered: they
	// get ActionNotSupported (no focus motor).
}

// imagingServiceCaps returns timg:Capabilities.
func (s *Server) imagingServiceCaps() *el {
	return timg("Capabilities", a("ImageStabilization", "false"))
}

func noSource() error {
	return fault(http.StatusBadRequest, "Sender", "no such video source", "InvalidArgVal", "NoSource")
}

func settingsInvalid(reason string) error {
	return fault(http.StatusBadRequest, "Sender", reason, "InvalidArgVal", "SettingsInvalid")
}

func (s *Server) imagingSource(c *call) error {
	if c.op.child(NSImg, "VideoSourceToken").text() != videoSourceToken {
		return noSource()
	}
	return nil
}

func (s *Server) getImagingSettings(c *call) (*el, error) {
	if err := s.imagingSource(c); err != nil {
		return nil, err
	}
	s.img.mu.Lock()
	lv := map[string]float64{}
	for k, v := range s.img.levels {
		lv[k] = v
	}
	s.img.mu.Unlock()
	mode := s.img.ir.IrCut()
	if !validIrCut(mode) {
		mode = IrCutAuto
	}
	// tt:ImagingSettings20 order: BacklightCompensation?, Brightness?,
	// ColorSaturation?, Contrast?, Exposure?, Focus?, IrCutFilter?,
	// Sharpness?, WideDynamicRange?, WhiteBalance?, Extension?
	return timg("GetImagingSettingsResponse", timg("ImagingSettings",
		e("tt:Brightness", ftoa(lv["Brightness"])),
		e("tt:ColorSaturation", ftoa(lv["ColorSaturation"])),
		e("tt:Contrast", ftoa(lv["Contrast"])),
		e("tt:IrCutFilter", mode),
		e("tt:Sharpness", ftoa(lv["Sharpness"])))), nil
}

// setImagingSettings applies a partial tt:ImagingSettings20: only the
// elements present change. Their namespace is not checked (clients that
// forget the tt namespace still work). Settings this device does not have
// (Exposure, Focus, WhiteBalance, ...) are ignored. Everything is
// validated before anything is applied.
func (s *Server) setImagingSettings(c *call) (*el, error) {
	if err := s.imagingSource(c); err != nil {
		return nil, err
	}
	set := c.op.child(NSImg, "ImagingSettings")
	if set == nil {
		set = c.op.child("*", "ImagingSettings")
	}
	if set == nil {
		return nil, settingsInvalid("no ImagingSettings")
	}
	if fp := c.op.child("*", "ForcePersistence"); fp != nil {
		if v := fp.text(); v != "true" && v != "false" && v != "1" && v != "0" {
			return nil, settingsInvalid("invalid ForcePersistence")
		}
	}
	mode := ""
	if x := set.child("*", "IrCutFilter"); x != nil {
		mode = x.text()
		if !validIrCut(mode) {
			return nil, settingsInvalid("invalid IrCutFilter mode " + strconv.Quote(mode) + ": want ON, OFF or AUTO")
		}
	}
	levels := map[string]float64{}
	for _, l := range imagingLevels {
		x := set.child("*", l)
		if x == nil {
			continue
		}
		v, err := strconv.ParseFloat(x.text(), 32)
		if err != nil || v < levelMin || v > levelMax {
			return nil, settingsInvalid("invalid " + l + ": want a number from 0 to 100")
		}
		levels[l] = v
	}
	if mode != "" && mode != s.img.ir.IrCut() {
		if err := s.img.ir.SetIrCut(mode); err != nil {
			s.log.Warn("onvif: setting the IR cut filter failed", "mode", mode, "err", err)
			return nil, errors.Join(errors.New("onvif: set IR cut filter"), err)
		}
	}
	s.img.mu.Lock()
	for k, v := range levels {
		s.img.levels[k] = v
	}
	s.img.mu.Unlock()
	return timg("SetImagingSettingsResponse"), nil
}

func (s *Server) getImagingOptions(c *call) (*el, error) {
	if err := s.imagingSource(c); err != nil {
		return nil, err
	}
	rng := func(name string) *el {
		return e("tt:"+name, e("tt:Min", itoa(levelMin)), e("tt:Max", itoa(levelMax)))
	}
	// tt:ImagingOptions20 order: ..., Brightness, ColorSaturation,
	// Contrast, Exposure, Focus, IrCutFilterModes*, Sharpness, ...
	return timg("GetOptionsResponse", timg("ImagingOptions",
		rng("Brightness"), rng("ColorSaturation"), rng("Contrast"),
		e("tt:IrCutFilterModes", IrCutOn), e("tt:IrCutFilterModes", IrCutOff), e("tt:IrCutFilterModes", IrCutAuto),
		rng("Sharpness"))), nil
}
