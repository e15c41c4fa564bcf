// Command ipcamd is IP-camera firmware: it streams H.264 from a camera, a
// synthetic test pattern or a file over RTSP.
//
// Usage:
//
//	ipcamd [-config FILE] [-source SPEC] [-rtsp ADDR] [-http ADDR] [-log-level LEVEL]
//	ipcamd version
//	ipcamd devices                             (lists the cameras and hardware encoders)
//	ipcamd passwd [-config FILE] NAME [ROLE]   (reads the password from standard input)
//
// SPEC is testsrc[:WxH@FPS], file:PATH or v4l2:/dev/videoN[:WxH@FPS].
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/capture/file"
	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/onvif"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp"
	"github.com/ipcamd/ipcamd/rtsp/auth"
	"github.com/ipcamd/ipcamd/rtsp/push"
	"github.com/ipcamd/ipcamd/web"
)

// errRestart ends serve when the service should start again.
var errRestart = errors.New("restart requested")

// version is set at link time with -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// run is main with its inputs and outputs made explicit; it returns the
// exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, "ipcamd", versionString())
		return 0
	}
	if len(args) > 0 && args[0] == "devices" {
		return devices(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "passwd" {
		return passwd(args[1:], os.Stdin, stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "ipcamd:", err)
		return 2
	}
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = serve(ctx, cfg, log, stdout)
	if errors.Is(err, errRestart) {
		stop()
		exe, xerr := os.Executable()
		if xerr == nil {
			xerr = syscall.Exec(exe, append([]string{exe}, args...), os.Environ())
		}
		log.Error("ipcamd could not restart itself", "err", xerr)
		return 1
	}
	if err != nil {
		log.Error("ipcamd stopped", "err", err)
		return 1
	}
	return 0
}

// parseFlags loads the config file named by -config, then applies the
// other flags on top, and validates the result.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("ipcamd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file`")
	source := fs.String("source", "", "video source: testsrc[:WxH@FPS], file:PATH or v4l2:/dev/videoN[:WxH@FPS] (default testsrc)")
	rtspAddr := fs.String("rtsp", "", "RTSP listen `address` (default :8554)")
	httpAddr := fs.String("http", "", "HTTP listen `address` (default :8080)")
	logLevel := fs.String("log-level", "", "log `level`: debug, info, warn or error (default info)")
	boardProfile := fs.String("board", "", "board `profile`: none, rpi-generic, qemu-virt or a YAML file (default none)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ipcamd [flags]\n       ipcamd version\n\nFlags override the config file.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = LoadConfig(*configPath); err != nil {
			return cfg, err
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.Source, *source)
	set(&cfg.RTSP.Listen, *rtspAddr)
	set(&cfg.HTTP.Listen, *httpAddr)
	set(&cfg.Board.Profile, *boardProfile)
	set(&cfg.LogLevel, *logLevel)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid setting %w", err)
	}
	return cfg, nil
}

// videoSource is what ipcamd needs from a capture source.
type videoSource interface {
	Run(ctx context.Context, w auWriter) error
}

// fileSource adapts a file replay to videoSource.
type fileSource struct{ *file.Source }

func (f fileSource) Run(ctx context.Context, w auWriter) error { return f.Source.Run(ctx, w) }

// source is an opened video source, with what the rest of ipcamd may use
// of it.
type source struct {
	videoSource
	// pipeline says how the video is made, for the status page.
	pipeline string
	// camera counts a V4L2 camera's failures; nil for other sources.
	camera *cameraCounts
	// requestIDR asks an encoder for an IDR; nil for sources that cannot.
	requestIDR func()
	// latest holds the latest raw frame, for snapshots; nil without one.
	latest *testsrc.Latest
	// noRaw says why there is no snapshot.
	noRaw string
	// sub, if not nil, is a second, smaller stream from the same capture:
	// setSubOutput tells the source where its access units go.
	setSubOutput  func(auWriter)
	subRequestIDR func()
	// setBitrate and subSetBitrate change the streams' encoder bitrates
	// live, for rate adaptation; nil for sources that do not encode.
	setBitrate, subSetBitrate func(bps int)
	// settings returns the streams' encoder settings (sub.Width 0: no
	// sub stream).
	settings func() (main, sub streamSettings)
	// reconfigure changes them live; nil when the source cannot.
	reconfigure func(main, sub streamSettings) error
	// setMotion sets the function told when motion starts and stops;
	// nil for sources without raw frames.
	setMotion func(func(active bool))
	// setLuma feeds each frame's mean luma to a light meter, and
	// setGrayscale turns night mode's grey picture on and off; nil for
	// sources without raw frames.
	setLuma      func(func(mean float64, at time.Duration))
	setGrayscale func(bool)
	// resolutions and maxFPS bound what ONVIF clients may choose for
	// the main stream, when reconfigure is set.
	resolutions []onvif.Resolution
	maxFPS      int
}

