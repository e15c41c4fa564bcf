// Package file replays an Annex-B H.264 file (.h264, .264) as if it were
// a live camera: access units are delivered in real time at the stream's
// frame rate, looping forever.
package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

// MaxFileSize is the size of the largest file Open accepts. The whole
// file is kept in memory.
const MaxFileSize = 256 << 20

// MaxAccessUnits bounds the pictures a file may hold (two hours and a
// half at 30 fps), and MaxNALUnits its NAL units. The source keeps every
// access unit, and a slice header for each of its NAL units, in memory
// besides the file itself, so a file of tiny pictures, or of tiny NAL
// units, within MaxFileSize could otherwise cost gigabytes.
const (
	MaxAccessUnits = 1 << 18
	MaxNALUnits    = 1 << 20
)

// DefaultFrameRate is the replay rate, in frames per second, of a file
// whose SPS does not signal one.
const DefaultFrameRate = 25

// Bounds on the frame rate: an SPS rate outside [minSPSRate, maxSPSRate]
// is taken to be wrong and DefaultFrameRate is used instead;
// Options.FrameRate must be within [minFrameRate, maxFrameRate].
const (
	minSPSRate   = 1
	maxSPSRate   = 500
	minFrameRate = 0.01
	maxFrameRate = 1e6
)

// maxLag is how late a frame may be before the schedule is moved forward
// rather than catching up with a burst of frames.
const maxLag = time.Second

// Options configure a Source.
type Options struct {
	// FrameRate is the replay rate in frames per second, from 0.01 to
	// 1e6. 0 means the rate in the SPS VUI timing information, or
	// DefaultFrameRate when the SPS has none or an implausible one.
	FrameRate float64
	// Logger receives what goes wrong during replay, such as writer
	// errors. nil means slog.Default().
	Logger *slog.Logger
}

// Writer consumes the access units of a Source.
type Writer interface {
	// WriteAccessUnit is called once per access unit, from the
	// goroutine that called Run. au and the slices it refers to are
	// only valid during the call and must not be modified: a Writer
	// that keeps them must copy them.
	WriteAccessUnit(au *h264.AccessUnit) error
}

// Source replays an Annex-B H.264 file in real time, looping forever.
// Its methods may be called concurrently; each Run is an independent
// replay.
type Source struct {
	// aus are the access units of one loop. aus[0] is an IDR, and every
	// IDR access unit carries an SPS and a PPS.
	aus      [][][]byte
	maxNALUs int // NAL units in the largest access unit
	sps, pps []byte
	width    int
	height   int
	fps      float64
	frameDur time.Duration
	log      *slog.Logger
}

// Open reads and parses the whole Annex-B file at path. The replay starts
// at the first IDR access unit; NAL units before it are skipped but for
// parameter sets. Open fails if the file is larger than MaxFileSize, has
// no SPS, PPS or IDR slice, has more than MaxAccessUnits access units or
// MaxNALUnits NAL units, or has an access unit of more than
// h264.MaxAccessUnitNALUs NAL units.
func Open(path string, opts Options) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture/file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("capture/file: %s: file is %d bytes, more than the %d MiB limit", path, fi.Size(), MaxFileSize>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("capture/file: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("capture/file: %s: file is larger than the %d MiB limit", path, MaxFileSize>>20)
	}
	s, err := newSource(b, opts)
	if err != nil {
		return nil, fmt.Errorf("capture/file: %s: %w", path, err)
	}
	s.log.Debug("capture/file: opened", "path", path, "width", s.width, "height", s.height,
		"fps", s.fps, "access_units", len(s.aus), "profile_level_id", h264.ProfileLevelID(s.sps))
	return s, nil
}

// newSource parses an Annex-B stream into a Source. An access unit of
// more than h264.MaxAccessUnitNALUs NAL units, such as a stream of
// nothing but access unit delimiters, is refused as soon as it is seen
// rather than held in memory to the end.
func newSource(b []byte, opts Options) (*Source, error) {
	if r := opts.FrameRate; r != 0 && !(r >= minFrameRate && r <= maxFrameRate) {
		return nil, fmt.Errorf("frame rate %v out of range [%v, %v]", r, minFrameRate, maxFrameRate)
	}
	s := &Source{log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}

	// The first SPS and PPS of the file stand in for missing ones
	// before the first IDR.
	var (
		sps, pps []byte
		nalus    bool
	)
	for n, rest := h264.NextNALU(b); n != nil; n, rest = h264.NextNALU(rest) {
		nalus = true
		switch h264.Type(n) {
		case h264.NALUSPS:
			if sps == nil {
				sps = n
			}
		case h264.NALUPPS:
			if pps == nil {
				pps = n
			}
		}
	}
	switch {
	case !nalus:
		return nil, errors.New("no H.264 NAL units (not an Annex-B stream?)")
	case sps == nil:
		return nil, errors.New("no SPS")
	case pps == nil:
		return nil, errors.New("no PPS")
	}

	var (
		split h264.AUSplitter
		aus   int // access units split off so far
	)
	kept := 0 // NAL units
	for nalu, rest := h264.NextNALU(b); nalu != nil; nalu, rest = h264.NextNALU(rest) {
		if kept++; kept > MaxNALUnits {
			return nil, fmt.Errorf("more than %d NAL units; cut the file shorter", MaxNALUnits)
		}
		au, err := split.Push(nalu)
		if err != nil {
			return nil, fmt.Errorf("access unit %d: %w", aus, err)
		}
		if au != nil {
			sps, pps = s.add(au, sps, pps)
			if aus++; aus > MaxAccessUnits {
				return nil, fmt.Errorf("more than %d access units (%.1f hours at 30 fps); cut the file shorter", MaxAccessUnits, MaxAccessUnits/30.0/3600)
			}
		}
	}
	if au := split.Flush(); au != nil {
		s.add(au, sps, pps)
	}
	if len(s.aus) == 0 {
		return nil, errors.New("no IDR access unit")
	}

	info, err := h264.ParseSPS(s.sps)
	if err != nil {
		return nil, err
	}
	s.width, s.height = info.Width, info.Height
	s.fps = opts.FrameRate
	if s.fps == 0 {
		s.fps = DefaultFrameRate
		if num, den, ok := info.FrameRate(); ok {
			if r := float64(num) / float64(den); r >= minSPSRate && r <= maxSPSRate {
				s.fps = r
			} else {
				s.log.Warn("capture/file: implausible SPS frame rate, using the default",
					"sps_fps", r, "fps", s.fps)
			}
		}
	}
	s.frameDur = time.Duration(math.Round(float64(time.Second) / s.fps))
	return s, nil
}

