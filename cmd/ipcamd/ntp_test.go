package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNTPRunner runs a stand-in daemon that records its arguments and
// pid: the servers become -p flags, a change replaces the daemon (the old
// one is gone), no servers stops it, and so does the end of the context.
func TestNTPRunner(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "runs")
	daemon := filepath.Join(dir, "ntpd")
	script := "#!/bin/sh\necho \"$$ $*\" >> " + record + "\nexec sleep 60\n"
	if err := os.WriteFile(daemon, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	runs := func(want int) []string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			b, _ := os.ReadFile(record)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if string(b) == "" {
				lines = nil
			}
			if len(lines) >= want || time.Now().After(deadline) {
				if len(lines) != want {
					t.Fatalf("the daemon ran %d times, want %d: %q", len(lines), want, lines)
				}
				return lines
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	alive := func(line string) bool {
		var pid int
		for _, c := range strings.Fields(line)[0] {
			pid = pid*10 + int(c-'0')
		}
		return syscall.Kill(pid, 0) == nil
	}

	n := newNTPRunner(daemon, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.run(ctx); close(done) }()
	n.set([]string{"pool.ntp.org", "192.0.2.1"})
	first := runs(1)[0]
	if !strings.HasSuffix(first, " -n -p pool.ntp.org -p 192.0.2.1") {
		t.Fatalf("daemon arguments %q", first)
	}
	n.set([]string{"pool.ntp.org", "192.0.2.1"}) // unchanged: no restart
	n.set([]string{"time.example.org"})
	lines := runs(2)
	if !strings.HasSuffix(lines[1], " -n -p time.example.org") || alive(first) {
		t.Fatalf("after a change: %q; the first daemon alive: %v", lines, alive(first))
	}
	n.set(nil)
	time.Sleep(100 * time.Millisecond)
	if alive(lines[1]) {
		t.Fatal("the daemon still runs with no servers")
	}
	n.set([]string{"192.0.2.2"})
	third := runs(3)[2]
	cancel()
	<-done
	if alive(third) {
		t.Fatal("the daemon outlived the runner")
	}
}