func openSource(cfg Config, log *slog.Logger) (*source, error) {
	spec, _ := ParseSource(cfg.Source)
	switch spec.Kind {
	case "file":
		f, err := file.Open(spec.Path, file.Options{FrameRate: spec.FPS, Logger: log})
		if err != nil {
			return nil, err
		}
		w, h, fps := f.Info()
		return &source{videoSource: fileSource{f}, pipeline: "H.264 file replayed as recorded", noRaw: "the file source replays encoded H.264 and has no raw frames",
			settings: func() (streamSettings, streamSettings) {
				return streamSettings{Width: w, Height: h, FPS: fps}, streamSettings{}
			}}, nil
	case "testsrc":
		if cfg.Encoder.Kind == "passthrough" {
			return nil, errors.New("encoder.kind passthrough: the test pattern is raw, it needs an encoder")
		}
		newMain, what, err := mainEncoder(cfg, log)
		if err != nil {
			return nil, err
		}
		main, sub := settingsFor(spec, cfg.Encoder)
		t, err := newEncodedSource(testsrcKind{log}, newMain, main, sub, cfg.Encoder, log)
		if err != nil {
			return nil, err
		}
		log.Info("pipeline: the test pattern through the " + what)
		if m, ok, err := loadMediaState(cfg.StateDir); err != nil {
			log.Warn("ignoring the saved encoder settings", "err", err)
		} else if ok {
			_, sub := t.settings()
			if m.Sub != nil && sub.Width > 0 {
				sub = *m.Sub
			}
			if err := t.reconfigure(m.Main, sub); err != nil {
				log.Warn("ignoring the saved encoder settings", "file", mediaStatePath(cfg.StateDir), "err", err)
			} else {
				log.Info("encoder settings from the state directory override the configuration", "file", mediaStatePath(cfg.StateDir))
			}
		}
		src := &source{videoSource: t, pipeline: "test pattern → " + what, requestIDR: t.RequestIDR, setBitrate: t.setBitrate, latest: &t.latest,
			settings: t.settings, reconfigure: t.reconfigure, setMotion: t.setMotion,
			setLuma: t.setLuma, setGrayscale: t.setGrayscale,
			resolutions: mainResolutions, maxFPS: 30}
		if _, sub := t.settings(); sub.Width > 0 {
			src.setSubOutput = func(w auWriter) { t.subOut = w }
			src.subRequestIDR = t.subRequestIDR
			src.subSetBitrate = t.subSetBitrate
		}
		return src, nil
	case "v4l2":
		return openCamera(spec, cfg, log)
	}
	return nil, fmt.Errorf("source %q is not supported", spec.Kind)
}