// add appends the access unit au to s.aus and returns the parameter
// sets in force after it; sps and pps are those in force before it. An
// access unit before the first IDR or without a slice is left out; an
// IDR access unit without its own SPS or PPS gets sps or pps. The list
// of NAL units is copied, the NAL units are not.
func (s *Source) add(au [][]byte, sps, pps []byte) (spsAfter, ppsAfter []byte) {
	var hasSPS, hasPPS, hasVCL, idr bool
	for _, n := range au {
		switch h264.Type(n) {
		case h264.NALUSPS:
			sps, hasSPS = n, true
		case h264.NALUPPS:
			pps, hasPPS = n, true
		case h264.NALUIDR:
			idr, hasVCL = true, true
		case h264.NALUNonIDR, 2, 3, 4:
			hasVCL = true
		}
	}
	if len(s.aus) == 0 {
		if !idr {
			return sps, pps // before the first IDR
		}
		s.sps, s.pps = sps, pps // active at the start of the replay
	}
	if !hasVCL {
		return sps, pps // nothing to show for it, so nothing to pace
	}
	out := make([][]byte, 0, len(au)+2)
	if idr {
		// SPS, then PPS, which refers to it, then the rest.
		if !hasSPS {
			out = append(out, sps)
		}
		out = appendType(out, au, h264.NALUSPS)
		if !hasPPS {
			out = append(out, pps)
		}
		out = appendType(out, au, h264.NALUPPS)
	}
	for _, n := range au {
		switch h264.Type(n) {
		case h264.NALUAUD, h264.NALUFiller, naluEndOfStream:
			continue
		case h264.NALUSPS, h264.NALUPPS:
			if idr {
				continue // already in out
			}
		}
		out = append(out, n)
	}
	s.aus = append(s.aus, out)
	s.maxNALUs = max(s.maxNALUs, len(out))
	return sps, pps
}

// appendType appends the NAL units of type t in nalus to out.
func appendType(out, nalus [][]byte, t h264.NALUType) [][]byte {
	for _, n := range nalus {
		if h264.Type(n) == t {
			out = append(out, n)
		}
	}
	return out
}

// naluEndOfStream is end_of_stream_rbsp, which would tell a decoder that
// nothing follows.
const naluEndOfStream h264.NALUType = 11

// Info returns the picture size, from the SPS, and the replay frame rate.
func (s *Source) Info() (width, height int, fps float64) {
	return s.width, s.height, s.fps
}

// ParameterSets returns the SPS and PPS NAL units in force at the start
// of the replay, for SDP's sprop-parameter-sets and profile-level-id.
// The caller must not modify them.
func (s *Source) ParameterSets() (sps, pps []byte) {
	return s.sps, s.pps
}

// Run replays the file into w until ctx is done, then returns nil.
//
// Access unit n is delivered at start + n/fps on the monotonic clock,
// with PTS n/fps, looping over the file without a gap in PTS: absolute
// deadlines keep the rate from drifting. If the replay falls more than a
// second behind, because w blocks, the schedule skips forward instead of
// delivering the backlog in a burst, and PTS jumps with it. Every IDR
// access unit starts with an SPS and a PPS, the file's own or the last
// ones seen; access unit delimiters, filler data and end of stream NAL
// units are dropped.
//
// Errors from w are logged and the replay continues.
func (s *Source) Run(ctx context.Context, w Writer) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	au := &h264.AccessUnit{NALUs: make([][]byte, 0, s.maxNALUs)}
	var (
		start    = time.Now()
		next     time.Duration // PTS of the next access unit
		failures int           // consecutive writer errors
	)
	s.log.Info("capture/file: replay started", "fps", s.fps, "access_units", len(s.aus))
	for i := 0; ; i = (i + 1) % len(s.aus) {
		if wait := time.Until(start.Add(next)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if -wait > maxLag {
			s.log.Warn("capture/file: replay fell behind, skipping ahead", "late", -wait)
			next = time.Since(start)
		}
		if ctx.Err() != nil {
			return nil
		}

		au.NALUs = append(au.NALUs[:0], s.aus[i]...)
		au.PTS = next
		next += s.frameDur
		if err := w.WriteAccessUnit(au); err != nil {
			if failures == 0 {
				s.log.Warn("capture/file: writer failed, continuing", "pts", au.PTS, "err", err)
			}
			failures++
		} else if failures > 0 {
			s.log.Info("capture/file: writer recovered", "failed_access_units", failures)
			failures = 0
		}
	}
}
