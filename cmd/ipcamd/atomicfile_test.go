package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// atomicVersion is the content the writer process writes on round n: a
// header naming n, then 256 KiB that depend on n, so a torn file shows.
func atomicVersion(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "version %d\n", n)
	line := bytes.Repeat([]byte{byte('a' + n%26)}, 1023)
	for range 256 {
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestAtomicWriterProcess is the writer: it runs only when the test below
// starts it, and rewrites the file until it is killed.
func TestAtomicWriterProcess(t *testing.T) {
	path := os.Getenv("IPCAMD_ATOMIC_WRITER")
	if path == "" {
		return // not started by TestWriteFileAtomicSurvivesKill
	}
	for n := 1; ; n++ {
		if err := writeFileAtomic(path, atomicVersion(n), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// TestWriteFileAtomicSurvivesKill kills a process that keeps rewriting a
// file, many times at random moments, and checks that the file is always
// one whole version, never a torn or empty one, and never left behind as
// a temporary file in bulk.
func TestWriteFileAtomicSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ipcamd.yaml")
	if err := writeFileAtomic(path, atomicVersion(0), 0o600); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	const kills = 40
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAtomicWriterProcess$")
		cmd.Env = append(os.Environ(), "IPCAMD_ATOMIC_WRITER="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		header, _, ok := bytes.Cut(b, []byte("\n"))
		n, err := strconv.Atoi(string(bytes.TrimPrefix(header, []byte("version "))))
		if !ok || err != nil || !bytes.Equal(b, atomicVersion(n)) {
			t.Fatalf("kill %d: torn file (%d bytes, header %q)", i, len(b), header)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Fatalf("kill %d: mode %v", i, fi.Mode())
		}
	}
	// A killed writer may leave its temporary file; they never pile up
	// beyond one per kill, and the real file is never among them.
	if es, _ := os.ReadDir(dir); len(es) > kills+1 {
		t.Errorf("%d files left in the directory", len(es))
	}
}
