package e2e

import (
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDefaultTestPattern plays ipcamd with no -source: the live test
// pattern through the software encoder. ffmpeg decodes it over TCP and
// UDP without an error, the first frame is a keyframe, the picture is
// 1280x720 at 30 fps, and the bitrate stays under 1.5 Mbit/s.
func TestDefaultTestPattern(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only: the test pattern is ipcamd's")
		return
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			requireTools(t, "ffmpeg", "ffprobe")
			srv := startServer(t, serverOptions{Source: "default"})
			dir := t.TempDir()
			out := filepath.Join(dir, "out.h264")
			const frames = 150 // 5 s: more than two IDR periods
			r := runTool(t, 40*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", tr,
				"-i", srv.URL, "-frames:v", strconv.Itoa(frames), "-c", "copy", "-copyinkf", "-f", "h264", "-y", out)
			if r.ExitCode != 0 || strings.TrimSpace(r.Stderr) != "" {
				t.Fatalf("ffmpeg read of the test pattern over %s:\n%s", tr, r)
			}
			dec := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", out, "-f", "null", "-")
			if dec.ExitCode != 0 || strings.TrimSpace(dec.Stderr) != "" {
				t.Fatalf("decoding the recording printed errors:\n%s", dec)
			}
			info := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-select_streams", "v:0",
				"-show_entries", "stream=width,height,r_frame_rate,profile", "-of", "default=nw=1", out)
			for _, want := range []string{"width=1280", "height=720", "r_frame_rate=30/1", "profile=Constrained Baseline"} {
				if !strings.Contains(info.Stdout, want) {
					t.Errorf("ffprobe lacks %s:\n%s", want, info)
				}
			}
			first := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-select_streams", "v:0",
				"-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=key_frame,pict_type",
				"-of", "default=nw=1", out)
			if !strings.Contains(first.Stdout, "key_frame=1") || !strings.Contains(first.Stdout, "pict_type=I") {
				t.Errorf("first frame is not an I keyframe:\n%s", first)
			}
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			kbps := float64(fi.Size()) * 8 / (frames / 30.0) / 1000
			t.Logf("test pattern over %s: %d bytes for %d frames, %.0f kbit/s", tr, fi.Size(), frames, kbps)
			if kbps >= 1500 {
				t.Errorf("test pattern at %.0f kbit/s, want under 1500", kbps)
			}
		})
	}
}

// TestSnapshot: GET /snapshot.jpg returns the live picture as a 1280x720
// JPEG within 500 ms (the fastest of 4); with the file source, which has no raw frames, it
// answers 503 and says why.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	live := startServer(t, serverOptions{Source: "default"})
	var res *http.Response
	var err error
	var took time.Duration
	for range 20 { // the first frame may still be on its way
		start := time.Now()
		res, err = http.Get(live.HTTP + "/snapshot.jpg")
		took = time.Since(start)
		if err == nil && res.StatusCode == http.StatusOK {
			break
		}
		if err == nil {
			res.Body.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot: %s, Content-Type %q", res.Status, res.Header.Get("Content-Type"))
	}
	img, err := jpeg.Decode(res.Body)
	if err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
		t.Errorf("snapshot is %dx%d, want 1280x720", b.Dx(), b.Dy())
	}
	// The fastest of a few requests: one slow answer on a loaded test
	// machine says little, all of them slow says the encoder is.
	for range 3 {
		start := time.Now()
		r, err := http.Get(live.HTTP + "/snapshot.jpg")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		took = min(took, time.Since(start))
	}
	if took > 500*time.Millisecond {
		t.Errorf("the fastest of 4 snapshots took %v, want at most 500 ms", took)
	}

	file := startServer(t, serverOptions{})
	res2, err := http.Get(file.HTTP + "/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	if res2.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "no raw frames") {
		t.Errorf("snapshot of the file source: %s %q, want 503 saying there are no raw frames", res2.Status, body)
	}
}

// TestMainAndSub plays /main and /sub of the default source: one capture,
// two encoders, 1280x720 and 640x360, both decodable.
func TestMainAndSub(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffmpeg", "ffprobe")
	srv := startServer(t, serverOptions{Source: "default"})
	for path, size := range map[string]string{"/main": "width=1280\nheight=720", "/sub": "width=640\nheight=360"} {
		url := strings.TrimSuffix(srv.URL, "/main") + path
		dir := t.TempDir()
		out := filepath.Join(dir, "out.h264")
		r := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
			"-i", url, "-frames:v", "30", "-c", "copy", "-copyinkf", "-f", "h264", "-y", out)
		if r.ExitCode != 0 || strings.TrimSpace(r.Stderr) != "" {
			t.Fatalf("ffmpeg on %s:\n%s", path, r)
		}
		dec := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", out, "-f", "null", "-")
		if dec.ExitCode != 0 || strings.TrimSpace(dec.Stderr) != "" {
			t.Errorf("decoding %s printed errors:\n%s", path, dec)
		}
		info := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-select_streams", "v:0",
			"-show_entries", "stream=width,height", "-of", "default=nw=1", out)
		if strings.TrimSpace(info.Stdout) != size {
			t.Errorf("%s is %q, want %q", path, info.Stdout, size)
		}
	}
}
