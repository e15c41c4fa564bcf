package software

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// rawClip returns n I420 frames of an ffmpeg lavfi source.
func rawClip(t testing.TB, src string, w, h, n int) [][]byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is missing: run e2e/install-peers.sh (make test does)")
	}
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("%s=size=%dx%d:rate=30", src, w, h),
		"-frames:v", fmt.Sprint(n), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	size := w * h * 3 / 2
	if len(out) != n*size {
		t.Fatalf("ffmpeg gave %d bytes, want %d", len(out), n*size)
	}
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = out[i*size : (i+1)*size]
	}
	return frames
}

func i420(b []byte, w, h int) *Frame {
	return &Frame{Format: I420, Width: w, Height: h, Y: b[:w*h], U: b[w*h : w*h*5/4], V: b[w*h*5/4:]}
}

// encodeClip encodes frames and returns the Annex-B stream and the
// encoder's reconstruction of every frame, cropped, as I420.
func encodeClip(t testing.TB, opts Options, frames [][]byte) (stream []byte, recon []byte) {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w, h := opts.Width, opts.Height
	for i, f := range frames {
		nalus, idr, err := e.Encode(i420(f, w, h))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && !idr {
			t.Fatal("first frame is not an IDR")
		}
		for _, n := range nalus {
			stream = append(stream, 0, 0, 0, 1)
			stream = append(stream, n...)
		}
		y, u, v, ys, cs := e.Reconstruction()
		for r := range h {
			recon = append(recon, y[r*ys:r*ys+w]...)
		}
		for _, p := range [][]byte{u, v} {
			for r := range h / 2 {
				recon = append(recon, p[r*cs:r*cs+w/2]...)
			}
		}
	}
	return stream, recon
}

// decode decodes an Annex-B stream with ffmpeg to I420.
func decode(t testing.TB, stream []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.h264")
	if err := os.WriteFile(in, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ffmpeg", "-v", "error", "-err_detect", "explode", "-i", in, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decode: %v\n%s", err, stderr.String())
	}
	return out
}

func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(len(a))/se)
}

// TestDecodesExactly checks that ffmpeg decodes the stream to exactly the
// encoder's own reconstruction, frame by frame, for several sizes and
// settings.
func TestDecodesExactly(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		n    int
	}{
		{"cif qp26", Options{Width: 352, Height: 288, QP: 26}, 8},
		{"odd size", Options{Width: 202, Height: 118, QP: 30}, 6},
		{"low qp", Options{Width: 64, Height: 48, QP: 8}, 4},
		{"high qp", Options{Width: 64, Height: 48, QP: 51}, 4},
		{"slices", Options{Width: 176, Height: 144, QP: 24, Slices: 3}, 6},
		{"rate control", Options{Width: 176, Height: 144, Bitrate: 300000, IDRInterval: 4}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frames := rawClip(t, "testsrc2", tt.opts.Width, tt.opts.Height, tt.n)
			stream, recon := encodeClip(t, tt.opts, frames)
			dec := decode(t, stream)
			if len(dec) != len(recon) {
				t.Fatalf("decoded %d bytes, reconstruction %d", len(dec), len(recon))
			}
			size := tt.opts.Width * tt.opts.Height * 3 / 2
			for i := 0; i < len(dec); i += size {
				if !bytes.Equal(dec[i:i+size], recon[i:i+size]) {
					t.Fatalf("frame %d: decoder output differs from the reconstruction", i/size)
				}
			}
			var src []byte
			for _, f := range frames {
				src = append(src, f...)
			}
			t.Logf("%d bytes for %d frames, PSNR %.2f dB", len(stream), tt.n, psnr(src, dec))
		})
	}
}

// lumaPSNR compares the Y planes of two I420 sequences of w x h frames.
func lumaPSNR(a, b []byte, w, h int) float64 {
	size := w * h * 3 / 2
	var ya, yb []byte
	for i := 0; i+size <= len(a); i += size {
		ya = append(ya, a[i:i+w*h]...)
		yb = append(yb, b[i:i+w*h]...)
	}
	return psnr(ya, yb)
}

// TestQualityAtQP26 checks the quality bar of the issue: at QP 26 moving,
// natural-looking clips decode at 38 dB luma PSNR or better.
func TestQualityAtQP26(t *testing.T) {
	const w, h = 640, 360
	for _, clip := range []string{"testsrc2", "mandelbrot"} {
		t.Run(clip, func(t *testing.T) {
			frames := rawClip(t, clip, w, h, 30)
			stream, _ := encodeClip(t, Options{Width: w, Height: h, QP: 26}, frames)
			dec := decode(t, stream)
			var src []byte
			for _, f := range frames {
				src = append(src, f...)
			}
			p := lumaPSNR(src, dec, w, h)
			t.Logf("QP 26: %.2f dB luma PSNR, %d kbit/s at 30 fps", p, len(stream)*8*30/len(frames)/1000)
			if p < 38 {
				t.Fatalf("luma PSNR %.2f dB at QP 26, want at least 38", p)
			}
		})
	}
}

// TestNV12MatchesI420 feeds the same picture as NV12 and as I420.
func TestNV12MatchesI420(t *testing.T) {
	const w, h = 96, 64
	frames := rawClip(t, "testsrc2", w, h, 3)
	encode := func(nv12 bool) []byte {
		e, err := New(Options{Width: w, Height: h, QP: 28})
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, f := range frames {
			in := i420(f, w, h)
			if nv12 {
				uv := make([]byte, w*h/2)
				for i := range w * h / 4 {
					uv[2*i], uv[2*i+1] = in.U[i], in.V[i]
				}
				in = &Frame{Format: NV12, Width: w, Height: h, Y: in.Y, U: uv}
			}
			nalus, _, err := e.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range nalus {
				out = append(out, n...)
			}
		}
		return out
	}
	if !bytes.Equal(encode(false), encode(true)) {
		t.Fatal("NV12 input encodes differently from the same picture in I420")
	}
}

// TestIDRs checks the IDR period and IDR on request.
func TestIDRs(t *testing.T) {
	const w, h = 64, 48
	frames := rawClip(t, "testsrc2", w, h, 12)
	e, err := New(Options{Width: w, Height: h, QP: 30, IDRInterval: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for i, f := range frames {
		if i == 7 {
			e.RequestIDR()
		}
		nalus, idr, err := e.Encode(i420(f, w, h))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, idr)
		if idr && (len(nalus) < 3 || nalus[0][0]&0x1f != 7 || nalus[1][0]&0x1f != 8 || nalus[2][0]&0x1f != 5) {
			t.Fatalf("frame %d: IDR without SPS, PPS, IDR slice", i)
		}
		if !idr && nalus[0][0]&0x1f != 1 {
			t.Fatalf("frame %d: NAL type %d, want a non-IDR slice", i, nalus[0][0]&0x1f)
		}
	}
	want := []bool{true, false, false, false, false, true, false, true, false, false, false, false}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("IDR pattern %v, want %v", got, want)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(Options{Width: 15, Height: 16}); err == nil {
		t.Error("odd width accepted")
	}
	if _, err := New(Options{Width: 16, Height: 16, QP: 52}); err == nil {
		t.Error("QP 52 accepted")
	}
	e, _ := New(Options{Width: 32, Height: 32})
	if _, _, err := e.Encode(&Frame{Width: 32, Height: 32, Y: make([]byte, 10)}); err == nil {
		t.Error("short Y plane accepted")
	}
	if _, _, err := e.Encode(&Frame{Width: 64, Height: 32}); err == nil {
		t.Error("wrong size accepted")
	}
}