// serve runs the whole pipeline until ctx ends.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	if users, ok, err := loadUsersState(cfg.StateDir); err != nil {
		log.Warn("ignoring the users saved by the web page", "err", err)
	} else if ok {
		log.Info("users from the state directory override the configuration", "file", usersStatePath(cfg.StateDir), "users", len(users))
		cfg.Users = users
	}
	cfg, err := firstBoot(cfg, log, stdout)
	if err != nil {
		return err
	}
	src, err := openSource(cfg, log)
	if err != nil {
		return err
	}
	var hooks boardHooks
	brd, err := openBoard(cfg, src, &hooks, log)
	if err != nil {
		return err
	}
	defer brd.Close()
	brd.SetStatus(board.StatusStarting)
	// Bind RTSP last, so that once its port answers (what clients and
	// tests wait for) every other port does too.
	var tln, httpsLn net.Listener
	// The HTTP and HTTPS ports share one cap on connections, counted
	// beneath TLS so that the HTTP server still sees *tls.Conn.
	httpLimit := newConnLimiter(httpMaxConns, httpMaxConnsPerAddr, log)
	closeTLS := func() {
		for _, l := range []net.Listener{tln, httpsLn} {
			if l != nil {
				l.Close()
			}
		}
	}
	if cfg.RTSP.TLSListen != "" || cfg.HTTP.TLSListen != "" {
		tc, err := tlsConfig(cfg, log)
		if err != nil {
			return err
		}
		if cfg.RTSP.TLSListen != "" {
			if tln, err = tls.Listen("tcp", cfg.RTSP.TLSListen, tc); err != nil {
				return fmt.Errorf("rtsps: %w", err)
			}
		}
		if cfg.HTTP.TLSListen != "" {
			ln, err := net.Listen("tcp", cfg.HTTP.TLSListen)
			if err != nil {
				closeTLS()
				return fmt.Errorf("https: %w", err)
			}
			httpsLn = tls.NewListener(httpLimit.listener(ln), tc)
		}
	}
	httpLn, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		closeTLS()
		return fmt.Errorf("http: %w", err)
	}
	httpLn = httpLimit.listener(httpLn)
	rtspLn, err := net.Listen("tcp", cfg.RTSP.Listen)
	if err != nil {
		httpLn.Close()
		closeTLS()
		return fmt.Errorf("rtsp: %w", err)
	}
	listeners := []net.Listener{rtspLn}
	if tln != nil {
		listeners = append(listeners, tln)
	}

	rb := ring.New(cfg.Buffer, 1024)
	var subRing *ring.Ring
	if src.setSubOutput != nil {
		subRing = ring.New(cfg.Buffer/2, 1024)
	}
	relays := make([]relay, 0, len(cfg.Push))
	for i, pc := range cfg.Push {
		source := rb
		if pc.sub() {
			if subRing == nil {
				// Whether there is a sub stream depends on the camera's
				// mode (sub_width must be below its width): one relay's
				// setting must not take the camera down.
				log.Error("push: relay skipped: it is to get the sub stream, and there is none", "push", i, "relay", pc.redacted(), "pipeline", src.pipeline)
				continue
			}
			source = subRing
		}
		c, err := push.New(push.Options{URL: pc.URL, TLSFingerprint: pc.TLSFingerprint, UDP: pc.Transport == "udp", Source: source, MaxPayload: cfg.RTSP.MaxPayload, Logger: log})
		if err != nil {
			return err
		}
		relays = append(relays, relay{Client: c, stream: cmp.Or(pc.Stream, "main"), viewURL: pc.viewURL()})
	}
	mainRate, subRate := rateOptions(cfg, src)
	stream := rtsp.NewStream(cfg.RTSP.Path, rb, rtsp.StreamOptions{
		MaxPayload:  cfg.RTSP.MaxPayload,
		MaxGOPBytes: cfg.RTSP.ClientBacklog / 2,
		RequestIDR:  src.requestIDR,
		SetBitrate:  mainRate.SetBitrate,
		MinBitrate:  mainRate.MinBitrate,
		MaxBitrate:  mainRate.MaxBitrate,
		Relay:       relayURL(relays, "main"),
		Bitrate:     func() int { m, _ := src.settings(); return m.Bitrate },
		Logger:      log,
	})
	streams := []*rtsp.Stream{stream}
	if subRing != nil {
		streams = append(streams, rtsp.NewStream(cfg.RTSP.SubPath, subRing, rtsp.StreamOptions{
			MaxPayload:  cfg.RTSP.MaxPayload,
			MaxGOPBytes: cfg.RTSP.ClientBacklog / 2,
			RequestIDR:  src.subRequestIDR,
			SetBitrate:  subRate.SetBitrate,
			MinBitrate:  subRate.MinBitrate,
			MaxBitrate:  subRate.MaxBitrate,
			Relay:       relayURL(relays, "sub"),
			Bitrate:     func() int { _, s := src.settings(); return s.Bitrate },
			Logger:      log,
		}))
	}
	// allUsers checks every credential; verifier is the same, or nil on
	// a camera without users, whose services are then set up open.
	allUsers, err := auth.New(cfg.authConfig())
	if err != nil {
		return err
	}
	verifier := allUsers
	if verifier.Open() {
		log.Warn("no users configured: anyone who can reach the camera can watch and change it; add users on the web page or with `ipcamd passwd NAME`")
		verifier = nil
	}
	srv := rtsp.NewServer(rtsp.Options{
		Auth:            verifier,
		SessionTimeout:  cfg.RTSP.SessionTimeout,
		RTPPort:         cfg.RTSP.RTPPort,
		ClientBacklog:   cfg.RTSP.ClientBacklog,
		MaxSessions:     cfg.RTSP.MaxSessions,
		MaxConns:        cfg.RTSP.MaxConns,
		MaxConnsPerAddr: cfg.RTSP.MaxConnsPerAddr,
		ServerName:      "ipcamd/" + versionString(),
		Logger:          log,

		Multicast:          cfg.RTSP.Multicast.Enabled,
		MulticastPrefix:    cfg.RTSP.Multicast.Prefix,
		MulticastPort:      cfg.RTSP.Multicast.Port,
		MulticastTTL:       cfg.RTSP.Multicast.TTL,
		MulticastInterface: cfg.RTSP.Multicast.Interface,
	}, streams...)
	// ONVIF SystemReboot restarts the service: a clean shutdown, then the
	// same binary again (run re-executes it).
	restart := make(chan struct{}, 1)
	requestRestart := func() {
		select {
		case restart <- struct{}{}:
		default:
		}
	}
	hooks.restart = requestRestart
	acc := newAccounts(cfg, allUsers, requestRestart, log)
	ov := onvifHandler(cfg, src, onvifProfiles(cfg, src, srv.MulticastGroup), rtspLn.Addr(), verifier, acc, boardImaging{brd}, requestRestart, log)
	var ovh http.Handler
	if ov != nil {
		ovh = ov
		hooks.onvif.Store(ov)
		ov.PublishImageTooDark(brd.Night())
		if src.setMotion != nil {
			src.setMotion(ov.PublishMotion)
		}
	}
	health := &healthWriter{w: rb}
	var subHealth *healthWriter
	if subRing != nil {
		subHealth = &healthWriter{w: subRing}
		src.setSubOutput(subHealth)
	}
	start := time.Now()
	var tlsAddr net.Addr
	if len(listeners) > 1 {
		tlsAddr = listeners[1].Addr()
	}
	var ntp *ntpRunner
	if cfg.Time.NTPD != "" {
		ntp = newNTPRunner(cfg.Time.NTPD, log)
	}
	cam, err := newWebCamera(&webCamera{cfg: cfg, src: src, srv: srv, brd: brd, onvif: ov, relays: relays,
		health: health, start: start, rtspAddr: rtspLn.Addr(), tlsAddr: tlsAddr, httpAddr: httpLn.Addr(),
		restart: requestRestart, ntp: ntp, log: log})
	if err != nil {
		return err
	}
	liveWidth := 640
	if _, sub := src.settings(); sub.Width > 0 {
		liveWidth = sub.Width
	}
	page := web.New(web.Config{Camera: cam, Accounts: acc, Verifier: allUsers, MJPEGWidth: liveWidth, Logger: log})
	metrics := metricsHandler(metricSources{rtsp: srv, streams: streams, encoder: health, subEncoder: subHealth,
		onvif: ov, board: brd, relays: relays, start: start, camera: cameraCounter(src)})
	if cfg.Metrics.Auth {
		metrics = requireUser(allUsers, metrics)
	}
	hs := &http.Server{
		Handler:           httpHandler(srv.HTTPTunnelHandler(), ovh, page, metrics),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderSize,
	}

	// The pipeline and the relays run on until the RTSP server has
	// stopped, not merely until the signal: its players are redirected to
	// a relay only while that relay is still publishing.
	stopping := ctx
	ctx, cancel := context.WithCancel(context.WithoutCancel(stopping))
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8) // room for every goroutine below, so none blocks after the first error
	wg.Go(func() {
		defer rb.Close()
		if subRing != nil {
			defer subRing.Close()
		}
		if err := src.Run(ctx, health); err != nil {
			errc <- fmt.Errorf("source: %w", err)
		}
	})
	if cfg.Watchdog.Device != "" {
		wg.Go(func() {
			if err := runWatchdog(ctx, cfg.Watchdog, health, log); err != nil {
				errc <- err
			}
		})
	}
	for _, st := range streams {
		wg.Go(func() {
			if err := st.Run(ctx); err != nil {
				errc <- fmt.Errorf("stream %s: %w", st.Path(), err)
			}
		})
	}
	// The RTSP server stops first, while the relays still have the
	// stream, so that its players can be redirected to one.
	srvCtx, srvCancel := context.WithCancel(context.Background())
	defer srvCancel()
	served := make(chan struct{})
	wg.Go(func() {
		defer close(served)
		if err := srv.Serve(srvCtx, listeners...); err != nil {
			errc <- fmt.Errorf("rtsp: %w", err)
		}
	})
	wg.Go(func() {
		if err := hs.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	})
	if httpsLn != nil {
		wg.Go(func() {
			if err := hs.Serve(httpsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("https: %w", err)
			}
		})
	}

	wg.Go(func() {
		if err := brd.Run(ctx); err != nil {
			errc <- fmt.Errorf("board: %w", err)
		}
	})
	wg.Go(func() { followClients(ctx, brd, srv) })
	for _, r := range relays {
		wg.Go(func() { r.Run(ctx) })
	}
	if ntp != nil {
		wg.Go(func() { ntp.run(ctx) })
	}

	log.Info("ipcamd started", "version", versionString(), "source", cfg.Source, "board", cfg.Board.Profile)
	for _, st := range streams {
		for _, u := range serviceURLs("rtsp", rtspLn.Addr(), st.Path()) {
			log.Info("serving RTSP", "url", u)
			fmt.Fprintln(stdout, "RTSP stream:", u)
		}
	}
	if len(listeners) > 1 {
		for _, u := range serviceURLs("rtsps", listeners[1].Addr(), cfg.RTSP.Path) {
			log.Info("serving RTSP over TLS", "url", u)
			fmt.Fprintln(stdout, "RTSPS stream:", u)
		}
	}
	for _, u := range serviceURLs("http", httpLn.Addr(), "/") {
		log.Info("serving HTTP", "url", u)
		fmt.Fprintln(stdout, "HTTP:       ", u)
	}
	if httpsLn != nil {
		for _, u := range serviceURLs("https", httpsLn.Addr(), "/") {
			log.Info("serving HTTPS", "url", u)
			fmt.Fprintln(stdout, "HTTPS:      ", u)
		}
	}
	for _, u := range serviceURLs("http", httpLn.Addr(), "/onvif/device_service") {
		log.Info("serving ONVIF", "url", u)
		fmt.Fprintln(stdout, "ONVIF:      ", u)
	}

	defer startDiscovery(ctx, httpLn.Addr(), log)() // waits for its Bye at return, after cancel
	var runErr error
	select {
	case <-stopping.Done():
		log.Info("shutting down")
	case runErr = <-errc:
	case <-restart:
		log.Info("restarting on request")
		runErr = errRestart
	}
	srvCancel()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		log.Warn("rtsp: server slow to stop")
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	defer scancel()
	hs.Shutdown(sctx)
	wg.Wait()
	return runErr
}

