package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// ntpRunner keeps an NTP daemon (BusyBox ntpd, or one that takes the same
// flags: -n to stay in the foreground, -p PEER per server) running for the
// servers chosen on the web page, and restarts it when they change or it
// exits. With no servers it runs nothing.
type ntpRunner struct {
	path string // the daemon
	log  *slog.Logger

	mu      sync.Mutex
	servers []string
	cancel  context.CancelFunc // of the running daemon's supervisor
	done    chan struct{}
	ctx     context.Context // of the runner; nil before run
}

// ntpRestartDelay is the wait before restarting a daemon that exited.
const ntpRestartDelay = 10 * time.Second

func newNTPRunner(path string, log *slog.Logger) *ntpRunner {
	return &ntpRunner{path: path, log: log}
}

// run supervises the daemon until ctx ends, then stops it.
func (n *ntpRunner) run(ctx context.Context) {
	n.mu.Lock()
	n.ctx = ctx
	n.startLocked()
	n.mu.Unlock()
	<-ctx.Done()
	n.mu.Lock()
	n.stopLocked()
	n.mu.Unlock()
}

// set makes servers the daemon's peers, restarting it if they changed.
func (n *ntpRunner) set(servers []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if slices.Equal(servers, n.servers) && n.cancel != nil {
		return
	}
	n.servers = slices.Clone(servers)
	n.stopLocked()
	n.startLocked()
}

func (n *ntpRunner) stopLocked() {
	if n.cancel != nil {
		n.cancel()
		<-n.done
		n.cancel, n.done = nil, nil
	}
}

func (n *ntpRunner) startLocked() {
	if n.ctx == nil || n.ctx.Err() != nil || len(n.servers) == 0 || n.path == "" {
		return
	}
	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan struct{})
	n.cancel, n.done = cancel, done
	servers := n.servers
	args := []string{"-n"}
	for _, s := range servers {
		args = append(args, "-p", s)
	}
	go func() {
		defer close(done)
		for {
			cmd := exec.CommandContext(ctx, n.path, args...)
			cmd.WaitDelay = 2 * time.Second
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = cmd.Stdout
			start := time.Now()
			if err := cmd.Start(); err != nil {
				n.log.Error("time: starting the NTP daemon", "ntpd", n.path, "err", err)
			} else {
				n.log.Info("time: NTP daemon started", "ntpd", n.path, "servers", servers, "pid", cmd.Process.Pid)
				n.relay(out)
				err := cmd.Wait()
				if ctx.Err() != nil {
					return
				}
				n.log.Warn("time: the NTP daemon exited", "err", err, "after", time.Since(start).Round(time.Second))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(ntpRestartDelay):
			}
		}
	}()
}

// relay logs the daemon's output lines.
func (n *ntpRunner) relay(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		n.log.Info("time: ntpd", "line", sc.Text())
	}
}
