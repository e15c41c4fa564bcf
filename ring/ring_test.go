package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

// makeAU builds access unit number i of a synthetic stream: an IDR every
// gop units, with payload bytes derived from i so a reader can check every
// byte it gets.
func makeAU(i uint64, gop uint64, size int) *h264.AccessUnit {
	typ := byte(h264.NALUNonIDR)
	if i%gop == 0 {
		typ = byte(h264.NALUIDR)
	}
	nalu := make([]byte, max(size, 9))
	nalu[0] = 0x60 | typ
	binary.BigEndian.PutUint64(nalu[1:], i)
	for j := 9; j < len(nalu); j++ {
		nalu[j] = byte(i*31 + uint64(j))
	}
	second := []byte{0x60 | typ, byte(i), byte(i >> 8)}
	return &h264.AccessUnit{NALUs: [][]byte{nalu, second}, PTS: time.Duration(i) * time.Millisecond}
}

// checkAU verifies that au is exactly makeAU(i) for the i it encodes, and
// returns i.
func checkAU(au *h264.AccessUnit, gop uint64) (uint64, error) {
	if len(au.NALUs) != 2 || len(au.NALUs[0]) < 9 {
		return 0, fmt.Errorf("bad shape: %d NAL units", len(au.NALUs))
	}
	i := binary.BigEndian.Uint64(au.NALUs[0][1:])
	want := makeAU(i, gop, len(au.NALUs[0]))
	for k := range want.NALUs {
		if string(want.NALUs[k]) != string(au.NALUs[k]) {
			return i, fmt.Errorf("unit %d: NAL %d differs", i, k)
		}
	}
	if au.PTS != want.PTS {
		return i, fmt.Errorf("unit %d: PTS %v, want %v", i, au.PTS, want.PTS)
	}
	return i, nil
}

func TestReadInOrder(t *testing.T) {
	r := New(1<<16, 64)
	rd := r.NewReader()
	defer rd.Close()
	for i := range uint64(10) {
		if err := r.WriteAccessUnit(makeAU(i, 5, 100+int(i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for want := range uint64(10) {
		au, err := rd.Read(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", want, err)
		}
		got, err := checkAU(au, 5)
		if err != nil || got != want {
			t.Fatalf("read unit %d (%v), want %d", got, err, want)
		}
	}
}

func TestNewReaderStartsOnNewestIDR(t *testing.T) {
	r := New(1<<16, 64)
	for i := range uint64(13) {
		r.WriteAccessUnit(makeAU(i, 5, 50))
	}
	rd := r.NewReader()
	defer rd.Close()
	au, err := rd.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if i, _ := checkAU(au, 5); i != 10 || !au.IDR() {
		t.Fatalf("first unit %d (IDR %v), want IDR unit 10", i, au.IDR())
	}
}

func TestNewReaderWithoutIDRWaitsForOne(t *testing.T) {
	r := New(1<<16, 64)
	r.WriteAccessUnit(makeAU(1, 100, 50)) // not an IDR
	rd := r.NewReader()
	defer rd.Close()
	r.WriteAccessUnit(makeAU(2, 100, 50))
	r.WriteAccessUnit(makeAU(100, 100, 50)) // IDR
	au, err := rd.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if i, _ := checkAU(au, 100); i != 100 {
		t.Fatalf("first unit %d, want the IDR 100", i)
	}
}

func TestOverrunResumesOnIDR(t *testing.T) {
	r := New(4096, 16)
	rd := r.NewReader()
	defer rd.Close()
	// 100 units of ~300 bytes lap a 4 KiB ring many times.
	for i := range uint64(100) {
		r.WriteAccessUnit(makeAU(i, 7, 300))
	}
	ctx := context.Background()
	if _, err := rd.Read(ctx); !errors.Is(err, ErrOverrun) {
		t.Fatalf("first read error %v, want ErrOverrun", err)
	}
	au, err := rd.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i, err := checkAU(au, 7)
	if err != nil || !au.IDR() || i != 98 {
		t.Fatalf("after overrun got unit %d (IDR %v, %v), want the newest IDR 98", i, au.IDR(), err)
	}
	if rd.Overruns() != 1 {
		t.Fatalf("Overruns() = %d, want 1", rd.Overruns())
	}
}

func TestTooLarge(t *testing.T) {
	r := New(4096, 16)
	au := &h264.AccessUnit{NALUs: [][]byte{make([]byte, 3000)}}
	if err := r.WriteAccessUnit(au); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestReadHonoursContextAndClose(t *testing.T) {
	r := New(4096, 16)
	rd := r.NewReader()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := rd.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	done := make(chan error)
	go func() {
		_, err := rd.Read(context.Background())
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not return after Close")
	}
	rd.Close()
}

// TestStress runs one writer against fast and slow readers and checks every
// byte every reader gets, that units arrive in order, and that after an
// overrun the next unit is an IDR.
func TestStress(t *testing.T) {
	const gop = 10
	units := uint64(20000)
	if testing.Short() {
		units = 3000
	}
	r := New(64<<10, 256)
	ctx := context.Background()
	var wg sync.WaitGroup
	type result struct {
		read, overruns uint64
		err            error
	}
	results := make([]result, 6)
	started := make(chan struct{}, len(results))
	for k := range results {
		rd := r.NewReader()
		wg.Go(func() {
			defer rd.Close()
			started <- struct{}{}
			rng := rand.New(rand.NewPCG(uint64(k), 1))
			res := &results[k]
			last, afterOverrun, first := uint64(0), false, true
			for {
				au, err := rd.Read(ctx)
				if errors.Is(err, ErrClosed) {
					res.overruns = rd.Overruns()
					return
				}
				if errors.Is(err, ErrOverrun) {
					afterOverrun = true
					continue
				}
				if err != nil {
					res.err = err
					return
				}
				i, err := checkAU(au, gop)
				if err != nil {
					res.err = err
					return
				}
				if (first || afterOverrun) && !au.IDR() {
					res.err = fmt.Errorf("unit %d after a start or overrun is not an IDR", i)
					return
				}
				if !first && !afterOverrun && i != last+1 {
					res.err = fmt.Errorf("unit %d follows %d without an overrun", i, last)
					return
				}
				if !first && i <= last {
					res.err = fmt.Errorf("unit %d follows %d: out of order", i, last)
					return
				}
				first, afterOverrun, last = false, false, i
				res.read++
				// Readers 3..5 are slow and get lapped now and then.
				if k >= 3 && rng.IntN(50) == 0 {
					time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
				}
			}
		})
	}
	for range results {
		<-started
	}
	rng := rand.New(rand.NewPCG(42, 42))
	for i := range units {
		if err := r.WriteAccessUnit(makeAU(i, gop, 9+rng.IntN(2000))); err != nil {
			t.Fatal(err)
		}
		if i%64 == 0 {
			time.Sleep(50 * time.Microsecond) // let readers make progress
		}
	}
	r.Close()
	wg.Wait()
	for k, res := range results {
		if res.err != nil {
			t.Errorf("reader %d: %v", k, res.err)
		}
		if res.read == 0 {
			t.Errorf("reader %d read nothing", k)
		}
		t.Logf("reader %d: %d units, %d overruns", k, res.read, res.overruns)
	}
}

func BenchmarkWriteRead(b *testing.B) {
	r := New(1<<20, 1024)
	rd := r.NewReader()
	defer rd.Close()
	au := makeAU(0, 1, 6000)
	ctx := context.Background()
	b.SetBytes(6000)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WriteAccessUnit(au); err != nil {
			b.Fatal(err)
		}
		if _, err := rd.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