// serviceURLs lists the URLs under which addr is reachable: one per
// interface address when it listens on all of them.
func serviceURLs(scheme string, addr net.Addr, path string) []string {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	port := fmt.Sprint(ta.Port)
	if !ta.IP.IsUnspecified() {
		return []string{scheme + "://" + net.JoinHostPort(ta.IP.String(), port) + path}
	}
	var urls []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLinkLocalMulticast() {
			continue
		}
		if ipn.IP.To4() == nil && ta.IP.To4() != nil {
			continue
		}
		urls = append(urls, scheme+"://"+net.JoinHostPort(ipn.IP.String(), port)+path)
	}
	return urls
}

// httpHandler serves the HTTP side: the web page with its API and the
// snapshot, metrics, a health check, RTSP tunnelled over HTTP, and the
// ONVIF services under /onvif/ (when onvif is not nil).
func httpHandler(tunnel, onvif, page, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isTunnel(r) {
			tunnel.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	}))
	if onvif != nil {
		mux.Handle("/onvif/", onvif)
	}
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	return mux
}

// isTunnel reports whether r is one half of RTSP over HTTP: the GET with
// its x-sessioncookie, or the POST of base64 requests.
func isTunnel(r *http.Request) bool {
	return r.Header.Get("X-Sessioncookie") != "" ||
		strings.Contains(r.Header.Get("Accept"), "application/x-rtsp-tunnelled") ||
		strings.Contains(r.Header.Get("Content-Type"), "application/x-rtsp-tunnelled")
}

// passwd reads a password from in and prints the users: entry for NAME,
// with its hash and, sealed with the state directory's key (made if
// needed), the password that ONVIF WS-Security needs.
func passwd(args []string, in io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ipcamd passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file`, for its state_dir")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ipcamd passwd [-config FILE] NAME [viewer|admin] < password")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	args = fs.Args()
	if len(args) < 1 || len(args) > 2 {
		fs.Usage()
		return 2
	}
	role := auth.RoleViewer
	if len(args) == 2 {
		var err error
		if role, err = auth.ParseRole(args[1]); err != nil {
			fmt.Fprintln(stderr, "ipcamd passwd:", err)
			return 2
		}
	}
	cfg := DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = LoadConfig(*configPath); err != nil {
			fmt.Fprintln(stderr, "ipcamd passwd:", err)
			return 2
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(stderr, "ipcamd passwd: no password on standard input")
		return 2
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		fmt.Fprintln(stderr, "ipcamd passwd: empty password")
		return 2
	}
	h, err := auth.HashPassword(args[0], "", pw)
	if err != nil {
		fmt.Fprintln(stderr, "ipcamd passwd:", err)
		return 2
	}
	fmt.Fprintf(stdout, "users:\n  - name: %s\n    role: %s\n    hash: %s\n", args[0], role, h)
	key, err := secretKey(cfg.StateDir, true)
	if err == nil {
		var sealed string
		if sealed, err = seal(key, args[0], pw); err == nil {
			fmt.Fprintf(stdout, "    wsse: %s\n", sealed)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ipcamd passwd: no wsse: entry, so ONVIF WS-Security will not work for %s: %v\n", args[0], err)
	}
	return 0
}

// requireUser wraps h with HTTP authentication by the configured users
// (Digest, or Basic over TLS); with no users it is h itself.
func requireUser(v *auth.Verifier, h http.Handler) http.Handler {
	if v == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote := netip.Addr{}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			remote = ap.Addr().Unmap()
		}
		_, err := v.Check(r.Method, r.RequestURI, r.Header.Get("Authorization"), remote, r.TLS != nil)
		var ch *auth.Challenge
		switch {
		case err == nil:
			h.ServeHTTP(w, r)
		case errors.As(err, &ch):
			for _, c := range ch.WWWAuthenticate {
				w.Header().Add("WWW-Authenticate", c)
			}
			http.Error(w, "authentication required", http.StatusUnauthorized)
		case errors.Is(err, auth.ErrTooManyFailures):
			http.Error(w, "too many failed attempts", http.StatusForbidden)
		default:
			http.Error(w, "authentication required", http.StatusUnauthorized)
		}
	})
}

// rateOptions returns the rate adaptation settings of the main and sub
// streams: none unless rtsp.rate_adaptation is enabled and the source
// encodes. Each stream's maximum is its configured bitrate (media.yaml's,
// when ONVIF changed it), its minimum rtsp.rate_adaptation.min_bitrate or
// the maximum, whichever is lower.
func rateOptions(cfg Config, src *source) (main, sub rtsp.StreamOptions) {
	ra := cfg.RTSP.RateAdaptation
	if !ra.Enabled || src.settings == nil || cfg.Encoder.QP > 0 {
		return main, sub
	}
	m, s := src.settings()
	if src.setBitrate != nil && m.Bitrate > 0 {
		main = rtsp.StreamOptions{SetBitrate: src.setBitrate, MaxBitrate: m.Bitrate, MinBitrate: min(ra.MinBitrate, m.Bitrate)}
	}
	if src.subSetBitrate != nil && s.Bitrate > 0 {
		sub = rtsp.StreamOptions{SetBitrate: src.subSetBitrate, MaxBitrate: s.Bitrate, MinBitrate: min(ra.MinBitrate, s.Bitrate)}
	}
	return main, sub
}

// relay is a relay a stream is published to.
type relay struct {
	*push.Client
	stream  string // main or sub
	viewURL string // PushConfig.viewURL
}

// relayURL returns the view URL of the first relay that stream (main or
// sub) is being published to, or "" when none is; nil without such relays.
func relayURL(relays []relay, stream string) func() string {
	if !slices.ContainsFunc(relays, func(r relay) bool { return r.stream == stream }) {
		return nil
	}
	return func() string {
		for _, r := range relays {
			if r.stream == stream && r.Status().State == push.StatePublishing {
				return r.viewURL
			}
		}
		return ""
	}
}

// cameraCounter returns src's camera counters, or a nil interface for a
// source without a camera.
func cameraCounter(src *source) captureCounter {
	if src.camera == nil {
		return nil
	}
	return src.camera
}
